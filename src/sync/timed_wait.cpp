// src/sync/timed_wait.cpp: the deadline and cancel side of sync_waiter. The
// protocol is described at the top of timed_wait.hpp.
//
// A goroutine's deadline is a runtime timer on its stack, armed while the
// queue lock is still held: its fire function needs that lock, which the
// parking goroutine releases only once its context is saved, so the fire
// can never ready a goroutine that is still running. (Arming after the
// lock is released, in park's after-switch step, would let a waker ready
// the goroutine and the goroutine stop a timer not armed yet.) This relies
// on park not running due timers before its switch, while the parking G
// still holds the queue lock (the fire would spin on it on its own thread):
// proc.cpp's park leaves them to finish_switch, after the unlock.
//
// A plain thread sleeps on its waiter's futex word with a timeout instead;
// when the timeout passes it cancels its own wait, and if a waker beat it
// to that, waits (without a limit) for the wake-up already on its way.
#include "sync/timed_wait.hpp"

#include "platform/futex.hpp"
#include "runtime/timer.hpp"

namespace weft::detail {

namespace {

void fire_timeout(timer* t) {
  auto* w = static_cast<sync_waiter*>(t->arg);
  g* gp = w->gp;
  bool wake_it = cancel_wait(*w, wait_outcome::timeout) == cancel_result::taken_wake;
  timer_fire_done(t);  // w may vanish after this once a waker has won
  if (wake_it) ready(gp);  // we took it off: nothing else will wake it
}

wait_outcome park_thread(sync_waiter& w, std::int64_t deadline) {
  spin_unlock(*w.lock);
  while (w.woken.load(std::memory_order_acquire) == 0) {
    std::int64_t left = -1;
    if (deadline != INT64_MAX) {
      left = deadline - os::nanotime();
      if (left <= 0) {
        if (cancel_wait(w, wait_outcome::timeout) != cancel_result::lost) return wait_outcome::timeout;
        deadline = INT64_MAX;  // a waker took it first: its wake-up is on the way
        continue;
      }
    }
    os::futex_wait(&w.woken, 0, left);
  }
  return w.outcome;
}

}  // namespace

std::int64_t deadline_after(std::int64_t d) noexcept {
  std::int64_t now = os::nanotime();
  if (d <= 0) return now;
  return d >= INT64_MAX - now ? INT64_MAX : now + d;
}

cancel_result cancel_wait(sync_waiter& w, wait_outcome o) {
  std::atomic<std::uint32_t>* lock = w.lock;
  spin_lock(*lock);
  if (!w.queued) {
    spin_unlock(*lock);
    return cancel_result::lost;
  }
  w.unlink(w.owner, &w);
  bool wake_it = settle(&w, o);
  spin_unlock(*lock);
  return wake_it ? cancel_result::taken_wake : cancel_result::taken;
}

wait_outcome park_until(sync_waiter& w, const char* reason, std::int64_t deadline) {
  std::atomic<std::uint32_t>& lock = *w.lock;
  if (!w.queued) {  // ended before we got here
    spin_unlock(lock);
    return w.outcome;
  }
  if (deadline != INT64_MAX && os::nanotime() >= deadline) {
    w.unlink(w.owner, &w);
    settle(&w, wait_outcome::timeout);
    spin_unlock(lock);
    return wait_outcome::timeout;
  }
  w.parked = true;
  if (w.gp == nullptr) return park_thread(w, deadline);
  if (deadline == INT64_MAX) {
    block_on(w, reason, lock);
    return w.outcome;
  }
  timer t;
  t.when = deadline;
  t.fire = fire_timeout;
  t.arg = &w;
  timer_start(&t);
  block_on(w, reason, lock);
  if (!timer_stop(&t)) timer_wait_fire(&t);  // a fire that lost may still hold t
  return w.outcome;
}

}  // namespace weft::detail
