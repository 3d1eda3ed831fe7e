// src/runtime/timer.cpp: timers, kept per P.
//
// Each P owns a 4-ary min-heap of timers (Go's layout: shallower than a binary
// heap, fewer cache misses on sift-down). A goroutine that sleeps arms a timer
// on its own P; the scheduler fires due timers of its own P at every schedule
// and of every P when it looks for work before going idle, so timers of an
// idle P still fire; at most as many at a time as its run queue has room for
// (run_due_timers), so their Gs stay off the global queue. One idle M, the
// timer waiter, sleeps until the earliest timer of all Ps (proc.cpp); arming
// an earlier timer wakes it.
//
// when0 caches the earliest deadline so that the scheduler's check costs one
// relaxed load when nothing is due.
//
// Cancelling: a timer records the heap it is armed on (t->heap, changed only
// under that heap's lock), so timer_stop from any thread finds it and removes
// it at once (O(log n)): a stopped timer costs no memory and no work later.
// The heap's array gives memory back when it falls to a quarter of its
// capacity. A timer taken to fire is marked `firing` until its fire function
// calls timer_fire_done, so an owner that lost the race with a fire can wait
// for it to finish before freeing the timer (timer_wait_fire).
//
// Where fire functions run: on a scheduler thread, never while a parking G
// still holds the lock it waits under (park skips timers; finish_switch runs
// them once that lock is released), so a fire function may take a channel's
// or a wait queue's lock.
#include "runtime/timer.hpp"

#include <mutex>

#include "runtime/netpoll.hpp"
#include "runtime/runtime.hpp"

namespace weft::detail {

namespace {

using heap_vec = std::vector<timer_heap::entry>;

void place(heap_vec& h, std::size_t i, timer_heap::entry e) {
  h[i] = e;
  e.t->index = static_cast<std::int32_t>(i);
}

void sift_up(heap_vec& h, std::size_t i) {
  timer_heap::entry e = h[i];
  while (i > 0) {
    std::size_t parent = (i - 1) / 4;
    if (h[parent].when <= e.when) break;
    place(h, i, h[parent]);
    i = parent;
  }
  place(h, i, e);
}

void sift_down(heap_vec& h, std::size_t i) {
  timer_heap::entry e = h[i];
  std::size_t n = h.size();
  for (;;) {
    std::size_t c = 4 * i + 1;
    if (c >= n) break;
    std::size_t best = c;
    for (std::size_t k = c + 1; k < c + 4 && k < n; ++k)
      if (h[k].when < h[best].when) best = k;
    if (h[best].when >= e.when) break;
    place(h, i, h[best]);
    i = best;
  }
  place(h, i, e);
}

void remove_at(heap_vec& h, std::size_t i) {
  timer_heap::entry last = h.back();
  h.pop_back();
  if (i < h.size()) {
    place(h, i, last);
    sift_down(h, i);
    sift_up(h, static_cast<std::size_t>(last.t->index));
  }
}

// Keeps a heap that was large and is now mostly cancelled from holding on to
// its peak: the million-timer case.
void maybe_shrink(heap_vec& h) {
  if (h.capacity() > 1024 && h.size() < h.capacity() / 4) h.shrink_to_fit();
}

}  // namespace

bool timer_heap::add(timer* t) {
  lock_scope lk(lock);
  t->heap.store(this, std::memory_order_relaxed);
  items.push_back({t->when, t});
  sift_up(items, items.size() - 1);
  bool earliest = items[0].t == t;
  when0.store(items[0].when, std::memory_order_release);
  return earliest;
}

int timer_heap::run_due(std::int64_t now, int max) {
  int fired = 0;
  for (;;) {
    timer* t;
    {
      lock_scope lk(lock);
      if (items.empty() || items[0].when > now || fired == max) {
        when0.store(items.empty() ? INT64_MAX : items[0].when, std::memory_order_release);
        return fired;
      }
      t = items[0].t;
      remove_at(items, 0);
      t->index = -1;
      t->firing.store(1, std::memory_order_relaxed);
      t->heap.store(nullptr, std::memory_order_release);
      maybe_shrink(items);
    }
    t->fire(t);  // may free t: do not touch it afterwards
    ++fired;
  }
}

timer_heap::~timer_heap() {
  // Armed sleepers' timers live on their (abandoned) stacks, which are
  // released after the Ps: reading them here is safe.
  for (entry e : items) {
    timer* t = e.t;
    if (t->drop == nullptr) continue;
    t->index = -1;
    t->heap.store(nullptr, std::memory_order_relaxed);
    t->drop(t);
  }
}

std::size_t timer_heap::size() {
  lock_scope lk(lock);
  return items.size();
}

namespace {

void wake_waiter_for(std::int64_t when) {
  if (when >= sched.waiter_deadline.load(std::memory_order_acquire)) return;
  lock_scope lk(sched.lock);
  if (sched.timer_waiter && when < sched.waiter_deadline.load(std::memory_order_relaxed)) {
    sched.timer_waiter->park.wakeup();
    if (sched.waiter_polls) netpoll_break();
  }
}

}  // namespace

void timer_start(timer* t) {
  m* mp = this_m();
  // A bound M's private P is not looked at by other Ms: its timers go to P 0
  // like a plain thread's, and their fire wakes the bound M through ready().
  bool own_p = mp && mp->pp && !mp->pp->is_private;
  p* pp = own_p ? mp->pp : sched.allp.at(0);
  std::int64_t when = t->when;
  if (pp->timers.add(t)) {
    wake_waiter_for(when);  // t may already have fired: use the copy
    // A caller without a P (a plain thread) will not look at P 0's heap
    // itself, and every M may be idle with no timer waiter (one becomes the
    // waiter only when it idles with a timer armed): get an M going, which
    // fires t or becomes the waiter for it.
    if (!own_p) {
      // Pairs with handoffp's fence: either it sees t, or this sees its P idle.
      std::atomic_thread_fence(std::memory_order_seq_cst);
      wakep();
    }
  }
}

bool timer_stop(timer* t) {
  for (;;) {
    timer_heap* h = t->heap.load(std::memory_order_acquire);
    if (h == nullptr) return false;
    lock_scope lk(h->lock);
    if (t->heap.load(std::memory_order_relaxed) != h) continue;  // fired, or moved: look again
    remove_at(h->items, static_cast<std::size_t>(t->index));
    t->index = -1;
    t->heap.store(nullptr, std::memory_order_relaxed);
    h->when0.store(h->items.empty() ? INT64_MAX : h->items[0].when, std::memory_order_release);
    maybe_shrink(h->items);
    return true;
  }
}

void timer_wait_fire(timer* t) {
  while (t->firing.load(std::memory_order_acquire) != 0) {
    if (this_g())
      yield_now();
    else
      cpu_relax();
  }
}

}  // namespace weft::detail
