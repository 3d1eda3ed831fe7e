// src/sync/condition_variable.cpp: weft::condition_variable.
//
// A FIFO of sync_waiters under lock_ (timed_wait.hpp). A wait queues its
// waiter while it still holds the user's mutex, then releases the mutex, then
// parks: a notify that comes after the waiter's caller saw its condition
// false (under that mutex) therefore always finds the waiter queued; that is
// what rules out lost wake-ups. Because the waiter is queued before it parks,
// notify, the deadline and a stop request each take it off under lock_ and
// wake it only if it has parked (timed_wait.hpp): exactly one of them ends
// each wait, and a goroutine that is still running is never readied.
// (Rejected: parking with lock_ held across the user's unlock. That would
// nest the mutex's queue lock and its wake-ups inside lock_.)
//
// Stop requests: the stop_callback is registered after the waiter is queued,
// so one that runs at once in its constructor (stop already requested)
// finds the waiter and ends its wait, as one from another thread does later.
//
// Destruction: std lets a condition_variable be destroyed once its waiters
// are notified, before they return. A woken waiter may still take lock_ (a
// notify that beat it to parking, a timer fire racing the notify), so users_
// counts waits in progress, and the destructor waits for it to reach zero,
// as glibc's pthread_cond_destroy does. A wait's last touch of *this is the
// decrement; it takes the user's mutex again only after it.
//
// notify with nobody queued reads waiters_ and returns: a waiter that matters
// to it queued before the notifier took the user's mutex, so the mutex orders
// the two.
#include <weft/condition_variable.hpp>

#include <sched.h>

#include <optional>

#include "sync/timed_wait.hpp"
#include <weft/errors.hpp>

namespace weft {

using detail::sync_waiter;
using detail::wait_outcome;

namespace {

// The stop_callback of a stoppable wait.
struct stop_wake {
  sync_waiter* w;
  void operator()() const noexcept {
    if (detail::cancel_wait(*w, wait_outcome::stopped) == detail::cancel_result::taken_wake) detail::wake(w);
  }
};

}  // namespace

condition_variable::~condition_variable() {
  while (users_.load(std::memory_order_acquire) != 0) {
    if (detail::this_g())
      detail::yield_now();
    else
      sched_yield();
  }
}

std::int64_t condition_variable::deadline_after(std::chrono::nanoseconds d) noexcept {
  return detail::deadline_after(d.count());
}

void condition_variable::unlink(void* self, sync_waiter* w) {
  auto* cv = static_cast<condition_variable*>(self);
  detail::queue_ref qr{cv->head_, cv->tail_};
  detail::waitq q = qr.load();
  q.remove(w);
  qr.store(q);
  cv->waiters_.fetch_sub(1, std::memory_order_relaxed);
}

void condition_variable::notify_one() noexcept {
  if (waiters_.load(std::memory_order_acquire) == 0) return;
  detail::spin_lock(lock_);
  detail::queue_ref qr{head_, tail_};
  detail::waitq q = qr.load();
  auto* w = static_cast<sync_waiter*>(q.pop_front());
  bool wake_it = false;
  if (w) {
    waiters_.fetch_sub(1, std::memory_order_relaxed);
    wake_it = detail::settle(w, wait_outcome::woken);
  }
  qr.store(q);
  detail::spin_unlock(lock_);
  if (wake_it) detail::wake(w);
}

void condition_variable::notify_all() noexcept {
  if (waiters_.load(std::memory_order_acquire) == 0) return;
  detail::spin_lock(lock_);
  detail::queue_ref qr{head_, tail_};
  detail::waitq q = qr.load();
  detail::waitq woken;  // the parked ones, in FIFO order
  while (auto* w = static_cast<sync_waiter*>(q.pop_front())) {
    if (detail::settle(w, wait_outcome::woken)) woken.push_back(w);
  }
  waiters_.store(0, std::memory_order_relaxed);
  qr.store(q);
  detail::spin_unlock(lock_);
  for (detail::waiter* w = woken.head; w != nullptr;) {
    detail::waiter* next = w->next;  // read before the wake: w may vanish after it
    detail::wake(w);
    w = next;
  }
}

condition_variable::outcome condition_variable::wait_core(std::unique_lock<mutex>& lk, std::int64_t deadline,
                                                          const std::stop_token* st) {
  if (!lk.owns_lock()) throw misuse_error("sync: condition_variable wait without its mutex locked");
  detail::forbid_parking_in_blocking("condition_variable.wait");
  users_.fetch_add(1, std::memory_order_relaxed);
  sync_waiter w;
  detail::init_waiter(w);
  w.lock = &lock_;
  w.unlink = &condition_variable::unlink;
  w.owner = this;
  detail::spin_lock(lock_);
  detail::queue_ref qr{head_, tail_};
  detail::waitq q = qr.load();
  q.push_back(&w);
  qr.store(q);
  w.queued = true;
  waiters_.fetch_add(1, std::memory_order_relaxed);
  detail::spin_unlock(lock_);
  try {
    lk.unlock();
  } catch (...) {  // the mutex was not locked after all: misuse
    lk.release();  // nor should the unique_lock's destructor unlock it
    detail::cancel_wait(w, wait_outcome::stopped);  // not parked: nobody wakes it
    users_.fetch_sub(1, std::memory_order_release);
    throw;
  }
  wait_outcome o;
  {
    std::optional<std::stop_callback<stop_wake>> on_stop;
    if (st && st->stop_possible()) on_stop.emplace(*st, stop_wake{&w});
    detail::spin_lock(lock_);
    o = detail::park_until(w, "condition_variable.wait", deadline);
  }  // ~stop_callback waits for a callback still running on another thread
  users_.fetch_sub(1, std::memory_order_release);  // the last touch of *this
  lk.lock();
  switch (o) {
    case wait_outcome::timeout: return outcome::timeout;
    case wait_outcome::stopped: return outcome::stopped;
    default: return outcome::notified;
  }
}

}  // namespace weft
