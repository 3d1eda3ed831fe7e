// src/platform/spinlock.hpp: the lock for short runtime critical sections.
//
// Channel, mutex and wait-queue locks are held for a few instructions, and
// some are released by a different goroutine context than took them (a parked
// goroutine's lock is released by whoever runs next on its thread, after the
// switch). A pthread mutex would be wrong there (owner tracking, TSan), so
// these are test-and-test-and-set locks on an atomic word that back off to
// sched_yield when the holder seems descheduled.
#pragma once

#include <sched.h>

#include <atomic>
#include <cassert>
#include <cstdint>

#include "platform/lock_scope.hpp"
#include "platform/thread_annotations.hpp"

namespace weft::detail {

inline void cpu_relax() noexcept {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#endif
}

inline void spin_lock(std::atomic<std::uint32_t>& w) noexcept {
  for (int spins = 0;; ++spins) {
    if (w.load(std::memory_order_relaxed) == 0 && w.exchange(1, std::memory_order_acquire) == 0) return;
    if (spins < 64) {
      cpu_relax();
    } else {
      sched_yield();
    }
  }
}

inline bool spin_try_lock(std::atomic<std::uint32_t>& w) noexcept {
  return w.load(std::memory_order_relaxed) == 0 && w.exchange(1, std::memory_order_acquire) == 0;
}

inline void spin_unlock(std::atomic<std::uint32_t>& w) noexcept { w.store(0, std::memory_order_release); }

class CAPABILITY("spinlock") spinlock {
 public:
  void lock() noexcept ACQUIRE() { spin_lock(word_); }
  bool try_lock() noexcept TRY_ACQUIRE(true) { return spin_try_lock(word_); }
  void unlock() noexcept RELEASE() { spin_unlock(word_); }
  // Tells the analysis that the caller holds this lock, where it was taken
  // in a way clang cannot follow (select's sorted set of channel locks).
  // Debug builds check that someone holds it; nothing records who.
  void assert_held() const noexcept ASSERT_CAPABILITY(this) { assert(word_.load(std::memory_order_relaxed) != 0); }
  std::atomic<std::uint32_t>& word() noexcept { return word_; }

 private:
  std::atomic<std::uint32_t> word_{0};
};

}  // namespace weft::detail
