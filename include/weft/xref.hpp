// weft/xref.hpp: cross-references: call methods of an object that lives
// in another process of the circuit (DESIGN.md, "Public API contract
// (circuit)"; the user's guide is docs/xref.md).
//
//   struct counter { int add(int d); std::string name() const; };
//   WEFT_CROSS(counter, add, name);      // at namespace scope: these methods
//                                        // may be called across processes
//   weft::xref<counter> x = weft::ref(std::make_shared<counter>());
//   weft::future<int> f = x.call<&counter::add>(5);   // f.get() parks
//   weft::listen("ingest", x);                        // by name, in this process
//   auto y = weft::dial<counter>(worker.address(), "ingest");
//
// Calls from every goroutine of a process to another process share one
// connection and complete out of order, as they finish; on the owner each
// call runs in a goroutine of its own. Arguments and results cross by
// weft::codec, and an xref inside them crosses as a reference that works
// in whichever process receives it.
//
// Lifetime: the object lives while some process holds an xref to it (its
// owner's own xrefs included); a holder that dies or is cut off loses its
// references when its lease runs out (5 s by default: WEFT_XREF_LEASE_MS).
// perm_ref objects live as long as their process's weft::run. A listened
// name holds its xref until the run ends.
//
// Errors: the method threw -> get() throws weft::remote_exception (type
// name and what() of the original), and the owner goes on. The system
// failed -> weft::remote_error: kind() lost once the owner is declared dead
// (its connection broke or it was silent for a lease), for calls in flight
// (they may or may not have run) and every later call; refused when the
// owner's binary lacks the method or has it with another signature (the
// message names the method); unreachable when the owner cannot be dialed.
#pragma once

#include <weft/detail/cxx20.hpp>

#include <memory>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <utility>

#include <weft/codec.hpp>
#include <weft/detail/fields.hpp>
#include <weft/detail/xref_core.hpp>
#include <weft/errors.hpp>
#include <weft/future.hpp>

namespace weft {

namespace detail {

template <class M>
struct cross_traits;
template <class R, class C, class... A>
struct cross_traits<R (C::*)(A...)> {
  using result = std::decay_t<R>;
  using cls = C;
  using args = std::tuple<std::decay_t<A>...>;
  static constexpr std::size_t arity = sizeof...(A);
  static std::string signature();
};
template <class R, class C, class... A>
struct cross_traits<R (C::*)(A...) const> : cross_traits<R (C::*)(A...)> {};
template <class R, class C, class... A>
struct cross_traits<R (C::*)(A...) noexcept> : cross_traits<R (C::*)(A...)> {};
template <class R, class C, class... A>
struct cross_traits<R (C::*)(A...) const noexcept> : cross_traits<R (C::*)(A...)> {};

template <class R, class C, class... A>
std::string cross_traits<R (C::*)(A...)>::signature() {
  std::string s = signature_or_void<std::decay_t<R>>() + "(";
  bool first = true;
  ((s += (first ? "" : ","), s += codec<std::decay_t<A>>::signature(), first = false), ...);
  return s + ")";
}

// The name WEFT_CROSS gave method M (null: not registered).
template <auto M>
inline const char* cross_method_name = nullptr;

template <class T, auto M>
std::string cross_invoke(void* obj, std::string_view bytes) {
  using tr = cross_traits<decltype(M)>;
  auto values = [&]() -> typename tr::args {
    try {
      return weft::decode<typename tr::args>(bytes);
    } catch (const std::exception& e) {
      throw cross_bad_args(e.what());
    }
  }();
  auto* self = static_cast<typename tr::cls*>(static_cast<T*>(obj));
  auto run = [&](auto&&... a) -> decltype(auto) { return (self->*M)(std::move(a)...); };
  if constexpr (std::is_void_v<typename tr::result>) {
    std::apply(run, std::move(values));
    return {};
  } else {
    return weft::encode<typename tr::result>(std::apply(run, std::move(values)));
  }
}

template <class T, auto M>
cross_method_entry cross_entry(const char* name) {
  static_assert(std::is_base_of_v<typename cross_traits<decltype(M)>::cls, T>,
                "WEFT_CROSS: the method is not a member of the type");
  cross_method_name<M> = name;
  return {name, &cross_traits<decltype(M)>::signature, &cross_invoke<T, M>};
}

}  // namespace detail

// A reference to an object of type T that may live in another process.
// Copies share one reference. A default-constructed xref is null.
template <class T>
class xref {
 public:
  xref() = default;
  explicit xref(std::shared_ptr<detail::xref_handle> h) : h_(std::move(h)) {}

  explicit operator bool() const noexcept { return h_ != nullptr; }
  // The owner's peer address ("unix:/..."): where the object lives.
  const std::string& owner() const { return detail::xref_owner(handle()); }
  // The object's id at its owner (never reused within the owner's process).
  std::uint64_t object_id() const { return detail::xref_object(handle()); }

  // Calls M (a method registered with WEFT_CROSS) on the object with args
  // (converted to M's parameter types here) and returns at once.
  template <auto M, class... A>
  future<typename detail::cross_traits<decltype(M)>::result> call(A&&... args) const {
    using tr = detail::cross_traits<decltype(M)>;
    using R = typename tr::result;
    static_assert(std::is_base_of_v<typename tr::cls, T>, "weft::xref::call: the method is not a member of T");
    static_assert(sizeof...(A) == tr::arity, "weft::xref::call: the arguments do not match the method's parameters");
    typename tr::args values(std::forward<A>(args)...);
    auto out = std::make_shared<detail::future_box<R>>();
    detail::xref_call(handle(), detail::cross_type_name<T>(), detail::cross_method_name<M>, tr::signature(),
                      weft::encode(values), out);
    return future<R>(std::move(out));
  }

