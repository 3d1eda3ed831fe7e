// src/platform/cpu_timer.hpp: POSIX timers on a thread's CPU clock, behind
// the platform seam (runtime/cpu_ticks.cpp is the user). Calls that can
// fail return 0 or -errno and leave errno alone.
//
// A timer counts the CPU time (user and system) of one thread and, each
// time an interval of it has been used, sends a signal to that same thread
// (SIGEV_THREAD_ID). The clock and the thread are named separately, so one
// thread may arm timers for others: the clock of a thread comes from
// thread_cpu_clock, called on that thread.
#pragma once

#include <time.h>

#include <cstdint>

namespace weft::detail::os {

// The calling thread's CPU-time clock (pthread_getcpuclockid of itself).
int thread_cpu_clock(clockid_t* out) noexcept;
// A timer on `clock` whose expiries send `sig` to thread `tid` (which must
// be a thread of this process), with si_code SI_TIMER. Disarmed until
// cpu_timer_arm.
int cpu_timer_create(clockid_t clock, long tid, int sig, timer_t* out) noexcept;
// Fires first after first_ns of the clock's time, then every interval_ns.
int cpu_timer_arm(timer_t t, std::int64_t first_ns, std::int64_t interval_ns) noexcept;
// Disarms and frees t. A signal it already sent may still be pending.
void cpu_timer_delete(timer_t t) noexcept;

}  // namespace weft::detail::os
