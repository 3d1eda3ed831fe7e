// src/runtime/signals.cpp: an M's thread set-up, stack-overflow reports,
// SIGQUIT dumps and panics.
//
// Stack overflow: a goroutine that runs off its stack touches the guard page
// below it and gets SIGSEGV. The handler runs on the M's alternate signal
// stack (the goroutine's own is exhausted), checks that the fault is the
// current goroutine's guard page (or that its stack pointer left its stack),
// and has fatal.cpp report which goroutine overflowed, its stack size and how
// to raise it, with a trace, and exit 2. Any other SIGSEGV goes to the handler that was
// installed before weft's (ASan's, or the default: a core dump).
//
// SIGQUIT: the handler only writes a byte to a pipe; a small thread that
// exists for that purpose has fatal.cpp write the goroutine dump to stderr
// and exit 2, as a Go program does. Dumping from inside the handler would call malloc and
// take locks in whatever state the interrupted thread left them.
//
// Panics: an exception that escapes a goroutine reaches std::terminate with
// the thrower's frames still on the stack (context.cpp); weft's terminate
// handler reports it as a panic when it runs on a goroutine.
#include "runtime/signals.hpp"

#include <pthread.h>
#include <signal.h>
#include <sys/mman.h>
#include <ucontext.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <exception>
#include <mutex>
#include <string>
#include <thread>

#include "runtime/sanitizers.hpp"

namespace weft::detail {

namespace {

constexpr std::size_t altstack_size = 256 * 1024;  // symbolizing needs room
struct sigaction old_segv, old_bus;
std::terminate_handler old_terminate = nullptr;
int quit_pipe[2] = {-1, -1};

bool is_overflow(g* gp, void* addr, void* uc) {
  if (gp == nullptr || gp->stk.lo == nullptr) return false;
  auto a = reinterpret_cast<std::uintptr_t>(addr);
  auto lo = reinterpret_cast<std::uintptr_t>(gp->stk.lo);
  if (a < lo && a + 64 * page_size >= lo) return true;
#if defined(__x86_64__)
  auto sp = static_cast<std::uintptr_t>(static_cast<ucontext_t*>(uc)->uc_mcontext.gregs[REG_RSP]);
  if (sp < lo && sp + 64 * page_size >= lo) return true;
#else
  (void)uc;
#endif
  return false;
}

void on_fault(int sig, siginfo_t* info, void* uc) {
  g* gp = this_g();
  if (is_overflow(gp, info->si_addr, uc)) fatal_stack_overflow(gp, uc);
  // Not ours: hand the signal to whoever was there before.
  struct sigaction& old = sig == SIGBUS ? old_bus : old_segv;
  if (old.sa_flags & SA_SIGINFO) {
    if (old.sa_sigaction) {
      old.sa_sigaction(sig, info, uc);
      return;
    }
  } else if (old.sa_handler != SIG_DFL && old.sa_handler != SIG_IGN) {
    old.sa_handler(sig);
    return;
  }
  signal(sig, SIG_DFL);
  raise(sig);
}

void on_quit(int) {
  char b = 'q';
  if (::write(quit_pipe[1], &b, 1) < 0) {
  }
}

void quit_thread() {
  char b;
  while (::read(quit_pipe[0], &b, 1) != 1) {
  }
  fatal_sigquit();
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

void m_init_thread(m* mp) {
  mp->tid = static_cast<long>(gettid());
  g* g0 = &mp->g0;
  g0->is_g0 = true;
  g0->status.store(g_running, std::memory_order_relaxed);
  g0->san = san::fiber_current();
  pthread_attr_t attr;
  if (pthread_getattr_np(pthread_self(), &attr) == 0) {
    void* addr = nullptr;
    std::size_t size = 0;
    pthread_attr_getstack(&attr, &addr, &size);
    g0->stk.lo = static_cast<char*>(addr);
    g0->stk.hi = g0->stk.lo + size;
    g0->stk.guarded = true;
    pthread_attr_destroy(&attr);
  }
  void* alt = mmap(nullptr, altstack_size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (alt != MAP_FAILED) {
    stack_t ss{};
    ss.ss_sp = alt;
    ss.ss_size = altstack_size;
    if (sigaltstack(&ss, nullptr) != 0) munmap(alt, altstack_size);
  }
}

void m_exit_thread(m* mp) {
  stack_t ss{};
  ss.ss_flags = SS_DISABLE;
  stack_t old{};
  if (sigaltstack(&ss, &old) == 0 && old.ss_sp && !(old.ss_flags & SS_DISABLE)) munmap(old.ss_sp, old.ss_size);
  mp->g0.stk = stack{};
}

void install_runtime_signals() {
  static std::once_flag once;
  std::call_once(once, [] {
    struct sigaction sa{};
    sa.sa_sigaction = on_fault;
    sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGSEGV, &sa, &old_segv);
    sigaction(SIGBUS, &sa, &old_bus);
    if (pipe(quit_pipe) == 0) {
      std::thread(quit_thread).detach();
      struct sigaction q{};
      q.sa_handler = on_quit;
      sigemptyset(&q.sa_mask);
      q.sa_flags = SA_RESTART;
      sigaction(SIGQUIT, &q, nullptr);
    }
    old_terminate = std::set_terminate(on_terminate);
  });
}

}  // namespace weft::detail
