// weft/detail/codec_msgpack.hpp: weft::codec's MessagePack adaptors for
// what msgpack-c does not cover (WEFT_FIELDS structs, enums, durations,
// protobuf messages), input limits, and signatures. Internal; the format is
// described in weft/codec.hpp.
#pragma once

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <tuple>
#include <type_traits>
#include <typeinfo>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

namespace weft::detail {

// msgpack's output stream over a std::string.
struct string_sink {
  std::string* out;
  void write(const char* p, std::size_t n) { out->append(p, n); }
};

// Decoding limits: every element, string or map entry takes at least one
// byte of input, so a count larger than the input is a lie that must not
// become an allocation; nesting is bounded so recursion is.
inline msgpack::unpack_limit codec_limits(std::size_t input_size) {
  return msgpack::unpack_limit(input_size, input_size, input_size, input_size, input_size, 64);
}

template <class T>
concept has_weft_fields = requires(T& v, const T* p) {
  weft_fields(v);
  weft_type_name(p);
  weft_field_names(p);
};

template <class T>
concept protobuf_message = requires(const T& m, T& w, std::string* s) {
  { m.SerializeToString(s) } -> std::same_as<bool>;
  { w.ParseFromString(std::string()) } -> std::same_as<bool>;
  m.GetTypeName();
};

// sig<T>::ok: codec<T> is supported; sig<T>::name(): T's signature.
template <class T, class = void>
struct sig {
  static constexpr bool ok = false;
};
template <class... T>
inline constexpr bool all_ok = (sig<T>::ok && ...);

template <class... T>
std::string sig_list() {
  std::string s;
  ((s += (s.empty() ? "" : ","), s += sig<T>::name()), ...);
  return s;
}

template <>
struct sig<bool> {
  static constexpr bool ok = true;
  static std::string name() { return "bool"; }
};
template <class T>
struct sig<T, std::enable_if_t<std::is_integral_v<T> && !std::is_same_v<T, bool>>> {
  static constexpr bool ok = true;
  static std::string name() { return (std::is_signed_v<T> ? "i" : "u") + std::to_string(8 * sizeof(T)); }
};
template <class T>
struct sig<T, std::enable_if_t<std::is_floating_point_v<T> && (sizeof(T) == 4 || sizeof(T) == 8)>> {
  static constexpr bool ok = true;
  static std::string name() { return sizeof(T) == 4 ? "f32" : "f64"; }
};
template <class T>
struct sig<T, std::enable_if_t<std::is_enum_v<T>>> {
  static constexpr bool ok = true;
  static std::string name() { return std::string("enum:") + typeid(T).name(); }
};
template <>
struct sig<std::string> {
  static constexpr bool ok = true;
  static std::string name() { return "str"; }
};
template <class T, class A>
struct sig<std::vector<T, A>> {
  static constexpr bool ok = sig<T>::ok;
  static std::string name() { return "list<" + sig<T>::name() + ">"; }
};
template <class T, std::size_t N>
struct sig<std::array<T, N>> {
  static constexpr bool ok = sig<T>::ok;
  static std::string name() { return "array<" + sig<T>::name() + "," + std::to_string(N) + ">"; }
};
template <class K, class V, class C, class A>
struct sig<std::map<K, V, C, A>> {
  static constexpr bool ok = all_ok<K, V>;
  static std::string name() { return "map<" + sig_list<K, V>() + ">"; }
};
template <class K, class V, class H, class E, class A>
struct sig<std::unordered_map<K, V, H, E, A>> {
  static constexpr bool ok = all_ok<K, V>;
  static std::string name() { return "map<" + sig_list<K, V>() + ">"; }
};
template <class T, class C, class A>
struct sig<std::set<T, C, A>> {
  static constexpr bool ok = sig<T>::ok;
  static std::string name() { return "set<" + sig<T>::name() + ">"; }
};
template <class T, class H, class E, class A>
struct sig<std::unordered_set<T, H, E, A>> {
  static constexpr bool ok = sig<T>::ok;
  static std::string name() { return "set<" + sig<T>::name() + ">"; }
};
template <class T>
struct sig<std::optional<T>> {
  static constexpr bool ok = sig<T>::ok;
  static std::string name() { return "opt<" + sig<T>::name() + ">"; }
};
template <class A, class B>
struct sig<std::pair<A, B>> {
  static constexpr bool ok = all_ok<A, B>;
  static std::string name() { return "tuple<" + sig_list<A, B>() + ">"; }
};
template <class... T>
struct sig<std::tuple<T...>> {
  static constexpr bool ok = all_ok<T...>;
  static std::string name() { return "tuple<" + sig_list<T...>() + ">"; }
};
template <class Rep, class Period>
struct sig<std::chrono::duration<Rep, Period>> {
  static constexpr bool ok = sig<Rep>::ok;
  static std::string name() {
    return "duration<" + sig<Rep>::name() + "," + std::to_string(Period::num) + "/" + std::to_string(Period::den) + ">";
  }
};

template <class Tuple>
struct tuple_sig;
template <class... R>
struct tuple_sig<std::tuple<R...>> {
  static constexpr bool ok = all_ok<std::remove_cvref_t<R>...>;
  static std::string names() { return sig_list<std::remove_cvref_t<R>...>(); }
  static std::vector<std::string> each() { return {sig<std::remove_cvref_t<R>>::name()...}; }
};

template <class T>
struct sig<T, std::enable_if_t<has_weft_fields<T>>> {
  using fields = decltype(weft_fields(std::declval<T&>()));
  static constexpr bool ok = tuple_sig<fields>::ok;
  static std::string name() {
    const T* p = nullptr;
    std::string s = std::string("struct:") + weft_type_name(p) + "{";
    std::string names = weft_field_names(p);
    std::vector<std::string> types = tuple_sig<fields>::each();
    std::size_t at = 0;
    for (std::size_t i = 0; i < types.size(); ++i) {
      std::size_t comma = names.find(',', at);
      std::string f = names.substr(at, comma == std::string::npos ? std::string::npos : comma - at);
      f.erase(0, f.find_first_not_of(' '));
      f.erase(f.find_last_not_of(' ') + 1);
      s += (i ? "," : "") + f + ":" + types[i];
      at = comma == std::string::npos ? names.size() : comma + 1;
    }
    return s + "}";
  }
};
template <class T>
struct sig<T, std::enable_if_t<protobuf_message<T> && !has_weft_fields<T>>> {
  static constexpr bool ok = true;
  static std::string name() { return "proto:" + std::string(T().GetTypeName()); }
};

template <class T>
inline constexpr bool codec_supported = sig<T>::ok;

template <class T>
std::string signature_of() {
  return sig<T>::name();
}

}  // namespace weft::detail

