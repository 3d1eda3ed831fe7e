// src/runtime/gslab.hpp: where Gs live. Design at the top of gslab.cpp.
#pragma once

#include "runtime/runtime.hpp"

namespace weft::detail {

g* galloc(p* pp);            // a free G, status g_free, fields reset
void gfree(p* pp, g* gp);    // back to pp's free list (pp may be null)
void gflush(p* pp);          // pp's free list to the global one
void g_clear_locals(g* gp);  // runs goroutine_local destructors
// The one place a G's fields go back to those of a fresh G (status g_free,
// no stack, context, closure, name or thread control); gfree and
// gslab_reset_all call it. Frees a heap closure. REQUIRES: its stack was
// given back (or is abandoned), its goroutine_locals cleared.
void g_reset(g* gp);
// Calls fn on every G ever allocated, including free ones.
void for_each_g(void (*fn)(g*, void*), void* arg);
// End of weft::run: every G back to free; closures of never-run Gs destroyed.
void gslab_reset_all();

}  // namespace weft::detail
