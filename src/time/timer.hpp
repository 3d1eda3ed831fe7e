// src/time/timer.hpp: the per-P timer heap. Design at the top of timer.cpp.
#pragma once

#include <atomic>
#include <cstdint>
#include <vector>

#include "platform/spinlock.hpp"

namespace weft::detail {

struct timer_heap;

// A one-shot timer. The owner keeps it alive until it fires or is removed.
struct timer {
  std::int64_t when = 0;  // os::nanotime()
  void (*fire)(timer*) = nullptr;
  void* arg = nullptr;
  std::int32_t index = -1;       // in heap, -1 when not armed
  timer_heap* heap = nullptr;    // where it is armed
};

struct timer_heap {
  spinlock lock;
  std::vector<timer*> items;  // 4-ary min-heap on when; GUARDED_BY(lock)
  // The earliest `when`, INT64_MAX when empty: read without the lock by the
  // scheduler to decide whether to look at all.
  std::atomic<std::int64_t> when0{INT64_MAX};

  // Arms t. Returns true if t became the earliest.
  bool add(timer* t);
  // Disarms t if armed here; true if it was.
  bool remove(timer* t);
  // Fires every timer due at `now` (outside the lock). Returns how many.
  int run_due(std::int64_t now);
  std::size_t size();
};

}  // namespace weft::detail
