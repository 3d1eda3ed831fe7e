// src/platform/faults.cpp: the fault table. Design in faults.hpp.
#include "platform/faults.hpp"

#include <mutex>

#include "platform/spinlock.hpp"

namespace weft::detail::os {

namespace faults_detail {
std::atomic<int> armed[fault_point_count];
}  // namespace faults_detail

namespace {

// armed and what change only under lock; take_fault's first look at armed
// is without it. A spinlock: the slow path runs only while a test has armed
// something, and must not throw.
spinlock lock;
fault what[fault_point_count] GUARDED_BY(lock);

}  // namespace

void inject_faults(fault_point point, int count, int err, std::size_t max_bytes) noexcept {
  int i = static_cast<int>(point);
  lock_scope lk(lock);
  faults_detail::armed[i].store(0, std::memory_order_relaxed);
  if (count <= 0) return;
  what[i] = fault{err, max_bytes > 0 ? max_bytes : 1};
  faults_detail::armed[i].store(count, std::memory_order_release);
}

void clear_faults() noexcept {
  for (int i = 0; i < fault_point_count; ++i) inject_faults(static_cast<fault_point>(i), 0, 0);
}

int faults_left(fault_point point) noexcept {
  int n = faults_detail::armed[static_cast<int>(point)].load(std::memory_order_acquire);
  return n > 0 ? n : 0;
}

bool faults_detail::take_slow(fault_point point, fault* f) noexcept {
  int i = static_cast<int>(point);
  lock_scope lk(lock);
  int n = armed[i].load(std::memory_order_relaxed);
  if (n <= 0) return false;
  armed[i].store(n - 1, std::memory_order_relaxed);
  *f = what[i];
  return true;
}

}  // namespace weft::detail::os
