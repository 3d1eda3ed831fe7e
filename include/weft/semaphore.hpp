// weft/semaphore.hpp: std::counting_semaphore and std::binary_semaphore for
// goroutines.
#pragma once

#include <weft/detail/cxx20.hpp>

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <type_traits>

#include <weft/detail/saturated.hpp>
#include <weft/errors.hpp>

namespace weft {

namespace detail {

struct sync_waiter;

// The non-template core of counting_semaphore (shared_mutex queues on it
// too). Design at the top of src/sync/semaphore.cpp.
class semaphore_core {
 public:
  constexpr explicit semaphore_core(std::ptrdiff_t desired) noexcept : count_(desired) {}
  semaphore_core(const semaphore_core&) = delete;
  semaphore_core& operator=(const semaphore_core&) = delete;

  bool try_acquire() noexcept {
    std::ptrdiff_t c = count_.load(std::memory_order_relaxed);
    while (c > 0) {
      if (count_.compare_exchange_weak(c, c - 1, std::memory_order_acquire, std::memory_order_relaxed)) return true;
    }
    return false;
  }
  // reason: what a goroutine dump shows the waiter waiting on.
  void acquire(const char* reason) {
    if (!try_acquire()) acquire_slow(reason, INT64_MAX);
  }
  // deadline: steady_clock nanoseconds since its epoch. False on timeout.
  bool acquire_until(std::int64_t deadline, const char* reason) {
    return try_acquire() || acquire_slow(reason, deadline);
  }
  // Adds n permits, handing them to queued waiters first (FIFO). n < 0, or
  // a count that would pass max, is misuse (misuse_error).
  void release(std::ptrdiff_t n, std::ptrdiff_t max);

  // now + d, as a deadline for acquire_until (INT64_MAX: never).
  static std::int64_t deadline_after(std::chrono::nanoseconds d) noexcept;

 private:
  bool acquire_slow(const char* reason, std::int64_t deadline);
  static void unlink(void* self, sync_waiter* w);

  // The free permits; -1 while there are none and waiters are queued.
  std::atomic<std::ptrdiff_t> count_;
  std::atomic<std::uint32_t> lock_{0};  // guards the queue
  void* head_ = nullptr;
  void* tail_ = nullptr;
};

}  // namespace detail

// As std::counting_semaphore: a count of permits, acquire takes one (parks
// while there are none), release(n) puts n back. Waiters get permits in FIFO
// order; a caller that finds a free permit takes it without queueing. Works
// between goroutines and plain threads, inside and outside weft::run.
template <std::ptrdiff_t LeastMaxValue = PTRDIFF_MAX>
class counting_semaphore {
  static_assert(LeastMaxValue >= 0, "counting_semaphore: negative LeastMaxValue");

 public:
  static constexpr std::ptrdiff_t max() noexcept { return LeastMaxValue; }

  // An initial count outside [0, max()] is misuse (misuse_error).
  constexpr explicit counting_semaphore(std::ptrdiff_t desired) : core_(checked(desired)) {}
  counting_semaphore(const counting_semaphore&) = delete;
  counting_semaphore& operator=(const counting_semaphore&) = delete;
  ~counting_semaphore() = default;

  // Puts update permits back. update < 0, or a count that would pass max(),
  // is misuse ("sync: semaphore release beyond max").
  void release(std::ptrdiff_t update = 1) { core_.release(update, LeastMaxValue); }
  // Takes a permit, parking the caller until one is free.
  void acquire() { core_.acquire("semaphore.acquire"); }
  // Takes a permit if one is free; never waits.
  bool try_acquire() noexcept { return core_.try_acquire(); }
  // Takes a permit, waiting at most d. False (and no permit) on timeout.
  template <class Rep, class Period>
  bool try_acquire_for(const std::chrono::duration<Rep, Period>& d) {
    if (core_.try_acquire()) return true;
    return core_.acquire_until(detail::semaphore_core::deadline_after(detail::saturated_ns(d)), "semaphore.acquire");
  }
  // Takes a permit, waiting until t at the latest. Other clocks than
  // steady_clock are converted once, at the call.
  template <class Clock, class Duration>
  bool try_acquire_until(const std::chrono::time_point<Clock, Duration>& t) {
    if (core_.try_acquire()) return true;
    if constexpr (std::is_same_v<Clock, std::chrono::steady_clock>) {
      std::int64_t when = detail::saturated_ns(t.time_since_epoch()).count();
      return core_.acquire_until(when, "semaphore.acquire");
    } else {
      return try_acquire_for(t - Clock::now());
    }
  }

 private:
  static constexpr std::ptrdiff_t checked(std::ptrdiff_t desired) {
    if (desired < 0 || desired > LeastMaxValue) throw misuse_error("sync: semaphore count out of range");
    return desired;
  }

  detail::semaphore_core core_;
};

using binary_semaphore = counting_semaphore<1>;

}  // namespace weft
