// src/platform/spin_futex_mutex.hpp: a thread lock that spins before it
// sleeps, for the scheduler's short shared critical sections (sched.lock,
// the G slab's and the stack pool's locks).
//
// Why not std::mutex: glibc's default mutex puts a contending thread to
// sleep on its futex at once. These locks are held for a few hundred
// nanoseconds (a batch of Gs onto a global list, an idle P off its list),
// so a sleep and the wake-up that ends it (two context switches, several
// microseconds) cost far more than waiting out the holder. In spawn at
// procs 2, where the spawner takes fresh Gs and the other P returns the
// finished ones, std::mutex made 19,000-24,000 futex calls and 3,400-4,200
// context switches per million goroutines; this lock makes ~500 and ~400.
// (The time per goroutine hardly moved: the other P's run loop decides it.)
//
// Protocol (Go's lock_futex.go): the word is 0 (free), 1 (held) or 2 (held,
// and a thread may be asleep on it). lock swaps in 1; a thread that found it
// held spins a little, yields once, then swaps in 2 and sleeps while the
// word is 2. unlock swaps in 0 and wakes one sleeper if the word was 2.
// Invariant: while any thread sleeps, the word is 2 or the lock is free
// and a wake is on its way. A thread that ever swapped in 2 (or found 2)
// takes the lock as 2, since sleepers may remain whose wake-up is its
// unlock's job.
//
// TSan sees the acquire and release on the word, so it checks the data the
// lock guards; it cannot report lock-order inversions on it, as it can
// for a pthread mutex.
#pragma once

#include <sched.h>

#include <atomic>
#include <cstdint>

#include "platform/futex.hpp"
#include "platform/spinlock.hpp"
#include "platform/thread_annotations.hpp"

namespace weft::detail {

class CAPABILITY("mutex") spin_futex_mutex {
 public:
  void lock() ACQUIRE() {
    std::uint32_t v = word_.exchange(held, std::memory_order_acquire);
    if (v != free) lock_slow(v);
  }

  bool try_lock() TRY_ACQUIRE(true) {
    std::uint32_t v = free;
    return word_.compare_exchange_strong(v, held, std::memory_order_acquire, std::memory_order_relaxed);
  }

  void unlock() RELEASE() {
    if (word_.exchange(free, std::memory_order_release) == sleeping) os::futex_wake(&word_, 1);
  }

 private:
  static constexpr std::uint32_t free = 0;
  static constexpr std::uint32_t held = 1;
  static constexpr std::uint32_t sleeping = 2;

  // Takes the lock if it is free, as `as` (held or sleeping: see above).
  bool take_if_free(std::uint32_t as) {
    std::uint32_t v = free;
    return word_.load(std::memory_order_relaxed) == free &&
           word_.compare_exchange_strong(v, as, std::memory_order_acquire, std::memory_order_relaxed);
  }

  void lock_slow(std::uint32_t found) {
    std::uint32_t as = found;  // held, or sleeping if we overwrote a 2
    for (;;) {
      for (int round = 0; round < 4; ++round) {
        if (take_if_free(as)) return;
        for (int i = 0; i < 30; ++i) cpu_relax();
      }
      sched_yield();  // the holder may be descheduled
      if (take_if_free(as)) return;
      if (word_.exchange(sleeping, std::memory_order_acquire) == free) return;
      as = sleeping;
      os::futex_wait(&word_, sleeping, -1);
    }
  }

  std::atomic<std::uint32_t> word_{free};
};

}  // namespace weft::detail
