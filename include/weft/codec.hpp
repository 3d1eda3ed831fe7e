// weft/codec.hpp: how values cross processes (remote channels and
// variables, spawn arguments, cross-reference calls).
//
// weft::codec<T> turns a T into bytes and back, and names T's shape (its
// signature, part of a remote object's identity: a channel opened as
// chan<int> cannot be opened again as chan<std::string>). Supported:
// arithmetic types, enums, std::string, vector, array, map, unordered_map,
// set, unordered_set, optional, pair, tuple, chrono durations, protobuf
// messages (they cross as their own wire format), and any struct that
// lists its fields once with WEFT_FIELDS, in the struct's namespace:
//
//   struct point { int x; int y; };
//   WEFT_FIELDS(point, x, y);
//
// The bytes are MessagePack (msgpack.org), so a server or peer in another
// language can read them: a WEFT_FIELDS struct is an array of its fields in
// the order listed, a duration its count, an enum its underlying integer, a
// protobuf message a bin of its serialization. Signatures: bool, i8..i64,
// u8..u64, f32, f64, str, list<T>, array<T,N>, map<K,V>, set<T>, opt<T>,
// tuple<A,B,...>, duration<rep,num/den>, enum:NAME, struct:NAME{f:T,...},
// proto:FULL.NAME.
//
// decode throws weft::remote_error (kind protocol) for bytes that are not
// a T. Specialize weft::codec<T> (encode, decode, signature) for a type the
// list does not cover.
#pragma once

#include <weft/detail/cxx20.hpp>

#define MSGPACK_NO_BOOST 1
#include <msgpack.hpp>

#include <string>
#include <string_view>
#include <type_traits>

#include <weft/detail/codec_msgpack.hpp>
#include <weft/detail/fields.hpp>
#include <weft/errors.hpp>

namespace weft {

template <class T>
struct codec {
  static_assert(detail::codec_supported<T>,
                "weft::codec: this type cannot cross processes; declare its fields with WEFT_FIELDS(type, fields...) "
                "in its namespace, or specialize weft::codec<T>");

  // Appends v's encoding to out.
  static void encode(const T& v, std::string& out) {
    detail::string_sink sink{&out};
    msgpack::pack(sink, v);
  }
  // The T that bytes encode (exactly one value, nothing after it).
  static T decode(std::string_view bytes) {
    try {
      std::size_t used = 0;
      // The zone holds what the value unpacks to (arrays, maps, copied
      // strings), and grows as it needs. msgpack's default first chunk is
      // 8 KiB: a large allocation and free on every decode, of which a
      // number (a remote variable's value, decoded three times per
      // fetch_add) uses none.
      msgpack::zone zone(bytes.size() <= 256 ? 512 : MSGPACK_ZONE_CHUNK_SIZE);
      msgpack::object o =
          msgpack::unpack(zone, bytes.data(), bytes.size(), used, nullptr, nullptr, detail::codec_limits(bytes.size()));
      if (used != bytes.size())
        throw remote_error(remote_errc::protocol, "weft::codec: " + std::to_string(bytes.size() - used) +
                                                      " bytes after the value of type " + signature());
      return o.as<T>();
    } catch (const remote_error&) {
      throw;
    } catch (const std::exception& e) {
      throw remote_error(remote_errc::protocol,
                         "weft::codec: bytes are not a value of type " + signature() + ": " + e.what());
    }
  }
  static std::string signature() { return detail::signature_of<T>(); }
};

namespace detail {
// T's signature, or "void": a function's result in a signature
// ("void(i32)": spawn, cross-reference calls).
template <class T>
std::string signature_or_void() {
  if constexpr (std::is_void_v<T>) {
    return "void";
  } else {
    return codec<T>::signature();
  }
}
}  // namespace detail

// Shorthands.
template <class T>
std::string encode(const T& v) {
  std::string out;
  codec<T>::encode(v, out);
  return out;
}
template <class T>
T decode(std::string_view bytes) {
  return codec<T>::decode(bytes);
}

}  // namespace weft
