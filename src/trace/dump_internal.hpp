// src/trace/dump_internal.hpp: goroutine dumps, for fatal paths and SIGQUIT.
#pragma once

#include <iosfwd>
#include <string>

#include "runtime/runtime.hpp"

namespace weft::detail {

// Narrows pcs[first, last) to the goroutine's own frames: drops the
// runtime's switching frames at the top (up to and including switch_to, or
// __cxa_throw for a panic) and its entry frames at the bottom (g_entry and
// below).
void trim_runtime_frames(void* const* pcs, int n, int* first, int* last);

// Writes one goroutine: header, the given trace, its creation site.
// state: what to print as the state (a waiting G's reason must be read while
// it is held parked); null: read it from gp now (the caller's own G).
void describe_goroutine(std::ostream& out, g* gp, void* const* pcs, int n, const std::string* state = nullptr);
// Writes every goroutine. `self` (may be null) is the caller's own
// goroutine, whose trace the caller captured (self_pcs, self_n).
void dump_all_goroutines(std::ostream& out, g* self, void* const* self_pcs, int self_n);

// Runs fn where stack is plentiful. Symbolizing (libdw) needs far more stack
// than a goroutine's 64 KiB, so on a goroutine fn runs on a helper thread
// that the caller waits for; elsewhere it runs in place.
void on_system_stack(void (*fn)(void*), void* arg);
template <class F>
void on_system_stack(F&& f) {
  on_system_stack([](void* a) { (*static_cast<F*>(a))(); }, &f);
}

}  // namespace weft::detail
