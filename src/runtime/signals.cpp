// src/runtime/signals.cpp: an M's thread set-up, stack-overflow reports,
// SIGQUIT dumps and panics. The system calls are platform/signals.hpp's.
//
// Stack overflow: a goroutine that runs off its stack touches the guard
// below it (as large as the stack: stack.cpp) and gets SIGSEGV. The handler
// runs on the M's alternate signal stack (the goroutine's own is exhausted),
// checks that the fault is in the current goroutine's guard (or that its
// stack pointer left its stack), and has fatal.cpp report which goroutine overflowed, its stack size and how
// to raise it, with a trace, and exit 2. Any other SIGSEGV goes to the
// handler that was installed before weft's (ASan's, or the default: a core
// dump).
//
// SIGQUIT: the handler only asks sysmon (sysmon_ask_quit: a flag and a
// futex wake, async-signal-safe), which has fatal.cpp write the goroutine
// dump to stderr and exit 2, as a Go program does. Dumping from inside the
// handler would call malloc and take locks in whatever state the
// interrupted thread left them. sysmon, a thread of its own outside the
// scheduler, dumps a program whose goroutines are all stuck as well as a
// thread kept for the purpose did, and every process has one thread less
// (a spawned worker's start and exit were each one clone the poorer).
// Outside weft::run (no sysmon) the handler says "SIGQUIT: quit" and exits
// 2 itself: there are no goroutines to show.
//
// Signal masks: the runtime's own threads (sysmon, the G chunk maker)
// block every asynchronous signal, so a process-directed one (SIGTERM for
// weft::on_shutdown, SIGPROF, the program's own) is handled on an M or a
// thread of the program. A new M sets the mask weft::run's caller had:
// sysmon starts Ms too, and they must not inherit its mask; an M on its
// way out blocks them. Why it matters: under TSan, a handler for a signal
// that lands outside TSan's interceptors waits for that thread's (that
// fiber's) next intercepted call, which on these threads may never come.
// The other half is in platform/futex.cpp and runtime/sanitizers.hpp.
//
// Panics: an exception that escapes a goroutine reaches std::terminate with
// the thrower's frames still on the stack (context.cpp); weft's terminate
// handler reports it as a panic when it runs on a goroutine.
#include "runtime/signals.hpp"

#include <unistd.h>

#include <cstdint>
#include <exception>
#include <mutex>
#include <string>

#include "platform/process.hpp"
#include "runtime/cpu_ticks.hpp"
#include "platform/signals.hpp"
#include "runtime/sanitizers.hpp"

namespace weft::detail {

namespace {

constexpr std::size_t altstack_size = 256 * 1024;  // symbolizing needs room
struct sigaction old_segv, old_bus;
std::terminate_handler old_terminate = nullptr;
sigset_t run_sigmask;  // written as a run starts, before any M of it

// The fault (or the stack pointer) is in gp's guard, or a little below it.
bool is_overflow(g* gp, void* addr, void* uc) {
  if (gp == nullptr || gp->stk.lo == nullptr) return false;
  auto lo = reinterpret_cast<std::uintptr_t>(gp->stk.lo);
  std::uintptr_t reach = stack_guard_size(gp->stk.cls) + 64 * page_size;
  auto a = reinterpret_cast<std::uintptr_t>(addr);
  if (a < lo && a + reach >= lo) return true;
  auto sp = reinterpret_cast<std::uintptr_t>(os::ucontext_stack_pointer(uc));
  if (sp != 0 && sp < lo && sp + reach >= lo) return true;
  return false;
}

void on_fault(int sig, siginfo_t* info, void* uc) {
  g* gp = this_g();
  if (is_overflow(gp, info->si_addr, uc)) fatal_stack_overflow(gp, uc);
  // Not ours: hand the signal to whoever was there before.
  os::sig_forward(sig, info, uc, sig == SIGBUS ? old_bus : old_segv);
}

void on_quit(int) {
  if (sysmon_ask_quit()) return;
  static const char text[] = "SIGQUIT: quit\n";
  [[maybe_unused]] ssize_t n = ::write(2, text, sizeof text - 1);
  ::_exit(2);
}

void on_terminate() {
  g* gp = this_g();
  if (gp != nullptr) {
    std::exception_ptr e = std::current_exception();
    if (e) panic_exception(gp, e);
    fatal("std::terminate called in goroutine " + std::to_string(gp->id) + " with no active exception");
  }
  // Not a goroutine: the program's own failure, for the handler that was
  // there before weft's (fatal.cpp's one exception).
  if (old_terminate) old_terminate();
  std::abort();
}

}  // namespace

void capture_run_sigmask() { os::thread_sigmask_get(&run_sigmask); }

void m_init_thread(m* mp) {
  mp->tid = os::thread_id();
  if (!mp->is_m0) os::thread_sigmask_set(run_sigmask);
  san::signal_state_init();
  g* g0 = &mp->g0;
  g0->is_g0 = true;
  g0->status.store(g_running, std::memory_order_relaxed);
  set_san(g0, san::fiber_current());
  if (os::thread_stack(&g0->stk.lo, &g0->stk.hi)) g0->stk.guarded = true;
  os::altstack_install(altstack_size);  // without one, an overflow is a bare SIGSEGV
  cpu_ticks_thread_start();  // after the altstack: SIGPROF's handler runs on it
}

void m_exit_thread(m* mp) {
  if (!mp->is_m0) os::block_async_signals();  // on its way out (see the top)
  cpu_ticks_thread_end();  // before the altstack goes
  os::altstack_remove();
  mp->g0.stk = stack{};
}

void install_runtime_signals() {
  static std::once_flag once;
  std::call_once(once, [] {
    os::sig_handle_fault(SIGSEGV, on_fault, &old_segv);
    os::sig_handle_fault(SIGBUS, on_fault, &old_bus);
    os::sig_handle(SIGQUIT, on_quit);
    old_terminate = std::set_terminate(on_terminate);
  });
}

}  // namespace weft::detail
