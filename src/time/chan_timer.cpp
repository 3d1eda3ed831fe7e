// src/time/chan_timer.cpp: timers that send on a channel: weft::after,
// weft::timer and weft::ticker (include/weft/timer.hpp).
//
// A chan_timer is a runtime timer (runtime/timer.hpp: a node on a P's heap), a
// channel of capacity one, and a small state machine under the chan_timer's
// own lock. The user's handle (timer or ticker) and the heap share it:
//   owned      a handle refers to it;
//   in_flight  the heap side has the node: it is on a heap, or run_due took it
//              and its fire function has not let go of it yet;
//   armed      the user's arming is not over: its value (or, for a ticker,
//              its next tick) is still to come;
//   seq        the user's arming number, bumped by every stop and reset;
//   node_seq   the arming the node carries.
// The chan_timer is freed by whoever makes "!owned && !in_flight" true, after
// letting go of the lock. weft::after's is never owned: the fire frees it.
//
// The stop/fire protocol (Go 1.23's). A fire function sends only under the
// lock and only if node_seq == seq; stop and reset bump seq and drain the
// channel under the same lock. So whichever of a racing fire and a stop gets
// the lock first, no value from before the stop is received after it: the
// fire either sent first (and stop drains the value) or finds itself stale.
// stop returns true if the arming was not over, or if it drained a value:
// every arming ends with exactly one of "its value was received" and "the
// stop or reset that ended it returned true".
//
// A reset while the node is with a fire function cannot re-arm the node (the
// fire still uses it, and timer.hpp's firing flag would go wrong if it were
// fired twice at once): it records the new deadline, and the fire function,
// finding itself stale but the timer armed, re-arms the node itself. Tickers
// re-arm the same way, from the fire function, at the first multiple of the
// period after now: no drift, no burst after a stall; a tick that finds the
// buffer full is dropped.
//
// Lock order: chan_timer lock, then the channel's lock, a heap lock, or the
// scheduler lock.
//
// Rejected: one fresh node per arming (an allocation per reset, and a stale
// node left on the heap until it fires); waiting for a running fire in reset
// (timer_wait_fire), which would make reset block and two resets racing arm
// the node twice.
#include <weft/timer.hpp>

#include <algorithm>
#include <memory>
#include <mutex>
#include <string>

#include "runtime/runtime.hpp"
#include "time/sleep.hpp"
#include <weft/errors.hpp>

