// src/runtime/gslab.hpp: where Gs live. Design at the top of gslab.cpp.
#pragma once

#include "runtime/runtime.hpp"

namespace weft::detail {

// Gs are cached per P (p.free_gs) as stacks are (stack_get, stack_put).
g* g_get(p* pp);  // an unused G (status g_unused, fields reset)
void g_put(p* pp, g* gp);  // resets gp, back to pp's cache (pp may be null: the global list)
void g_flush(p* pp);  // pp's cache to the global list
void g_clear_locals(g* gp);  // runs goroutine_local destructors
// The one place a G's fields go back to those of a fresh G (status g_unused,
// no stack, context, closure, name or thread control); g_put and
// gslab_reset_all call it. Frees a heap closure. REQUIRES: its stack was
// given back (or is abandoned), its goroutine_locals cleared.
void g_reset(g* gp);
// Calls fn on every G ever allocated, including free ones.
void for_each_g(void (*fn)(g*, void*), void* arg);
// End of weft::run: every G back to free; closures of never-run Gs destroyed.
void gslab_reset_all();

}  // namespace weft::detail
