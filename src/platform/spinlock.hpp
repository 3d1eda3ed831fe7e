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

// The same with exponential backoff between tries, up to max_pauses
// pauses: a waiter that polls the word at once pulls its cache line from
// the holder at every check, so two threads hammering one lock hand the
// line across cores at every operation. Waiting longer between tries
// lets the holder take and release the lock several times locally
// (Go's lock2 waits 30 pauses between tries for the same reason).
inline void spin_lock_backoff(std::atomic<std::uint32_t>& w, int max_pauses) noexcept {
  int pauses = 1;
  for (int tries = 0;; ++tries) {
    if (w.load(std::memory_order_relaxed) == 0 && w.exchange(1, std::memory_order_acquire) == 0) return;
    if (tries < 64) {
      for (int i = 0; i < pauses; ++i) cpu_relax();
      if (pauses < max_pauses) pauses *= 2;
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

// A spinlock over data that goroutines on every P hammer (a channel's):
// lock() backs off (spin_lock_backoff). chan_mpmc at procs 2 (8 goroutines
// on one channel, 2 threads) went from 76 to 24 ns a message. Runtime
// locks stay plain spinlocks: their holders are few and their waiters are
// on the latency path (timers at procs 2 measured 20% slower in one set of
// runs with every spinlock backing off).
class CAPABILITY("spinlock") backoff_spinlock : public spinlock {
 public:
  // chan_mpmc at procs 2 with 64: 26 ns, outliers to 36; 128: 23.5; 256:
  // 23.0. A pause is ~25 ns on this machine's EPYC, so a try waits 3.2 us
  // at most, and a waiter yields after ~190 us of failed tries.
  static constexpr int max_pauses = 128;
  void lock() noexcept ACQUIRE() { spin_lock_backoff(word(), max_pauses); }
};

}  // namespace weft::detail
