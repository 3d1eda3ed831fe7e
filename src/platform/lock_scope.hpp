// src/platform/lock_scope.hpp: holds a lock for a scope, visibly to clang's
// thread-safety analysis (std::lock_guard and std::unique_lock are not
// annotated in libstdc++, so under them the analysis sees no lock held).
#pragma once

#include "platform/thread_annotations.hpp"

namespace weft::detail {

// std::unique_lock's common subset: takes the lock at construction; unlock()
// and lock() drop and retake it mid-scope; the destructor drops it if held.
template <class Lock>
class SCOPED_CAPABILITY lock_scope {
 public:
  explicit lock_scope(Lock& l) ACQUIRE(l) : lock_(l) { lock_.lock(); }
  lock_scope(const lock_scope&) = delete;
  lock_scope& operator=(const lock_scope&) = delete;
  ~lock_scope() RELEASE() {
    if (held_) lock_.unlock();
  }

  void unlock() RELEASE() {
    held_ = false;
    lock_.unlock();
  }
  void lock() ACQUIRE() {
    lock_.lock();
    held_ = true;
  }

 private:
  Lock& lock_;
  bool held_ = true;
};

}  // namespace weft::detail
