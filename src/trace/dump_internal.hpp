// src/trace/dump_internal.hpp: goroutine dumps, for fatal paths and SIGQUIT.
#pragma once

#include <iosfwd>

#include "runtime/runtime.hpp"

namespace weft::detail {

// Writes one goroutine: header, the given trace, its creation site.
void describe_goroutine(std::ostream& out, g* gp, void* const* pcs, int n);
// Writes every goroutine; `self` (may be null) is the caller's own, whose
// trace is taken here.
void dump_all_goroutines(std::ostream& out, g* self);

}  // namespace weft::detail
