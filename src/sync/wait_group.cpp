// src/sync/wait_group.cpp: Go's sync.WaitGroup.
//
// count_ is atomic so that add/done on the fast path (count not reaching
// zero) touch no lock. Waiters queue under lock_; wait() re-checks the count
// under the lock, and the add that brings it to zero takes the lock before
// it empties the queue, so a waiter either sees zero or is in the queue the
// waker empties.
#include <weft/wait_group.hpp>

#include "runtime/park.hpp"
#include <weft/errors.hpp>

namespace weft {

using detail::waiter;

wait_group::~wait_group() = default;

void wait_group::add(std::int64_t delta) {
  std::int64_t v = count_.fetch_add(delta, std::memory_order_acq_rel) + delta;
  if (v < 0) {
    count_.fetch_sub(delta, std::memory_order_relaxed);
    throw misuse_error("sync: negative wait_group counter (more done() than add())");
  }
  if (v != 0) return;
  detail::spin_lock(lock_);
  auto* list = static_cast<waiter*>(waiters_);
  waiters_ = nullptr;
  detail::spin_unlock(lock_);
  while (list) {
    waiter* next = list->next;  // read before the wake: list may vanish after
    detail::wake(list);
    list = next;
  }
}

void wait_group::wait() {
  if (count_.load(std::memory_order_acquire) == 0) return;
  waiter w;
  detail::init_waiter(w);
  detail::spin_lock(lock_);
  if (count_.load(std::memory_order_acquire) == 0) {
    detail::spin_unlock(lock_);
    return;
  }
  w.next = static_cast<waiter*>(waiters_);
  waiters_ = &w;
  detail::block_on(w, "wait_group.wait", lock_);
}

}  // namespace weft
