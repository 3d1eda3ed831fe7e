// src/sync/timed_wait.hpp: a queued waiter that a waker, a deadline or a stop
// request can end, exactly one of them.
//
// condition_variable and the semaphore queue a sync_waiter under their own
// spinlock (the queue lock). Up to three parties then race to end the wait:
// a waker (notify, release), the deadline (a runtime timer for a goroutine, a
// futex timeout for a plain thread) and a stop request (a std::stop_callback).
// Each decides under the queue lock: the one that finds the waiter still
// queued takes it off, records its outcome and wakes it; the others find it
// gone and do nothing. So there is never a second wake-up, and a waiter never
// returns while a wake-up of it is still on its way.
//
// Waking only a parked waiter: a condition_variable waiter is queued before
// it parks (it queues, releases the user's mutex, then parks). A party that
// takes it off the queue in between records the outcome without waking it;
// the waiter sees the outcome under the queue lock and does not park. The
// queue lock of a parking goroutine is released only once its context is
// saved (park.hpp), so `parked`, set under that lock, means it can be readied.
//
// Lifetime: the timer's fire function and a stop callback touch the waiter
// and the queue lock. park_until does not return before its timer's fire is
// over (timer_stop, else timer_wait_fire); the caller keeps its stop_callback
// alive until park_until returns (its destructor waits for a callback that is
// running). The owner of the queue must outlive all of that.
#pragma once

#include <atomic>
#include <cstdint>

#include "runtime/park.hpp"

namespace weft::detail {

enum class wait_outcome : std::uint8_t { pending, woken, timeout, stopped };

struct sync_waiter : waiter {
  std::atomic<std::uint32_t>* lock = nullptr;  // the queue lock
  // Takes w off the owner's queue and updates the owner's state to match.
  // REQUIRES: *lock held, w queued.
  void (*unlink)(void* owner, sync_waiter* w) = nullptr;
  void* owner = nullptr;
  // Guarded by *lock. Not annotated: sync/'s queue locks are atomic words
  // inside public classes (weft/condition_variable.hpp, weft/semaphore.hpp),
  // which clang's analysis does not know as locks.
  bool queued = false;
  bool parked = false;
  wait_outcome outcome = wait_outcome::pending;
};

// Records the outcome of a waiter just taken off its queue. Returns true if
// the caller must wake(w) once it has released the lock (w parked).
// REQUIRES: *w->lock held; w was queued and the caller unlinked it.
inline bool settle(sync_waiter* w, wait_outcome o) {
  w->queued = false;
  w->outcome = o;
  return w->parked;
}

// A waitq kept as two void* members of a public class (whose header cannot
// name waiter): load it, change it, store it back. REQUIRES: the queue lock.
struct queue_ref {
  void*& head;
  void*& tail;
  waitq load() const { return waitq{static_cast<waiter*>(head), static_cast<waiter*>(tail)}; }
  void store(const waitq& q) const {
    head = q.head;
    tail = q.tail;
  }
};

enum class cancel_result : std::uint8_t { lost, taken, taken_wake };

// Ends w's wait with outcome o if it is still queued (a timeout, a stop).
// taken_wake: the caller must wake(w) (w is parked and nothing else will).
// Takes *w.lock.
cancel_result cancel_wait(sync_waiter& w, wait_outcome o);

// os::nanotime() + d, saturated: INT64_MAX (no deadline) when it would pass
// it; now when d <= 0.
std::int64_t deadline_after(std::int64_t d) noexcept;

// Parks the caller on w until a waker, the deadline (os::nanotime; INT64_MAX:
// none) or a cancel_wait ends the wait, and returns the outcome. If the wait
// already ended (w taken off before it parked), returns at once.
// REQUIRES: *w.lock held; w was queued by the caller. Releases *w.lock.
wait_outcome park_until(sync_waiter& w, const char* reason, std::int64_t deadline);

}  // namespace weft::detail
