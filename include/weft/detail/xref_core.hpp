// weft/detail/xref_core.hpp: what weft/xref.hpp's templates call into
// (src/circuit/xref.cpp, src/circuit/cross_registry.cpp). Internal; the
// protocol is in src/circuit/exports.hpp and docs/protocol.md.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <typeinfo>

namespace weft::detail {

class future_state;

// One reference held by this process: to an object of its own (local) or
// of another process (remote: the connection to its owner). Every
// xref<T> copy shares one handle; the handle's end releases the reference.
class xref_handle;

// The demangled, qualified name of a type ("app::counter"): an object's
// type on the wire.
std::string cross_demangle(const char* mangled);
template <class T>
const std::string& cross_type_name() {
  static const std::string name = cross_demangle(typeid(T).name());
  return name;
}

// WEFT_CROSS's registration: type -> method -> (signature, invoker).
// An invoker runs the method on obj (a T*) with encoded arguments and
// returns the encoded result; it throws cross_bad_args if the arguments do
// not decode, and whatever the method throws.
using cross_invoker = std::string (*)(void* obj, std::string_view args);
struct cross_method_entry {
  const char* name;
  std::string (*signature)();
  cross_invoker invoke;
};
bool register_cross(const std::string& type, std::initializer_list<cross_method_entry> methods);

class cross_bad_args : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// An xref as it crosses: codec bytes are the array [owner, object, type, token].
struct xref_wire {
  std::string owner;  // the owner's peer address, "unix:/..."
  std::uint64_t object = 0;
  std::string type;
  std::string token;  // this crossing's pin (exports.hpp)
};

// ref / perm_ref: exports obj (of type `type`) from this process.
std::shared_ptr<xref_handle> xref_export(std::shared_ptr<void> obj, const void* raw, const std::string& type,
                                         bool perm);
const std::string& xref_owner(const xref_handle& h) noexcept;
std::uint64_t xref_object(const xref_handle& h) noexcept;
// Starts a call; its outcome goes to out. Never throws for the system's
// failures (they settle out); throws misuse_error for an unregistered
// method (method == nullptr).
void xref_call(const xref_handle& h, const std::string& type, const char* method, std::string signature,
               std::string args, std::shared_ptr<future_state> out);
// The codec's halves: encode pins the reference for its receiver, decode
// registers the receiver with the owner (parks to dial it, if need be).
xref_wire xref_encode(const xref_handle& h);
std::shared_ptr<xref_handle> xref_decode(xref_wire w);
// listen / dial.
void xref_listen(const std::string& name, std::shared_ptr<xref_handle> h, const std::string& type);
std::shared_ptr<xref_handle> xref_dial(const std::string& where, const std::string& name, const std::string& type);

}  // namespace weft::detail
