// src/runtime/due_timers.cpp: a scheduler's look at one P's timer heap,
// at every schedule (find_runnable_fast, the end of a park) and from Ms
// that steal, spin or wait for the earliest timer.
//
// Invariants: a timer is fired here by an M holding a P (its Gs go to that
// P's ring, as many as it has room for), or elsewhere by a thread without
// one (sysmon, for timers 1 ms overdue on a P that is not idle; the timer
// waiter when every P is busy), whose Gs go to the global queue. A look
// that reads no clock says only "not yet", never fires. The far-timer
// shortcut below is the owner's alone: its fields are read and written by
// the M that holds the P.
#include <algorithm>
#include <cstdint>

#include "platform/futex.hpp"
#include "runtime/runq.hpp"
#include "runtime/runtime.hpp"

namespace weft::detail {

namespace {

// Fires pp's timers due by now (when0: the earliest, read by the caller).
bool fire_due(p* pp, std::int64_t when0) {
  m* mp = this_m();
  std::int64_t now = 0;
  if (mp != nullptr && mp->now_hint != 0) {
    now = mp->now_hint;  // a sleeper's read, moments ago (m.now_hint)
    mp->now_hint = 0;
  } else {
    now = os::nanotime();
  }
  if (when0 > now) return false;
  // The fired timers' Gs go to this M's ring: fire no more than it has room
  // for (but one at least, so that due timers always move). The rest stay
  // due on the heap and fire at the next schedule, or on a thief's P
  // (steal_work). Firing all at once (100k sleepers due together)
  // overflowed the ring into the global queue again and again: at procs 2
  // both Ms then queued for its lock.
  int room = INT32_MAX;
  if (mp && mp->pp && !mp->pp->is_private) room = std::max(static_cast<int>(runq_room(mp->pp)), 1);
  return pp->timers.run_due(now, room) > 0;
}

// A timer further off than this, seen at a schedule, lets the owner's next
// far_timer_skips schedules skip the clock (run_due_timers_owned).
constexpr std::int64_t far_timer_ns = 20'000'000;
constexpr std::uint32_t far_timer_skips = 32;

}  // namespace

bool run_due_timers(p* pp) {
  std::int64_t when0 = pp->timers.when0.load(std::memory_order_acquire);
  if (when0 == INT64_MAX) return false;
  // The coarse clock costs a few ns and says "not yet" for any timer
  // further off than its lag; the precise one is read only near the end.
  if (when0 > os::nanotime_coarse() + os::nanotime_coarse_lag()) return false;
  return fire_due(pp, when0);
}

// Every schedule comes here (a pick, the end of a park), and a program with
// any timer armed paid a clock read each time: even the coarse clock was 8%
// of pingpong's time in a program attached to weftd, whose heartbeat is a
// timer 250 ms off. So a timer found more than far_timer_ns off lets the
// owner's next far_timer_skips checks skip the clock while it stays the
// earliest (a timer armed sooner changes when0 and ends it). Fast schedules
// reach the clock again long before such a timer is due. Slow ones (each
// longer than far_timer_ns / far_timer_skips) can leave it late, and then
// sysmon fires it once it is 1 ms overdue, as for a P whose G never
// schedules. The fields are the owner's: no other M reads them.
bool run_due_timers_owned_slow(p* pp, std::int64_t when0) {
  if (pp->far_timer_skips > 0 && when0 == pp->far_timer_when) {
    --pp->far_timer_skips;
    return false;
  }
  std::int64_t coarse = os::nanotime_coarse();
  if (when0 - coarse > far_timer_ns) {
    pp->far_timer_when = when0;
    pp->far_timer_skips = far_timer_skips;
    return false;
  }
  if (when0 > coarse + os::nanotime_coarse_lag()) return false;
  return fire_due(pp, when0);
}

}  // namespace weft::detail
