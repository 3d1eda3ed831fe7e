// weft/once.hpp: std::call_once for goroutines.
//
// Go's sync.Once, with std::call_once's meaning for a call that throws: it
// does not count. The flag is a done bit and a weft::mutex: after the first
// completed call, call_once is one acquire load; before it, callers take the
// mutex (parking, not blocking their thread), so they run one at a time, and
// each checks the bit again once it holds the mutex. A call that throws
// leaves the bit clear, and the mutex goes to the next caller, which then
// runs its own function. Header-only: there is nothing else to it.
#pragma once

#include <weft/detail/cxx20.hpp>

#include <atomic>
#include <functional>
#include <mutex>
#include <utility>

#include <weft/mutex.hpp>

namespace weft {

// As std::once_flag. Not copyable or movable.
class once_flag {
 public:
  constexpr once_flag() noexcept = default;
  once_flag(const once_flag&) = delete;
  once_flag& operator=(const once_flag&) = delete;

 private:
  template <class F, class... Args>
  friend void call_once(once_flag& flag, F&& f, Args&&... args);

  std::atomic<bool> done_{false};
  mutex mu_;  // held by the call in progress
};

// As std::call_once: calls f(args...) unless a call on flag has completed.
// Exactly one call completes; callers that come while one runs wait (park)
// until it ends. A call that throws does not count: its caller gets the
// exception and the next caller runs its own f. Calling call_once on the
// same flag from inside f deadlocks, as with std.
template <class F, class... Args>
void call_once(once_flag& flag, F&& f, Args&&... args) {
  if (flag.done_.load(std::memory_order_acquire)) return;
  std::lock_guard<mutex> lk(flag.mu_);
  if (flag.done_.load(std::memory_order_relaxed)) return;
  std::invoke(std::forward<F>(f), std::forward<Args>(args)...);
  flag.done_.store(true, std::memory_order_release);
}

}  // namespace weft
