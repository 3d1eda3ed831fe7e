// src/sync/mutex.cpp: weft::mutex.
//
// state_: bit 0 locked, bit 1 "the queue is not empty". The fast paths are
// one CAS each. A goroutine that finds the mutex locked spins a little (when
// there is another P to release it), then queues under qlock_ and parks.
// unlock clears bit 0 and, if bit 1 is set, wakes the queue's head, which
// competes for the lock again; a woken waiter that loses goes back to the
// front of the queue, not the back. Bit 1 only changes under qlock_, with
// the queue, so it is exact. (Go's starvation mode, a waiter passed over for
// more than 1 ms gets the lock handed to it, comes with the sync issue.)
#include <weft/mutex.hpp>

#include "runtime/park.hpp"
#include <weft/errors.hpp>

namespace weft {

using detail::waiter;

namespace {
constexpr std::uint32_t locked = 1, queued = 2;

struct queue_view {
  void*& head;
  void*& tail;
  detail::waitq load() const { return detail::waitq{static_cast<waiter*>(head), static_cast<waiter*>(tail)}; }
  void store(const detail::waitq& q) const {
    head = q.head;
    tail = q.tail;
  }
};
}  // namespace

void mutex::lock() {
  std::uint32_t expected = 0;
  if (state_.compare_exchange_weak(expected, locked, std::memory_order_acquire, std::memory_order_relaxed)) return;
  lock_slow();
}

bool mutex::try_lock() noexcept {
  std::uint32_t s = state_.load(std::memory_order_relaxed);
  while (!(s & locked)) {
    if (state_.compare_exchange_weak(s, s | locked, std::memory_order_acquire, std::memory_order_relaxed)) return true;
  }
  return false;
}

void mutex::lock_slow() {
  bool multi = detail::sched.procs > 1 || detail::this_g() == nullptr;
  for (int spin = 0; multi && spin < 64; ++spin) {
    if (try_lock()) return;
    detail::cpu_relax();
  }
  bool woken_before = false;
  for (;;) {
    detail::spin_lock(qlock_);
    std::uint32_t s = state_.load(std::memory_order_relaxed);
    for (;;) {
      if (!(s & locked)) {
        if (state_.compare_exchange_weak(s, s | locked, std::memory_order_acquire, std::memory_order_relaxed)) {
          detail::spin_unlock(qlock_);
          return;
        }
        continue;
      }
      if (s & queued) break;
      if (state_.compare_exchange_weak(s, s | queued, std::memory_order_relaxed)) break;
    }
    waiter w;
    detail::init_waiter(w);
    queue_view qv{head_, tail_};
    detail::waitq q = qv.load();
    if (woken_before) q.push_front(&w); else q.push_back(&w);
    qv.store(q);
    detail::block_on(w, "mutex.lock", qlock_);
    woken_before = true;
  }
}

void mutex::unlock() {
  std::uint32_t expected = locked;
  if (state_.compare_exchange_strong(expected, 0, std::memory_order_release, std::memory_order_relaxed)) return;
  unlock_slow();
}

void mutex::unlock_slow() {
  std::uint32_t s = state_.load(std::memory_order_relaxed);
  do {
    if (!(s & locked)) throw misuse_error("sync: unlock of unlocked mutex");
  } while (!state_.compare_exchange_weak(s, s & ~locked, std::memory_order_release, std::memory_order_relaxed));
  if (!(s & queued)) return;
  detail::spin_lock(qlock_);
  queue_view qv{head_, tail_};
  detail::waitq q = qv.load();
  waiter* w = q.pop_front();
  if (q.empty()) state_.fetch_and(~queued, std::memory_order_relaxed);
  qv.store(q);
  detail::spin_unlock(qlock_);
  if (w) detail::wake(w);
}

}  // namespace weft