  const std::shared_ptr<detail::xref_handle>& handle_ptr() const noexcept { return h_; }
  friend bool operator==(const xref& a, const xref& b) {
    if (!a.h_ || !b.h_) return a.h_ == b.h_;
    return a.object_id() == b.object_id() && a.owner() == b.owner();
  }

 private:
  const detail::xref_handle& handle() const {
    if (!h_) throw misuse_error("weft::xref: the xref is null");
    return *h_;
  }
  std::shared_ptr<detail::xref_handle> h_;
};

// An xref to p's object, exported from this process: it lives while any
// process holds an xref to it. REQUIRES: inside weft::run (the process
// starts listening for peers).
template <class T>
xref<T> ref(std::shared_ptr<T> p) {
  const void* raw = p.get();
  return xref<T>(detail::xref_export(std::shared_ptr<void>(std::move(p)), raw, detail::cross_type_name<T>(), false));
}
// As ref, but the object lives as long as this process's weft::run,
// whoever holds it.
template <class T>
xref<T> perm_ref(std::shared_ptr<T> p) {
  const void* raw = p.get();
  return xref<T>(detail::xref_export(std::shared_ptr<void>(std::move(p)), raw, detail::cross_type_name<T>(), true));
}

// Exposes x under name in this process (replacing an earlier one): dial
// finds it. The name holds its xref until weft::run ends.
template <class T>
void listen(const std::string& name, const xref<T>& x) {
  detail::xref_listen(name, x.handle_ptr(), detail::cross_type_name<T>());
}

// The xref listening as name in the process at address_or_id: "unix:/path"
// (a worker's address()) or a worker id ("R" + 16 hex digits, on this
// host). Parks for the round trip. Throws remote_error: unreachable (no
// such process), refused (no such name, or it is not a T).
template <class T>
xref<T> dial(const std::string& address_or_id, const std::string& name) {
  return xref<T>(detail::xref_dial(address_or_id, name, detail::cross_type_name<T>()));
}

namespace detail {

template <class T>
struct sig<weft::xref<T>, void> {
  static constexpr bool ok = true;
  static std::string name() { return "xref<" + cross_type_name<T>() + ">"; }
};

}  // namespace detail

}  // namespace weft

namespace msgpack {
MSGPACK_API_VERSION_NAMESPACE(MSGPACK_DEFAULT_API_NS) {
  namespace adaptor {

  // An xref: nil when null, else [owner, object, type, token]. Packing
  // pins the reference for its receiver; converting registers the
  // receiver with the owner (src/circuit/exports.hpp).
  template <class T>
  struct pack<weft::xref<T>> {
    template <class Stream>
    packer<Stream>& operator()(packer<Stream>& o, const weft::xref<T>& v) const {
      if (!v) return o.pack_nil();
      weft::detail::xref_wire w = weft::detail::xref_encode(*v.handle_ptr());
      o.pack_array(4);
      o.pack(w.owner);
      o.pack(w.object);
      o.pack(w.type);
      o.pack(w.token);
      return o;
    }
  };
  template <class T>
  struct convert<weft::xref<T>> {
    const msgpack::object& operator()(const msgpack::object& o, weft::xref<T>& v) const {
      if (o.type == msgpack::type::NIL) {
        v = weft::xref<T>();
        return o;
      }
      if (o.type != msgpack::type::ARRAY || o.via.array.size != 4) throw msgpack::type_error();
      weft::detail::xref_wire w;
      o.via.array.ptr[0].convert(w.owner);
      o.via.array.ptr[1].convert(w.object);
      o.via.array.ptr[2].convert(w.type);
      o.via.array.ptr[3].convert(w.token);
      if (w.type != weft::detail::cross_type_name<T>()) throw msgpack::type_error();
      v = weft::xref<T>(weft::detail::xref_decode(std::move(w)));
      return o;
    }
  };

  }  // namespace adaptor
}  // MSGPACK_API_VERSION_NAMESPACE
}  // namespace msgpack

#define WEFT_DETAIL_CROSS_CAT2(a, b) a##b
#define WEFT_DETAIL_CROSS_CAT(a, b) WEFT_DETAIL_CROSS_CAT2(a, b)
#define WEFT_DETAIL_CROSS_ENTRY(Type, m) ::weft::detail::cross_entry<Type, &Type::m>(#m)

// WEFT_CROSS(type, method...): at namespace scope: these methods of type
// may be called across processes (xref<type>::call). Registered by the
// type's qualified name, the method's name and its signature in
// weft::codec's terms: an owner whose binary lacks the method, or has it
// with another signature, refuses the call naming it. Overloaded methods
// cannot be registered (&type::m must name one).
#define WEFT_CROSS(Type, ...)                                                                     \
  [[maybe_unused]] static const bool WEFT_DETAIL_CROSS_CAT(weft_cross_registered_, __COUNTER__) = \
      ::weft::detail::register_cross(::weft::detail::cross_type_name<Type>(),                     \
                                     {WEFT_DETAIL_FOR_EACH(WEFT_DETAIL_CROSS_ENTRY, Type, __VA_ARGS__)})
