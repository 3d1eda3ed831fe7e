// weft/shared_mutex.hpp: a reader/writer lock that parks goroutines, Go's
// sync.RWMutex.
#pragma once

#include <weft/detail/cxx20.hpp>
#include <weft/detail/thread_annotations.hpp>

#include <atomic>
#include <cstdint>

#include <weft/mutex.hpp>
#include <weft/semaphore.hpp>

namespace weft {

// Meets SharedLockable: std::shared_lock, std::lock_guard, std::unique_lock
// and std::scoped_lock work. Any number of readers (lock_shared) or one
// writer (lock) hold it. Writer-preferring, as Go's RWMutex: once a writer
// waits, new readers wait behind it, so a stream of readers cannot starve
// writers. Not recursive: a reader that calls lock_shared again while a
// writer waits deadlocks, as in Go. Waiters park (goroutines) or sleep
// (plain threads, inside or outside weft::run). A thread-safety capability
// under clang, like weft::mutex.
class WEFT_CAPABILITY("shared_mutex") shared_mutex {
 public:
  constexpr shared_mutex() noexcept = default;
  shared_mutex(const shared_mutex&) = delete;
  shared_mutex& operator=(const shared_mutex&) = delete;
  ~shared_mutex() = default;

  // Exclusive: waits for other writers, then for the readers already in.
  void lock() WEFT_ACQUIRE();
  bool try_lock() noexcept WEFT_TRY_ACQUIRE(true);
  // Unlocking a shared_mutex that no writer holds is misuse
  // ("sync: Unlock of unlocked RWMutex").
  void unlock() WEFT_RELEASE();

  // Shared: one atomic add when no writer holds or waits for the lock.
  void lock_shared() WEFT_ACQUIRE_SHARED() {
    if (readers_.fetch_add(1, std::memory_order_acq_rel) < 0) lock_shared_slow();
  }
  bool try_lock_shared() noexcept WEFT_TRY_ACQUIRE_SHARED(true);
  // Without a shared lock held: misuse ("sync: RUnlock of unlocked RWMutex").
  void unlock_shared() WEFT_RELEASE_SHARED() {
    std::int32_t r = readers_.fetch_sub(1, std::memory_order_acq_rel) - 1;
    if (r < 0) unlock_shared_slow(r);
  }

 private:
  static constexpr std::int32_t max_readers = 1 << 30;

  void lock_shared_slow();
  void unlock_shared_slow(std::int32_t r);

  mutex writers_;  // held by a writer from lock to unlock: writers queue here
  // Readers in, or waiting behind a writer; minus max_readers while a writer
  // holds the lock or waits for the readers in to leave.
  std::atomic<std::int32_t> readers_{0};
  std::atomic<std::int32_t> departing_{0};  // readers the pending writer still waits for
  detail::semaphore_core writer_sem_{0};  // the pending writer waits here
  detail::semaphore_core reader_sem_{0};  // readers that came during a write wait here
};

}  // namespace weft
