// src/runtime/fatal.hpp: the one way out, and the seam through which its
// reports show goroutines. Design at the top of fatal.cpp.
#pragma once

#include <exception>
#include <iosfwd>
#include <string>
#include <type_traits>

namespace weft::detail {

struct g;

// Every unrecoverable error: prints "weft: fatal error: MSG" and a dump of
// every goroutine, exits 2. MSG may span lines.
[[noreturn]] void fatal(const std::string& msg);
// An exception escaped gp: prints the panic and gp's trace, exits 2.
[[noreturn]] void panic_exception(g* gp, std::exception_ptr e);
// From the SIGSEGV handler (on the alternate signal stack): gp ran off its
// stack; ucontext is the handler's third argument. Exits 2.
[[noreturn]] void fatal_stack_overflow(g* gp, void* ucontext);
// SIGQUIT (sysmon, asked by signals.cpp's handler): every goroutine, then exit 2.
[[noreturn]] void fatal_sigquit();

// What the fatal reports borrow from src/trace/, a layer above the runtime:
// capturing stacks and printing goroutines. trace fills one in
// (trace_hooks_for_runtime in trace/dump.cpp) and weft::run hands it over
// (weft/run.hpp), so the runtime never names trace. Until the first
// weft::run, reports carry no goroutines (there are none yet).
struct trace_hooks {
  // Unwinds the calling thread's stack, skipping `skip` innermost frames
  // (the function that calls capture_here is frame 0).
  int (*capture_here)(void** pcs, int max, int skip);
  // Unwinds from a signal handler's ucontext, the faulting frame first.
  int (*capture_ucontext)(void* ucontext, void** pcs, int max);
  // Writes one goroutine: header, the trace in pcs, its creation site.
  void (*describe_goroutine)(std::ostream& out, g* gp, void* const* pcs, int n);
  // Writes every goroutine. self (may be null) is the caller's own, whose
  // trace the caller captured in pcs.
  void (*dump_all_goroutines)(std::ostream& out, g* self, void* const* pcs, int n);
};
// REQUIRES: h lives as long as the process (run_main).
void set_trace_hooks(const trace_hooks* h) noexcept;

// Runs fn where stack is plentiful. Symbolizing (libdw) needs far more stack
// than a goroutine's 64 KiB, so on a goroutine fn runs on a helper thread
// that the caller waits for; elsewhere it runs in place.
void on_system_stack(void (*fn)(void*), void* arg);
template <class F>
void on_system_stack(F&& f) {
  using fn_t = std::remove_reference_t<F>;
  on_system_stack([](void* a) { (*static_cast<fn_t*>(a))(); }, static_cast<void*>(&f));
}

}  // namespace weft::detail
