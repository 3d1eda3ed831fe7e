// src/circuit/cross_registry.hpp: the methods this binary lets other
// processes call (WEFT_CROSS), by type name and method name, each with its
// signature in weft::codec's terms. Filled at static initialization and
// read-only once main runs, like WEFT_SPAWNABLE's table (registry.hpp).
//
// A caller names the object's type, the method and the signature it was
// compiled with; the owner refuses a method it does not have, or has with
// another signature, naming it: two binaries that disagree never run a
// method on bytes meant for another.
#pragma once

#include <string>

#include <weft/detail/xref_core.hpp>

namespace weft::circuit::detail {

struct cross_method {
  std::string signature;
  weft::detail::cross_invoker invoke = nullptr;
};

// The method, or null.
const cross_method* find_cross_method(const std::string& type, const std::string& method);

}  // namespace weft::circuit::detail
