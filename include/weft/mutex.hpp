// weft/mutex.hpp: a mutual-exclusion lock that parks goroutines, not threads.
#pragma once

#include <weft/detail/cxx20.hpp>
#include <weft/detail/thread_annotations.hpp>

#include <atomic>
#include <cstdint>

namespace weft {

// Meets Lockable, so std::lock_guard, std::unique_lock and std::scoped_lock
// work. A goroutine that finds it locked spins briefly, then parks; unlock
// wakes waiters in FIFO order. Like Go's sync.Mutex it is fair in the end: a
// waiter kept waiting for more than 1 ms turns on starvation mode, in which
// unlock hands the mutex straight to the longest waiter. Not recursive.
// Outside weft::run it works between plain threads too (they sleep instead).
// Under clang it is a thread-safety capability: data marked
// WEFT_GUARDED_BY(mu) is checked by -Wthread-safety
// (weft/detail/thread_annotations.hpp).
class WEFT_CAPABILITY("mutex") mutex {
 public:
  constexpr mutex() noexcept = default;
  mutex(const mutex&) = delete;
  mutex& operator=(const mutex&) = delete;
  ~mutex() = default;

  void lock() WEFT_ACQUIRE() WEFT_NO_THREAD_SAFETY_ANALYSIS {
    std::uint32_t expected = 0;
    if (state_.compare_exchange_weak(expected, locked_bit, std::memory_order_acquire, std::memory_order_relaxed))
      return;
    lock_slow();
  }
  // Takes the mutex if it is free; never waits.
  bool try_lock() noexcept WEFT_TRY_ACQUIRE(true);
  // Unlocking a mutex that is not locked is misuse ("unlock of unlocked mutex").
  void unlock() WEFT_RELEASE();

 private:
  // The uncontended lock is inline (one CAS, as Go inlines sync.Mutex.Lock):
  // the call cost a fifth of mutex's ns/op at procs 1. unlock stays a call:
  // inline too, a holder that locks again at once shut the spinning waiter
  // out at procs 2 (44 -> 69 ns/op).
  static constexpr std::uint32_t locked_bit = 1;
  void lock_slow();
  void unlock_slow();
  // bit 0: locked; bit 1: waiters are queued; bit 2: starvation mode.
  std::atomic<std::uint32_t> state_{0};
  std::atomic<std::uint32_t> qlock_{0};  // guards the queue below
  void* head_ = nullptr;
  void* tail_ = nullptr;
};

}  // namespace weft
