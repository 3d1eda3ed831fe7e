// src/circuit/registry.hpp: the functions this binary may run for a
// spawn (WEFT_SPAWNABLE). Filled at static initialization, read-only
// once main runs, so lookups take no lock after that; the registration
// itself is under a lock (several translation units may initialize in
// parallel only in exotic setups, but static init order is unspecified).
//
// A name registered twice (two functions spelled the same, e.g. in two
// namespaces but written unqualified) is ambiguous: spawning either is a
// misuse naming it, rather than a worker running the other one.
#pragma once

#include <string>
#include <weft/detail/spawn_core.hpp>

namespace weft::circuit::detail {

struct spawnable {
  std::string name;
  std::string signature;  // "RESULT(ARG,...)"
  weft::detail::spawn_invoker invoke = nullptr;
  bool ambiguous = false;
};

// The entry for name, or null.
const spawnable* find_spawnable(const std::string& name);

}  // namespace weft::circuit::detail
