// src/runtime/cpu_ticks.cpp: SIGPROF ticks of CPU time on every M.
//
// Concept. While a CPU profile runs, every M's thread has a POSIX timer on
// its own CPU-time clock (timer_create on the clock CLOCK_THREAD_CPUTIME_ID
// names for that thread, with SIGEV_THREAD_ID), so a thread that used
// period_ns of CPU gets a SIGPROF,
// delivered to that thread, interrupting what used the time. The handler
// passes the interrupted context and the current G to the profiler's tick.
//
// Why per-thread timers, as Go since 1.18 (its proposal 35057): the
// process-wide setitimer(ITIMER_PROF) counts the CPU of all threads but sends
// each expiry to one thread of the kernel's choosing, and loses expiries
// when several threads use CPU at once (it caps near 250 Hz on Linux), so
// busy programs were under-sampled and samples attributed to the wrong
// thread. A thread's own clock has neither problem. The cost is bookkeeping:
// each M registers its clock here at start (m_init_thread) and leaves at
// exit, outside every hot path. Every M is sampled (M0, bound and locked Ms
// included; weft::blocking calls run on their M, so they count); threads
// that are not Ms (sysmon, the program's own std::threads) are not.
//
// Registry. Each M's thread enters `threads` with its tid and its CPU clock
// when it starts, and leaves when it ends; both under ticks.lock. start()
// arms a timer for every registered thread; a thread that registers while
// ticks run arms its own. So every M that runs any time during a profile
// has a timer for that time. One thread may arm another's timer: the clock
// and the target tid are named separately (platform/cpu_timer.hpp).
//
// Invariants:
//   T1 tick != null iff a profile runs; set and cleared under ticks.lock.
//   T2 A registered thread has an armed timer iff tick != null (under
//      ticks.lock); a thread deletes its timer before it ends.
//   T3 After stop() returns, no handler runs tick: the handler counts itself
//      in `in_tick` before it loads tick (both seq_cst), and stop clears tick
//      and then waits for in_tick to be 0. A handler that counted itself
//      after that wait loads the cleared tick. (A SIGPROF still pending from
//      a deleted timer is such a handler.)
//   T4 A tick stands for 1 + si_overrun periods. The kernel checks CPU
//      timers at its scheduler tick, and when a thread runs in short
//      slices on a busy machine several periods may expire between two
//      checks; it sends one signal and counts the rest as overruns. Counting
//      them keeps a profile's CPU time right on a loaded machine.
//   T5 The handler stays installed once installed: a SIGPROF that arrives
//      after the last profile must not meet SIGPROF's default action, which
//      ends the process. It ignores signals that are not timer expiries
//      (si_code SI_TIMER), such as `kill -PROF` from outside.
//
// Off when not profiling: nothing runs per switch, per park or per syscall;
// the only costs are a lock at each M's start and end.
//
// EINTR: SA_RESTART restarts what the kernel can restart; the runtime's own
// waits tolerate the rest (futex_wait's callers loop on their word;
// netpoll's epoll_wait returns 0 on EINTR and its caller computes its
// delay again). The handler runs on the M's alternate signal stack
// (SA_ONSTACK): a goroutine's stack may be too small for an unwinder.
#include "runtime/cpu_ticks.hpp"

#include <signal.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <thread>
#include <vector>

#include "platform/cpu_timer.hpp"
#include "platform/process.hpp"
#include "platform/signals.hpp"
#include "platform/thread_mutex.hpp"

