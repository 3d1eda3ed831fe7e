// weft/condition_variable.hpp: std::condition_variable for weft::mutex, with
// std::condition_variable_any's stop_token waits.
#pragma once

#include <weft/detail/cxx20.hpp>

#include <atomic>
#include <chrono>
#include <condition_variable>  // std::cv_status
#include <cstdint>
#include <mutex>
#include <stop_token>
#include <type_traits>
#include <utility>

#include <weft/detail/saturated.hpp>
#include <weft/mutex.hpp>

namespace weft {

namespace detail {
struct sync_waiter;
}  // namespace detail

// Waits with a std::unique_lock<weft::mutex>: the lock is released while the
// caller waits and held again when any wait returns (also by exception).
// Waiters are woken in FIFO order. A goroutine parks; a plain thread sleeps
// (inside or outside weft::run). As std says, waits may wake spuriously, so
// wait in a loop or use the predicate forms. Like std::condition_variable it
// may be destroyed once every waiter has been notified, even before they
// have returned from their waits (the destructor waits for them to let go).
class condition_variable {
 public:
  constexpr condition_variable() noexcept = default;
  condition_variable(const condition_variable&) = delete;
  condition_variable& operator=(const condition_variable&) = delete;
  ~condition_variable();

  void notify_one() noexcept;
  void notify_all() noexcept;

  // REQUIRES (all waits): lk owns its mutex; waiting without it is misuse
  // (misuse_error).
  void wait(std::unique_lock<mutex>& lk) { (void)wait_core(lk, no_deadline, nullptr); }
  template <class Pred>
  void wait(std::unique_lock<mutex>& lk, Pred pred) {
    while (!pred()) wait(lk);
  }

  // Deadlines of steady_clock are exact; other clocks are converted to it at
  // each wait and their own now() decides whether the wait timed out.
  template <class Clock, class Duration>
  std::cv_status wait_until(std::unique_lock<mutex>& lk, const std::chrono::time_point<Clock, Duration>& t) {
    bool timed_out = wait_core(lk, deadline_of(t), nullptr) == outcome::timeout;
    if constexpr (!std::is_same_v<Clock, std::chrono::steady_clock>) timed_out = Clock::now() >= t;
    return timed_out ? std::cv_status::timeout : std::cv_status::no_timeout;
  }
  template <class Clock, class Duration, class Pred>
  bool wait_until(std::unique_lock<mutex>& lk, const std::chrono::time_point<Clock, Duration>& t, Pred pred) {
    while (!pred()) {
      if (wait_until(lk, t) == std::cv_status::timeout) return pred();
    }
    return true;
  }
  template <class Rep, class Period>
  std::cv_status wait_for(std::unique_lock<mutex>& lk, const std::chrono::duration<Rep, Period>& d) {
    return wait_core(lk, deadline_after(detail::saturated_ns(d)), nullptr) == outcome::timeout
               ? std::cv_status::timeout
               : std::cv_status::no_timeout;
  }
  template <class Rep, class Period, class Pred>
  bool wait_for(std::unique_lock<mutex>& lk, const std::chrono::duration<Rep, Period>& d, Pred pred) {
    return wait_until_ns(lk, deadline_after(detail::saturated_ns(d)), nullptr, pred);
  }

  // As std::condition_variable_any: wait until pred() holds or stop is
  // requested on st (a stop request wakes the waiter); return pred().
  template <class Pred>
  bool wait(std::unique_lock<mutex>& lk, std::stop_token st, Pred pred) {
    return wait_until_ns(lk, no_deadline, &st, pred);
  }
  template <class Clock, class Duration, class Pred>
  bool wait_until(std::unique_lock<mutex>& lk, std::stop_token st, const std::chrono::time_point<Clock, Duration>& t,
                  Pred pred) {
    while (!st.stop_requested()) {
      if (pred()) return true;
      bool timed_out = wait_core(lk, deadline_of(t), &st) == outcome::timeout;
      if constexpr (!std::is_same_v<Clock, std::chrono::steady_clock>) timed_out = Clock::now() >= t;
      if (timed_out) return pred();
    }
    return pred();
  }
  template <class Rep, class Period, class Pred>
  bool wait_for(std::unique_lock<mutex>& lk, std::stop_token st, const std::chrono::duration<Rep, Period>& d,
                Pred pred) {
    return wait_until_ns(lk, deadline_after(detail::saturated_ns(d)), &st, pred);
  }

 private:
  enum class outcome : std::uint8_t { notified, timeout, stopped };
  static constexpr std::int64_t no_deadline = INT64_MAX;

  // deadline: steady_clock nanoseconds since its epoch (no_deadline: none).
  // st: null if the wait cannot be stopped.
  outcome wait_core(std::unique_lock<mutex>& lk, std::int64_t deadline, const std::stop_token* st);
  static std::int64_t deadline_after(std::chrono::nanoseconds d) noexcept;
  static void unlink(void* self, detail::sync_waiter* w);

  template <class Pred>
  bool wait_until_ns(std::unique_lock<mutex>& lk, std::int64_t deadline, const std::stop_token* st, Pred& pred) {
    while (!(st && st->stop_requested())) {
      if (pred()) return true;
      if (wait_core(lk, deadline, st) == outcome::timeout) return pred();
    }
    return pred();
  }
  template <class Clock, class Duration>
  static std::int64_t deadline_of(const std::chrono::time_point<Clock, Duration>& t) {
    if constexpr (std::is_same_v<Clock, std::chrono::steady_clock>) {
      std::int64_t ns = detail::saturated_ns(t.time_since_epoch()).count();
      return ns == INT64_MAX ? no_deadline : ns;
    } else {
      return deadline_after(detail::saturated_ns(t - Clock::now()));
    }
  }

  std::atomic<std::uint32_t> lock_{0};  // guards the queue
  std::atomic<std::uint32_t> waiters_{0};  // queued; lets a notify with none skip the lock
  std::atomic<std::uint32_t> users_{0};  // waits that may still touch *this
  void* head_ = nullptr;
  void* tail_ = nullptr;
};

}  // namespace weft
