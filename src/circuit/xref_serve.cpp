// src/circuit/xref_serve.cpp: serving calls and dials (xref_serve.hpp).
#include "circuit/xref_serve.hpp"

#include <unistd.h>

#include <map>
#include <tuple>
#include <utility>

#include <weft/codec.hpp>

#include "circuit/cross_registry.hpp"
#include "circuit/exception_info.hpp"
#include "circuit/exports.hpp"
#include "circuit/identity.hpp"
#include "platform/spinlock.hpp"
#include "wire/utf8.hpp"

namespace weft::circuit::detail {

namespace {

v1::Frame error(v1::Error::Code code, const std::string& why) {
  v1::Frame f;
  f.mutable_error()->set_code(code);
  f.mutable_error()->set_message(wire::utf8_text(why));
  return f;
}

std::string self_binary() {
  char buf[4096];
  ssize_t n = ::readlink("/proc/self/exe", buf, sizeof buf - 1);
  return n > 0 ? std::string(buf, static_cast<std::size_t>(n)) : std::string("this binary");
}

weft::detail::spinlock names_lock;
std::map<std::string, named>& names() {
  static auto* m = new std::map<std::string, named>;  // handles may end after main
  return *m;
}

}  // namespace

v1::Frame serve_call(const v1::XCall& c) {
  const std::string method = c.type() + "::" + c.method();
  std::optional<exports::found> obj = exported().find(c.object());
  if (!obj)
    return error(v1::Error::NOT_FOUND, "no object " + std::to_string(c.object()) + " in " + self_id() +
                                           " (it was released, or is from an earlier run) for " + method);
  if (obj->type != c.type())
    return error(v1::Error::REFUSED, "object " + std::to_string(c.object()) + " in " + self_id() + " is a " +
                                         obj->type + ", called as a " + c.type() + " (" + method + ")");
  const cross_method* m = find_cross_method(c.type(), c.method());
  if (m == nullptr)
    return error(v1::Error::NOT_FOUND, "cross method " + method + " is not registered in " + self_binary() +
                                           " (WEFT_CROSS): were the two binaries built from the same source?");
  if (m->signature != c.signature())
    return error(v1::Error::REFUSED, "cross method " + method + " is " + m->signature + " in " + self_binary() +
                                         ", the caller called it as " + c.signature() +
                                         ": were the two binaries built from the same source?");
  v1::Frame f;
  v1::XReturn* r = f.mutable_x_return();
  try {
    r->set_value(m->invoke(obj->obj.get(), c.args()));
  } catch (const weft::detail::cross_bad_args& e) {
    return error(v1::Error::PROTOCOL, "the arguments of " + method + " do not decode: " + e.what());
  } catch (...) {
    exception_info info = current_exception_info();
    r->Clear();
    r->set_threw(true);
    r->set_type_name(info.type_name);
    r->set_what(info.what);
  }
  return f;
}

v1::Frame serve_dial(const v1::XDial& d) {
  std::optional<named> n = names_get(d.name());
  if (!n) return error(v1::Error::NOT_FOUND, "nothing listens as \"" + d.name() + "\" in " + self_id());
  if (n->type != d.type())
    return error(v1::Error::REFUSED, "\"" + d.name() + "\" in " + self_id() + " is an xref<" + n->type +
                                         ">, dialed as an xref<" + d.type() + ">");
  weft::detail::xref_wire w = weft::detail::xref_encode(*n->handle);
  v1::Frame f;
  f.mutable_x_dialed()->set_ref(weft::encode(std::make_tuple(w.owner, w.object, w.type, w.token)));
  return f;
}

void names_set(const std::string& name, std::shared_ptr<weft::detail::xref_handle> h, const std::string& type) {
  named old;
  weft::detail::lock_scope lk(names_lock);
  named& slot = names()[name];
  old = std::move(slot);
  slot = named{std::move(h), type};
  lk.unlock();  // old's handle is released here, outside the lock
}

std::optional<named> names_get(const std::string& name) {
  weft::detail::lock_scope lk(names_lock);
  auto it = names().find(name);
  if (it == names().end()) return std::nullopt;
  return it->second;
}

void names_clear() {
  std::map<std::string, named> gone;
  weft::detail::lock_scope lk(names_lock);
  gone.swap(names());
  lk.unlock();
}

}  // namespace weft::circuit::detail