namespace weft::detail {

using time_point = timer_clock::time_point;

struct chan_timer {
  timer node;
  spinlock lock;
  bool owned GUARDED_BY(lock) = true;
  bool in_flight GUARDED_BY(lock) = false;
  bool armed GUARDED_BY(lock) = false;
  std::uint32_t seq GUARDED_BY(lock) = 0;
  std::uint32_t node_seq GUARDED_BY(lock) = 0;
  std::int64_t when GUARDED_BY(lock) = 0;  // the current arming's deadline
  std::int64_t period GUARDED_BY(lock) = 0;  // 0: one-shot
  chan<time_point> ch{1};
};

namespace {

constexpr std::int64_t never = INT64_MAX - 1;  // as sleep's: INT64_MAX means "no timer" to the heap

void require_runtime(const char* what) {
  if (!sched.running.load(std::memory_order_acquire))
    throw misuse_error(std::string(what) + " needs weft::run to be active");
}

time_point to_time_point(std::int64_t ns) {
  return time_point(std::chrono::duration_cast<timer_clock::duration>(std::chrono::nanoseconds(ns)));
}

// The first when + k * period (k >= 1) after now.
std::int64_t next_tick(std::int64_t when, std::int64_t period, std::int64_t now) {
  std::int64_t k = now >= when ? (now - when) / period + 1 : 1;
  if (k > (never - when) / period) return never;
  return when + k * period;
}

// A user who closed the channel gets nothing.
void deliver(chan_timer* ct, std::int64_t when) REQUIRES(ct->lock) {
  time_point v = to_time_point(std::max(os::nanotime(), when));
  try {
    chan_try_send_no_yield(ct->ch.core(), &v);  // full: a tick nobody took yet; drop this one
  } catch (const closed_channel_error&) {}
}

// Empties the channel; true if it held a value.
bool drain(chan_timer* ct) REQUIRES(ct->lock) {
  bool any = false;
  time_point v;
  bool closed = false;
  while (chan_try_recv_no_yield(ct->ch.core(), &v, &closed)) any = true;
  return any;
}

// REQUIRES: the node not in flight.
void arm_node(chan_timer* ct) REQUIRES(ct->lock) {
  ct->node.when = ct->when;
  ct->node_seq = ct->seq;
  timer_start(&ct->node);  // a fire on another M waits for our lock
  ct->in_flight = true;
}

// Ends the current arming; true if it was pending.
bool stop_locked(chan_timer* ct) REQUIRES(ct->lock) {
  bool pending = ct->armed;
  ct->armed = false;
  ++ct->seq;
  if (ct->in_flight && timer_stop(&ct->node)) ct->in_flight = false;
  // A fire in flight now finds itself stale and lets go of the node.
  if (drain(ct)) pending = true;
  return pending;
}

void fire(timer* n) {
  auto* ct = static_cast<chan_timer*>(n->arg);
  lock_scope lk(ct->lock);
  bool rearm = false;
  if (ct->node_seq == ct->seq && ct->armed) {
    deliver(ct, n->when);
    if (ct->period > 0) {
      ct->when = next_tick(n->when, ct->period, os::nanotime());
      rearm = true;
    } else {
      ct->armed = false;
    }
  } else if (ct->armed) {
    rearm = true;  // reset while this fire was on its way: carry the new arming
  }
  // The node is free of run_due from here: mark it so before it may go back
  // on a heap and be taken by another M.
  timer_fire_done(n);
  bool free_it = false;
  if (rearm) {
    arm_node(ct);
  } else {
    ct->in_flight = false;
    free_it = !ct->owned;
  }
  lk.unlock();
  if (free_it) delete ct;
}

// The end of weft::run with the node still on a heap.
void drop(timer* n) {
  auto* ct = static_cast<chan_timer*>(n->arg);
  lock_scope lk(ct->lock);
  ct->in_flight = false;
  bool free_it = !ct->owned;
  lk.unlock();
  if (free_it) delete ct;
}

// The channel is copied to *out under the lock: an unowned chan_timer may be
// fired and freed on another M as soon as it is let go.
chan_timer* make(std::int64_t when, std::int64_t period, bool owned, chan<time_point>* out = nullptr) {
  auto ct = std::make_unique<chan_timer>();
  ct->node.fire = fire;
  ct->node.drop = drop;
  ct->node.arg = ct.get();
  if (out) *out = ct->ch;
  lock_scope lk(ct->lock);
  ct->owned = owned;
  ct->armed = true;
  ct->when = when;
  ct->period = period;
  arm_node(ct.get());
  return ct.release();  // before the unlock
}

}  // namespace

std::int64_t deadline_from(std::int64_t now, std::chrono::nanoseconds d) noexcept {
  std::int64_t n = d.count();
  return n > never - now ? never : now + n;
}

std::int64_t deadline_after(std::chrono::nanoseconds d) noexcept { return deadline_from(os::nanotime(), d); }

std::int64_t deadline_at(timer_clock::time_point t) noexcept {
  // steady_clock is CLOCK_MONOTONIC in libstdc++ and libc++: nanotime's clock.
  auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
  return std::min(ns, never);
}

chan_timer* chan_timer_make(std::int64_t when) {
  require_runtime("weft::timer");
  return make(when, 0, true);
}

chan_timer* chan_ticker_make(std::chrono::nanoseconds period) {
  require_runtime("weft::ticker");
  if (period.count() <= 0) throw std::invalid_argument("weft::ticker: non-positive period");
  return make(deadline_after(period), period.count(), true);
}

chan<time_point> chan_timer_after(std::int64_t when) {
  require_runtime("weft::after");
  chan<time_point> out = nullptr;
  make(when, 0, false, &out);  // unowned: the fire frees it
  return out;
}

chan<time_point> chan_timer_channel(chan_timer* ct) { return ct->ch; }

bool chan_timer_stop(chan_timer* ct) {
  lock_scope lk(ct->lock);
  return stop_locked(ct);
}

bool chan_timer_reset(chan_timer* ct, std::int64_t when) {
  if (ct == nullptr) throw misuse_error("weft::timer: reset of a moved-from timer");
  require_runtime("weft::timer");
  lock_scope lk(ct->lock);
  bool pending = stop_locked(ct);
  ct->armed = true;
  ct->when = when;
  if (!ct->in_flight) arm_node(ct);  // else the running fire re-arms it
  return pending;
}

void chan_ticker_reset(chan_timer* ct, std::chrono::nanoseconds period) {
  if (ct == nullptr) throw misuse_error("weft::ticker: reset of a moved-from ticker");
  require_runtime("weft::ticker");
  if (period.count() <= 0) throw std::invalid_argument("weft::ticker: non-positive period");
  lock_scope lk(ct->lock);
  stop_locked(ct);
  ct->armed = true;
  ct->when = deadline_after(period);
  ct->period = period.count();
  if (!ct->in_flight) arm_node(ct);
}

void chan_timer_release(chan_timer* ct) noexcept {
  lock_scope lk(ct->lock);
  stop_locked(ct);
  ct->owned = false;
  bool free_it = !ct->in_flight;
  lk.unlock();
  if (free_it) delete ct;
}

}  // namespace weft::detail
