// src/platform/cpu_timer.cpp: timer_create on thread CPU clocks.
#include "platform/cpu_timer.hpp"

#include <pthread.h>
#include <signal.h>

#include <cerrno>

#include "platform/checked.hpp"

namespace weft::detail::os {

int thread_cpu_clock(clockid_t* out) noexcept {
  int r = ::pthread_getcpuclockid(::pthread_self(), out);  // returns the error, no errno
  return -r;
}

int cpu_timer_create(clockid_t clock, long tid, int sig, timer_t* out) noexcept {
  struct sigevent ev {};
  ev.sigev_notify = SIGEV_THREAD_ID;
  ev.sigev_signo = sig;
  // sigev_notify_thread_id, which glibc 2.36 names only as this member.
  ev._sigev_un._tid = static_cast<pid_t>(tid);
  return checked([&] { return ::timer_create(clock, &ev, out); });
}

int cpu_timer_arm(timer_t t, std::int64_t first_ns, std::int64_t interval_ns) noexcept {
  struct itimerspec spec {};
  spec.it_value.tv_sec = static_cast<time_t>(first_ns / 1'000'000'000);
  spec.it_value.tv_nsec = static_cast<long>(first_ns % 1'000'000'000);
  spec.it_interval.tv_sec = static_cast<time_t>(interval_ns / 1'000'000'000);
  spec.it_interval.tv_nsec = static_cast<long>(interval_ns % 1'000'000'000);
  return checked([&] { return ::timer_settime(t, 0, &spec, nullptr); });
}

void cpu_timer_delete(timer_t t) noexcept {
  checked([&] { return ::timer_delete(t); });
}

}  // namespace weft::detail::os
