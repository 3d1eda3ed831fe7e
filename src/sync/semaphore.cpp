// src/sync/semaphore.cpp: the core of weft::counting_semaphore, and of
// shared_mutex's reader and writer queues (Go's runtime semaphores).
//
// count_ holds the free permits, or -1 while there are none and waiters are
// queued: one word says both, so that release is one CAS when nobody waits
// and its last touch of the semaphore is that CAS (a semaphore may be
// destroyed as soon as the acquire it released returns, as a wait_group may).
//   - acquire fast path: CAS count_ from c > 0 to c - 1.
//   - release fast path: CAS count_ from c >= 0 to c + n.
//   - slow paths, under lock_: an acquirer that finds 0 sets -1 and queues;
//     a release that finds -1 hands its permits straight to the queued
//     waiters, in FIFO order, and stores what is left once the queue is
//     empty; a waiter that times out unlinks itself and stores 0 if it was
//     the last.
// Invariant: count_ == -1 exactly when the queue is not empty. The fast
// paths never touch a negative count_, so it leaves -1 only under lock_.
// A caller that finds a free permit takes it without queueing; permits go
// straight to waiters only while some wait. Hand-off keeps a waiter from
// being overtaken once it is queued (FIFO among waiters); letting newcomers
// take free permits keeps the common case one CAS.
//
// Timed acquires (and the stop/timeout protocol) are timed_wait.hpp's.
#include <weft/semaphore.hpp>

#include "sync/timed_wait.hpp"

namespace weft::detail {

std::int64_t semaphore_core::deadline_after(std::chrono::nanoseconds d) noexcept {
  return detail::deadline_after(d.count());
}

void semaphore_core::unlink(void* self, sync_waiter* w) {
  auto* s = static_cast<semaphore_core*>(self);
  queue_ref qv{s->head_, s->tail_};
  waitq q = qv.load();
  q.remove(w);
  qv.store(q);
  if (q.empty()) s->count_.store(0, std::memory_order_relaxed);  // was -1
}

bool semaphore_core::acquire_slow(const char* reason, std::int64_t deadline) {
  if (deadline != INT64_MAX && os::nanotime() >= deadline) return false;
  forbid_parking_in_blocking(reason);
  sync_waiter w;
  init_waiter(w);
  w.lock = &lock_;
  w.unlink = &semaphore_core::unlink;
  w.owner = this;
  spin_lock(lock_);
  std::ptrdiff_t c = count_.load(std::memory_order_relaxed);
  for (;;) {
    if (c > 0) {
      if (count_.compare_exchange_weak(c, c - 1, std::memory_order_acquire, std::memory_order_relaxed)) {
        spin_unlock(lock_);
        return true;
      }
      continue;
    }
    if (c < 0 || count_.compare_exchange_weak(c, -1, std::memory_order_relaxed)) break;
  }
  queue_ref qv{head_, tail_};
  waitq q = qv.load();
  q.push_back(&w);
  qv.store(q);
  w.queued = true;
  // A permit handed to us comes with the releaser's writes: its release of
  // lock_ happens before our wake-up.
  return park_until(w, reason, deadline) == wait_outcome::woken;
}

void semaphore_core::release(std::ptrdiff_t n, std::ptrdiff_t max) {
  if (n < 0) throw misuse_error("sync: negative semaphore release");
  std::ptrdiff_t c = count_.load(std::memory_order_relaxed);
  while (c >= 0) {
    if (n > max - c) throw misuse_error("sync: semaphore release beyond max");
    if (count_.compare_exchange_weak(c, c + n, std::memory_order_release, std::memory_order_relaxed)) return;
  }
  spin_lock(lock_);
  c = count_.load(std::memory_order_relaxed);
  while (c >= 0) {  // the waiters timed out meanwhile
    if (n > max - c) {
      spin_unlock(lock_);
      throw misuse_error("sync: semaphore release beyond max");
    }
    if (count_.compare_exchange_weak(c, c + n, std::memory_order_release, std::memory_order_relaxed)) {
      spin_unlock(lock_);
      return;
    }
  }
  if (n > max) {
    spin_unlock(lock_);
    throw misuse_error("sync: semaphore release beyond max");
  }
  queue_ref qv{head_, tail_};
  waitq q = qv.load();
  waitq woken;  // in FIFO order, linked through next
  std::ptrdiff_t left = n;
  for (; left > 0 && !q.empty(); --left) {
    auto* w = static_cast<sync_waiter*>(q.pop_front());
    if (settle(w, wait_outcome::woken)) woken.push_back(w);
  }
  if (q.empty()) count_.store(left, std::memory_order_release);
  qv.store(q);
  spin_unlock(lock_);  // the last touch of *this
  for (waiter* w = woken.head; w != nullptr;) {
    waiter* next = w->next;  // read before the wake: w may vanish after it
    wake(w);
    w = next;
  }
}

}  // namespace weft::detail