namespace weft::detail {

namespace {

struct thread_entry {
  long tid = 0;
  clockid_t clock{};
  timer_t timer{};
  bool armed = false;
};

struct ticks_t {
  thread_mutex lock;
  std::vector<thread_entry> threads GUARDED_BY(lock);
  std::int64_t period_ns GUARDED_BY(lock) = 0;
  bool handler_installed GUARDED_BY(lock) = false;
  // T1. Atomic: the handler reads it without the lock.
  std::atomic<cpu_tick_fn> tick{nullptr};
  std::atomic<int> in_tick{0};  // handlers between their count and their return (T3)
};

ticks_t& ticks() {
  static ticks_t* t = new ticks_t;  // M threads may outlive static destructors
  return *t;
}

void on_sigprof(int, siginfo_t* info, void* ucontext) {
  if (info == nullptr || info->si_code != SI_TIMER) return;  // T5
  const int saved = errno;
  ticks_t& t = ticks();
  t.in_tick.fetch_add(1, std::memory_order_seq_cst);
  if (cpu_tick_fn f = t.tick.load(std::memory_order_seq_cst)) f(ucontext, this_g(), 1 + std::max(info->si_overrun, 0));
  t.in_tick.fetch_sub(1, std::memory_order_release);
  errno = saved;
}

// Spreads the first expiry of each thread over one period, so that threads
// started together do not take their signals together.
std::int64_t first_expiry(long tid, std::int64_t period_ns) {
  std::uint64_t h = static_cast<std::uint64_t>(tid) * 0x9e3779b97f4a7c15ull;
  return 1 + static_cast<std::int64_t>((h >> 33) % static_cast<std::uint64_t>(period_ns));
}

// 0 or -errno. REQUIRES: e not armed.
int arm(thread_entry& e, std::int64_t period_ns) {
  int r = os::cpu_timer_create(e.clock, e.tid, SIGPROF, &e.timer);
  if (r < 0) return r;
  r = os::cpu_timer_arm(e.timer, first_expiry(e.tid, period_ns), period_ns);
  if (r < 0) {
    os::cpu_timer_delete(e.timer);
    return r;
  }
  e.armed = true;
  return 0;
}

void disarm(thread_entry& e) {
  if (!e.armed) return;
  os::cpu_timer_delete(e.timer);
  e.armed = false;
}

// REQUIRES(t.lock). False with *why if another handler owns SIGPROF.
bool install_handler(ticks_t& t, std::string* why) REQUIRES(t.lock) {
  if (t.handler_installed) return true;
  struct sigaction old {};
  if (int r = os::sig_handle_info(SIGPROF, on_sigprof, &old); r < 0) {
    *why = std::string("cannot handle SIGPROF: ") + std::strerror(-r);
    return false;
  }
  const bool had_one = (old.sa_flags & SA_SIGINFO) ? old.sa_sigaction != nullptr
                                                   : old.sa_handler != SIG_DFL && old.sa_handler != SIG_IGN;
  if (had_one) {
    ::sigaction(SIGPROF, &old, nullptr);  // give it back
    *why =
        "this process already handles SIGPROF (another profiler, such as gperftools?); weft's CPU profile "
        "needs it";
    return false;
  }
  t.handler_installed = true;
  return true;
}

}  // namespace

bool cpu_ticks_start(std::int64_t period_ns, cpu_tick_fn tick, std::string* why) {
  ticks_t& t = ticks();
  lock_scope lk(t.lock);
  if (t.tick.load(std::memory_order_relaxed) != nullptr) {
    *why = "a CPU profile is already running";
    return false;
  }
  if (!install_handler(t, why)) return false;
  t.period_ns = period_ns;
  t.tick.store(tick, std::memory_order_seq_cst);
  for (thread_entry& e : t.threads) {
    if (int r = arm(e, period_ns); r < 0) {
      *why = std::string("cannot start a CPU timer for thread ") + std::to_string(e.tid) + ": " + std::strerror(-r);
      t.tick.store(nullptr, std::memory_order_seq_cst);
      for (thread_entry& o : t.threads) disarm(o);
      return false;
    }
  }
  return true;
}

void cpu_ticks_stop() {
  ticks_t& t = ticks();
  {
    lock_scope lk(t.lock);
    t.tick.store(nullptr, std::memory_order_seq_cst);
    for (thread_entry& e : t.threads) disarm(e);
  }
  while (t.in_tick.load(std::memory_order_seq_cst) != 0) std::this_thread::yield();  // T3
}

void cpu_ticks_thread_start() {
  thread_entry e;
  e.tid = os::thread_id();
  if (os::thread_cpu_clock(&e.clock) < 0) return;  // not sampled; nothing else depends on it
  ticks_t& t = ticks();
  lock_scope lk(t.lock);
  if (t.tick.load(std::memory_order_relaxed) != nullptr) arm(e, t.period_ns);  // T2; unsampled if refused
  t.threads.push_back(e);
}

void cpu_ticks_thread_end() {
  const long tid = os::thread_id();
  ticks_t& t = ticks();
  lock_scope lk(t.lock);
  auto it = std::find_if(t.threads.begin(), t.threads.end(), [tid](const thread_entry& e) { return e.tid == tid; });
  if (it == t.threads.end()) return;
  disarm(*it);
  t.threads.erase(it);
}

}  // namespace weft::detail
