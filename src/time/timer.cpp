// src/time/timer.cpp: timers, kept per P.
//
// Each P owns a 4-ary min-heap of timers (Go's layout: shallower than a binary
// heap, fewer cache misses on sift-down). A goroutine that sleeps arms a timer
// on its own P; the scheduler fires due timers of its own P at every schedule
// and of every P when it looks for work before going idle, so timers of an
// idle P still fire. One idle M, the timer waiter, sleeps until the earliest
// timer of all Ps (proc.cpp); arming an earlier timer wakes it.
//
// when0 caches the earliest deadline so that the scheduler's check costs one
// relaxed load when nothing is due.
#include "time/timer.hpp"

#include <mutex>

namespace weft::detail {

namespace {

void place(std::vector<timer*>& h, std::size_t i, timer* t) {
  h[i] = t;
  t->index = static_cast<std::int32_t>(i);
}

void sift_up(std::vector<timer*>& h, std::size_t i) {
  timer* t = h[i];
  while (i > 0) {
    std::size_t parent = (i - 1) / 4;
    if (h[parent]->when <= t->when) break;
    place(h, i, h[parent]);
    i = parent;
  }
  place(h, i, t);
}

void sift_down(std::vector<timer*>& h, std::size_t i) {
  timer* t = h[i];
  std::size_t n = h.size();
  for (;;) {
    std::size_t c = 4 * i + 1;
    if (c >= n) break;
    std::size_t best = c;
    for (std::size_t k = c + 1; k < c + 4 && k < n; ++k)
      if (h[k]->when < h[best]->when) best = k;
    if (h[best]->when >= t->when) break;
    place(h, i, h[best]);
    i = best;
  }
  place(h, i, t);
}

void remove_at(std::vector<timer*>& h, std::size_t i) {
  timer* last = h.back();
  h.pop_back();
  if (i < h.size()) {
    place(h, i, last);
    sift_down(h, i);
    sift_up(h, static_cast<std::size_t>(last->index));
  }
}

}  // namespace

bool timer_heap::add(timer* t) {
  std::lock_guard lk(lock);
  t->heap = this;
  items.push_back(t);
  sift_up(items, items.size() - 1);
  bool earliest = items[0] == t;
  when0.store(items[0]->when, std::memory_order_release);
  return earliest;
}

bool timer_heap::remove(timer* t) {
  std::lock_guard lk(lock);
  if (t->heap != this || t->index < 0) return false;
  remove_at(items, static_cast<std::size_t>(t->index));
  t->index = -1;
  t->heap = nullptr;
  when0.store(items.empty() ? INT64_MAX : items[0]->when, std::memory_order_release);
  return true;
}

int timer_heap::run_due(std::int64_t now) {
  int fired = 0;
  for (;;) {
    timer* t;
    {
      std::lock_guard lk(lock);
      if (items.empty() || items[0]->when > now) {
        when0.store(items.empty() ? INT64_MAX : items[0]->when, std::memory_order_release);
        return fired;
      }
      t = items[0];
      remove_at(items, 0);
      t->index = -1;
      t->heap = nullptr;
    }
    t->fire(t);  // may free t: do not touch it afterwards
    ++fired;
  }
}

std::size_t timer_heap::size() {
  std::lock_guard lk(lock);
  return items.size();
}

}  // namespace weft::detail
