// src/platform/thread_mutex.hpp: a std::mutex that clang's thread-safety
// analysis knows is a lock. It blocks the OS thread, so it is for state that
// threads outside any goroutine share (the scheduler's sched.lock, pools, the
// netpoller's setup); goroutines wait on weft::mutex instead.
#pragma once

#include <mutex>

#include "platform/lock_scope.hpp"
#include "platform/thread_annotations.hpp"

namespace weft::detail {

class CAPABILITY("mutex") thread_mutex {
 public:
  void lock() ACQUIRE() { mu_.lock(); }
  bool try_lock() TRY_ACQUIRE(true) { return mu_.try_lock(); }
  void unlock() RELEASE() { mu_.unlock(); }

 private:
  std::mutex mu_;
};

}  // namespace weft::detail
