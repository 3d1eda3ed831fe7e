// weft/mutex.hpp: a mutual-exclusion lock that parks goroutines, not threads.
#pragma once

#include <atomic>
#include <cstdint>

namespace weft {

// Meets Lockable, so std::lock_guard, std::unique_lock and std::scoped_lock
// work. A goroutine that finds it locked spins briefly, then parks; unlock
// hands the lock to waiters in FIFO order once they wake. Not recursive.
// Outside weft::run it works between plain threads too (they sleep instead).
class mutex {
 public:
  constexpr mutex() noexcept = default;
  mutex(const mutex&) = delete;
  mutex& operator=(const mutex&) = delete;
  ~mutex() = default;

  void lock();
  bool try_lock() noexcept;
  // Unlocking a mutex that is not locked is misuse ("unlock of unlocked mutex").
  void unlock();

 private:
  void lock_slow();
  void unlock_slow();
  // bit 0: locked; bit 1: a waiter was woken and is on its way; bits 2..: waiters.
  std::atomic<std::uint32_t> state_{0};
  std::atomic<std::uint32_t> qlock_{0};  // guards the queue below
  void* head_ = nullptr;
  void* tail_ = nullptr;
};

}  // namespace weft
