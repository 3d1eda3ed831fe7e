// src/time/sleep.cpp: this_goroutine::sleep_for and sleep_until.
//
// A sleeping goroutine arms a timer that lives on its own stack, on its own
// P's heap. The timer is armed in the park's after-switch step, once the G's
// context is saved, so a timer fired at once by another M can never ready a
// G that is still running.
#include <algorithm>
#include <mutex>
#include <thread>

#include "platform/futex.hpp"
#include "runtime/runtime.hpp"
#include "runtime/timer.hpp"
#include "time/sleep.hpp"
#include <weft/go.hpp>
#include <weft/timer.hpp>

namespace weft {

namespace detail {

namespace {

void fire_ready(timer* t) {
  g* gp = static_cast<g*>(t->arg);
  timer_fire_done(t);
  ready(gp);
}

void arm_after_park(void* arg) { timer_start(static_cast<timer*>(arg)); }

// now: the clock as the caller read it for `when`; the park's look at the
// timers uses it instead of reading the clock again (m.now_hint).
void park_until(g* gp, std::int64_t when, std::int64_t now) {
  timer t;
  t.when = when;
  t.fire = fire_ready;
  t.arg = gp;
  this_m()->now_hint = now;
  park("sleep", arm_after_park, &t);
}

}  // namespace

void sleep_until_ns(std::int64_t when) {
  g* gp = this_g();
  std::int64_t now = os::nanotime();
  if (gp == nullptr) {
    if (when > now) std::this_thread::sleep_for(std::chrono::nanoseconds(when - now));
    return;
  }
  forbid_parking_in_blocking("this_goroutine::sleep");
  if (when <= now) {
    yield_now();
    return;
  }
  park_until(gp, when, now);
}

}  // namespace detail

namespace this_goroutine {

// One clock read, not two: a positive duration's deadline is in the future
// by construction (a timer already due when armed simply fires at once),
// and the park's look at the timers reuses the read.
void sleep_for(std::chrono::nanoseconds d) {
  detail::g* gp = detail::this_g();
  if (gp == nullptr || d.count() <= 0) {
    detail::sleep_until_ns(detail::deadline_after(d));
    return;
  }
  detail::forbid_parking_in_blocking("this_goroutine::sleep_for");
  std::int64_t now = detail::os::nanotime();
  detail::park_until(gp, detail::deadline_from(now, d), now);
}

void sleep_until(std::chrono::steady_clock::time_point t) { detail::sleep_until_ns(detail::deadline_at(t)); }

}  // namespace this_goroutine
}  // namespace weft
