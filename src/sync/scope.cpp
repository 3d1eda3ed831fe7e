// src/sync/scope.cpp: weft::scope's non-template part (see scope.hpp for
// the design).
//
// Memory ordering: error_ is written and taken under error_lock_, so two
// failing goroutines, or two waiters, never race on it. A goroutine calls
// fail() before its wg_.done(), and wait() takes the error after wg_.wait()
// returns, so the error of every joined goroutine is there to be taken.
#include <weft/scope.hpp>

#include <exception>
#include <utility>

#include "platform/spinlock.hpp"

namespace weft {

scope::~scope() noexcept(false) {
  // Unwinding past the scope: its owner is giving up, so its goroutines
  // should too; without the stop, one waiting on the token would hang the
  // join (and the unwinding with it).
  const bool unwinding = std::uncaught_exceptions() > uncaught_;
  if (unwinding) stop_.request_stop();
  wg_.wait();
  std::exception_ptr e = take_error();
  if (e && !unwinding) std::rethrow_exception(std::move(e));
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
