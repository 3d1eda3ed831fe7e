// src/circuit/xref_serve.hpp: the owner's and the listener's answers: a
// call on an exported object, a dial of a listened name. Pure functions of
// the request and this process's tables, used for a peer's requests (on
// its link) and for calls on this process's own xrefs alike, so both take
// the same checks: the object exists and is of the type the caller
// thinks; the method is registered (WEFT_CROSS) with the caller's
// signature; the arguments decode.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include <weft/detail/xref_core.hpp>

#include "weft/runtime/v1/runtime.pb.h"

namespace weft::circuit::detail {

namespace v1 = weft::runtime::v1;

// Runs the call (parks as long as the method does). Returns XReturn or Error.
v1::Frame serve_call(const v1::XCall& c);
// Returns XDialed (the listened xref, encoded and pinned) or Error. Never parks.
v1::Frame serve_dial(const v1::XDial& d);

// Listened names.
void names_set(const std::string& name, std::shared_ptr<weft::detail::xref_handle> h, const std::string& type);
struct named {
  std::shared_ptr<weft::detail::xref_handle> handle;
  std::string type;
};
std::optional<named> names_get(const std::string& name);
void names_clear();

}  // namespace weft::circuit::detail
