// src/runtime/timer.hpp: one-shot runtime timers on per-P heaps. Design at the
// top of timer.cpp.
#pragma once

#include <atomic>
#include <cstdint>
#include <vector>

#include "platform/spinlock.hpp"
#include "platform/thread_annotations.hpp"

namespace weft::detail {

struct timer_heap;

// A one-shot timer. Its owner keeps it alive while it is armed and while its
// fire function runs (timer_stop and timer_wait_fire tell when that is over).
struct timer {
  std::int64_t when = 0;  // os::nanotime()
  // Runs on a scheduler thread (maybe one without a P), outside any lock:
  // must not block. Its last touch of t must be timer_fire_done(t), except
  // that it may re-arm t (timer_start) after timer_fire_done if its owner's
  // own protocol keeps t alive (time/chan_timer.cpp does).
  void (*fire)(timer*) = nullptr;
  void* arg = nullptr;
  // In heap; guarded by heap->lock (not an annotation: heap is atomic, and
  // the analysis cannot name a lock through it).
  std::int32_t index = -1;
  std::atomic<timer_heap*> heap{nullptr};  // where armed; changes under that heap's lock
  std::atomic<std::uint32_t> firing{0};  // 1 from removal by run_due to timer_fire_done
  // Called instead of fire for a timer still armed when its heap is
  // destroyed (the end of weft::run), so a timer the heap owns can be freed.
  // Null: the heap forgets the timer.
  void (*drop)(timer*) = nullptr;
};

struct timer_heap {
  timer_heap() = default;
  timer_heap(const timer_heap&) = delete;
  timer_heap& operator=(const timer_heap&) = delete;
  // REQUIRES: no M runs (weft::run's teardown). Calls drop on what is left.
  ~timer_heap();

  spinlock lock;
  // A heap slot keeps a copy of its timer's deadline: sifting compares
  // without touching the timers (on goroutine stacks, all over memory).
  struct entry {
    std::int64_t when;
    timer* t;
  };
  std::vector<entry> items GUARDED_BY(lock);  // 4-ary min-heap on when
  // The earliest `when`, INT64_MAX when empty: read without the lock by the
  // scheduler to decide whether to look at all.
  std::atomic<std::int64_t> when0{INT64_MAX};

  // Arms t. Returns true if t became the earliest.
  bool add(timer* t) EXCLUDES(lock);
  // Fires the timers due at `now` (outside the lock), at most `max` of
  // them, earliest first. Returns how many.
  int run_due(std::int64_t now, int max = INT32_MAX) EXCLUDES(lock);
  std::size_t size() EXCLUDES(lock);
};

// Arms t (when, fire, arg set; not armed) on the calling M's P, or on P 0
// when called from a plain thread while weft::run is active, and wakes the
// timer waiter if t is now the earliest timer (from a plain thread, also an
// idle M). The runtime must be running.
void timer_start(timer* t);
// Disarms t. True if it was armed (it will not fire); false if it was not
// armed, or was already taken to fire (its fire function may still be
// running: see timer_wait_fire). Never waits.
bool timer_stop(timer* t);
// Waits until a fire function that is running on t has called
// timer_fire_done. Call only while holding nothing the fire function takes.
void timer_wait_fire(timer* t);
inline void timer_fire_done(timer* t) { t->firing.store(0, std::memory_order_release); }

}  // namespace weft::detail