namespace msgpack {
MSGPACK_API_VERSION_NAMESPACE(MSGPACK_DEFAULT_API_NS) {
  namespace adaptor {

  // A WEFT_FIELDS struct: an array of its fields.
  template <class T>
  struct pack<T, std::enable_if_t<weft::detail::has_weft_fields<T>>> {
    template <class Stream>
    packer<Stream>& operator()(packer<Stream>& o, const T& v) const {
      return o.pack(weft_fields(v));
    }
  };
  template <class T>
  struct convert<T, std::enable_if_t<weft::detail::has_weft_fields<T>>> {
    const msgpack::object& operator()(const msgpack::object& o, T& v) const {
      auto fields = weft_fields(v);
      if (o.type != msgpack::type::ARRAY || o.via.array.size != std::tuple_size_v<decltype(fields)>)
        throw msgpack::type_error();
      std::apply(
          [&](auto&... f) {
            std::size_t i = 0;
            ((o.via.array.ptr[i++].convert(f)), ...);
          },
          fields);
      return o;
    }
  };

  template <class T>
  struct pack<T, std::enable_if_t<std::is_enum_v<T>>> {
    template <class Stream>
    packer<Stream>& operator()(packer<Stream>& o, const T& v) const {
      return o.pack(static_cast<std::underlying_type_t<T>>(v));
    }
  };
  template <class T>
  struct convert<T, std::enable_if_t<std::is_enum_v<T>>> {
    const msgpack::object& operator()(const msgpack::object& o, T& v) const {
      v = static_cast<T>(o.as<std::underlying_type_t<T>>());
      return o;
    }
  };

  template <class Rep, class Period>
  struct pack<std::chrono::duration<Rep, Period>> {
    template <class Stream>
    packer<Stream>& operator()(packer<Stream>& o, const std::chrono::duration<Rep, Period>& v) const {
      return o.pack(v.count());
    }
  };
  template <class Rep, class Period>
  struct convert<std::chrono::duration<Rep, Period>> {
    const msgpack::object& operator()(const msgpack::object& o, std::chrono::duration<Rep, Period>& v) const {
      v = std::chrono::duration<Rep, Period>(o.as<Rep>());
      return o;
    }
  };

  template <class T>
  struct pack<T, std::enable_if_t<weft::detail::protobuf_message<T> && !weft::detail::has_weft_fields<T>>> {
    template <class Stream>
    packer<Stream>& operator()(packer<Stream>& o, const T& v) const {
      std::string bytes;
      if (!v.SerializeToString(&bytes)) throw msgpack::type_error();
      o.pack_bin(static_cast<std::uint32_t>(bytes.size()));
      o.pack_bin_body(bytes.data(), static_cast<std::uint32_t>(bytes.size()));
      return o;
    }
  };
  template <class T>
  struct convert<T, std::enable_if_t<weft::detail::protobuf_message<T> && !weft::detail::has_weft_fields<T>>> {
    const msgpack::object& operator()(const msgpack::object& o, T& v) const {
      if (o.type != msgpack::type::BIN || !v.ParseFromString(std::string(o.via.bin.ptr, o.via.bin.size)))
        throw msgpack::type_error();
      return o;
    }
  };

  }  // namespace adaptor
}  // MSGPACK_API_VERSION_NAMESPACE
}  // namespace msgpack
