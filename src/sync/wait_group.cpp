// src/sync/wait_group.cpp: Go's sync.WaitGroup.
//
// The count and the number of registered waiters share one atomic word, as
// in Go: an add that does not reach zero, or reaches it with no waiter, is
// one atomic operation and never touches anything else. A waiter registers
// (CAS on the word) and then takes a permit, or queues for one, under lock_.
// The add that brings the count to zero resets the word and, under lock_,
// hands out one permit per registered waiter, waking queued ones.
//
// Destruction: a wait_group may be destroyed as soon as wait() returns (the
// usual case: it lives on the waiter's stack). So after the count reaches
// zero, add touches the wait_group only while some registered waiter has not
// returned yet (each needs a permit, given under lock_, to return), and its
// last access is the release of lock_; the wake-ups that follow touch only
// the waiters' own records.
#include <weft/wait_group.hpp>

#include <cstdint>
#include <limits>

#include "runtime/park.hpp"
#include <weft/errors.hpp>

namespace weft {

using detail::waiter;

namespace {
constexpr std::int64_t count_of(std::uint64_t s) { return static_cast<std::int32_t>(s >> 32); }
constexpr std::uint32_t waiters_of(std::uint64_t s) { return static_cast<std::uint32_t>(s); }
}  // namespace

wait_group::~wait_group() = default;

void wait_group::add(std::int64_t delta) {
  std::uint64_t s = state_.load(std::memory_order_relaxed);
  std::uint64_t next;
  for (;;) {
    std::int64_t v = count_of(s) + delta;
    if (v < 0) throw misuse_error("sync: negative wait_group counter (more done() than add())");
    if (v > std::numeric_limits<std::int32_t>::max()) throw misuse_error("sync: wait_group counter overflow");
    std::uint32_t w = waiters_of(s);
    // Reaching zero ends the round: the waiters are released below.
    next = v == 0 ? 0 : (static_cast<std::uint64_t>(static_cast<std::uint32_t>(v)) << 32) | w;
    if (state_.compare_exchange_weak(s, next, std::memory_order_acq_rel, std::memory_order_relaxed)) break;
  }
  if (next != 0 || waiters_of(s) == 0) return;
  std::uint32_t registered = waiters_of(s);
  detail::spin_lock(lock_);
  permits_ += registered;
  waiter* woken = nullptr;
  while (permits_ > 0 && waiters_ != nullptr) {
    auto* w = static_cast<waiter*>(waiters_);
    waiters_ = w->next;
    w->next = woken;
    woken = w;
    --permits_;
  }
  detail::spin_unlock(lock_);  // the last touch of *this
  while (woken) {
    waiter* next_w = woken->next;  // read before the wake: it may vanish after
    detail::wake(woken);
    woken = next_w;
  }
}

void wait_group::wait() {
  std::uint64_t s = state_.load(std::memory_order_acquire);
  for (;;) {
    if (count_of(s) == 0) return;
    if (state_.compare_exchange_weak(s, s + 1, std::memory_order_acq_rel, std::memory_order_acquire)) break;
  }
  waiter w;
  detail::init_waiter(w);
  detail::spin_lock(lock_);
  if (permits_ > 0) {  // the count reached zero before we queued
    --permits_;
    detail::spin_unlock(lock_);
    return;
  }
  if (detail::parking_forbidden()) {
    detail::spin_unlock(lock_);
    detail::throw_parking_forbidden("wait_group.wait");
  }
  w.next = static_cast<waiter*>(waiters_);
  waiters_ = &w;
  detail::block_on(w, "wait_group.wait", lock_);
}

}  // namespace weft
