// src/sync/scope.cpp: weft::scope's non-template part (see scope.hpp for
// the design).
//
// Memory ordering: error_ is written and taken under error_lock_, so two
// failing goroutines, or two waiters, never race on it. A goroutine calls
// fail() before its wg_.done(), and wait() takes the error after wg_.wait()
// returns, so the error of every joined goroutine is there to be taken.
//
// Limits: a goroutine gives its permit back before its wg_.done(), so
// after wait() every permit is free again, and set_limit can take them
// all back to learn that none is held.
#include <weft/scope.hpp>

#include <exception>
#include <limits>
#include <string>
#include <utility>

#include "platform/spinlock.hpp"

namespace weft {

namespace {
constexpr std::ptrdiff_t max_permits = std::numeric_limits<std::ptrdiff_t>::max();
}  // namespace

scope::scope(clock::time_point deadline) : uncaught_(std::uncaught_exceptions()), deadline_(deadline) {
  if (deadline == clock::time_point::max()) return;
  if (deadline <= clock::now()) {
    stop_.request_stop();  // at once, not when a goroutine gets round to it
    return;
  }
  deadline_cancel_ = std::stop_source();
  weft::go(go_options{.name = "weft::scope deadline"},
           [stop = stop_, cancel = deadline_cancel_.get_token(), deadline]() mutable {
             if (this_goroutine::sleep_until(deadline, cancel)) stop.request_stop();
           });
}

scope::~scope() noexcept(false) {
  // Unwinding past the scope: its owner is giving up, so its goroutines
  // should too; without the stop, one waiting on the token would hang the
  // join (and the unwinding with it).
  const bool unwinding = std::uncaught_exceptions() > uncaught_;
  if (unwinding) stop_.request_stop();
  wg_.wait();
  // Only now: the deadline still applies while the destructor joins.
  deadline_cancel_.request_stop();
  std::exception_ptr e = take_error();
  if (e && !unwinding) std::rethrow_exception(std::move(e));
}

scope::clock::time_point scope::deadline_after(std::chrono::nanoseconds timeout) noexcept {
  const clock::time_point now = clock::now();
  if (timeout <= std::chrono::nanoseconds::zero()) return now;
  if (timeout >= clock::time_point::max() - now) return clock::time_point::max();
  return now + timeout;
}

void scope::set_limit(std::ptrdiff_t n) {
  // Every permit of the old limit is free exactly when no goroutine started
  // under it still runs: take them all back to find out.
  const std::ptrdiff_t old = limit_.load(std::memory_order_relaxed);
  std::ptrdiff_t taken = 0;
  while (taken < old && slots_.try_acquire()) ++taken;
  if (taken < old) {
    if (taken > 0) slots_.release(taken, max_permits);
    throw misuse_error("weft::scope::set_limit: the limit changed while " + std::to_string(old - taken) +
                       " goroutines started under it still run");
  }
  limit_.store(n < 0 ? -1 : n, std::memory_order_relaxed);
  if (n > 0) slots_.release(n, max_permits);
}

bool scope::take_slot(bool may_wait, bool* under_limit) {
  *under_limit = false;
  if (limit_.load(std::memory_order_relaxed) < 0) return true;
  if (may_wait) {
    slots_.acquire("scope.go, at its limit");
  } else if (!slots_.try_acquire()) {
    return false;
  }
  *under_limit = true;
  return true;
}

void scope::give_slot() noexcept {
  // Cannot throw: the permit was taken from this semaphore, so the count
  // stays within max_permits.
  try {
    slots_.release(1, max_permits);
  } catch (...) {}
}

void scope::wait() {
  wg_.wait();
  if (std::exception_ptr e = take_error()) std::rethrow_exception(std::move(e));
}

void scope::fail(std::exception_ptr e) noexcept {
  detail::spin_lock(error_lock_);
  if (!error_) error_ = std::move(e);
  detail::spin_unlock(error_lock_);
  // A later exception is dropped here, outside the lock: its destructor
  // (when e held the last reference) may run user code.
  stop_.request_stop();
}

std::exception_ptr scope::take_error() noexcept {
  detail::spin_lock(error_lock_);
  std::exception_ptr e = std::exchange(error_, nullptr);
  detail::spin_unlock(error_lock_);
  return e;
}

}  // namespace weft
