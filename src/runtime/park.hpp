// src/runtime/park.hpp: one waiter, goroutine or plain thread.
//
// weft's primitives (mutex, wait_group, channels) keep queues of waiters that
// live on the waiting side's stack. A goroutine waiter parks its G; a plain
// thread (outside weft::run) sleeps on a futex. The queue's lock is released
// only once the waiter can be woken safely (for a G: after its context is
// saved, see context.cpp).
#pragma once

#include <atomic>
#include <cstdint>

#include "platform/futex.hpp"
#include "platform/spinlock.hpp"
#include "runtime/runtime.hpp"

namespace weft::detail {

struct waiter;

// What the waiters of one blocked select share: only the first waker to
// claim `done` may complete an operation with one of them (chan/select.cpp).
struct select_state {
  std::atomic<std::uint32_t> done{0};
  waiter* fired = nullptr;  // the claimed waiter; set before its wake
  std::atomic<std::uint32_t> woken{0};  // plain threads sleep on this
  // External cases (remote channels) are won from outside any channel lock
  // (select.cpp, "External cases"): under `gate`, the winner records its
  // case in ext_fired and wakes the select only if `parked` is set (the
  // select sets it under the gate and releases the gate after it parked).
  spinlock gate;
  bool parked GUARDED_BY(gate) = false;
  int ext_fired GUARDED_BY(gate) = -1;  // the external case that won
  g* gp = nullptr;  // the selecting goroutine; null: a plain thread
};

struct waiter {
  g* gp = nullptr;  // null: a plain thread
  std::atomic<std::uint32_t> woken{0};
  waiter* next = nullptr;
  waiter* prev = nullptr;
  void* elem = nullptr;  // channels: where the value goes or comes from
  bool success = false;  // channels: false when woken by close
  select_state* sel = nullptr;  // non-null: one case of a blocked select
};

// A waker found w on a queue (and popped it). False if w belongs to a select
// that another case has already won: skip it. REQUIRES: the queue's lock.
inline bool claim(waiter* w) {
  select_state* s = w->sel;
  if (s == nullptr) return true;
  std::uint32_t expected = 0;
  if (!s->done.compare_exchange_strong(expected, 1, std::memory_order_acq_rel)) return false;
  s->fired = w;
  return true;
}

inline void unlock_word(void* w) { spin_unlock(*static_cast<std::atomic<std::uint32_t>*>(w)); }

// REQUIRES: lock held, w queued where a waker will find it. Returns after
// wake(&w); lock is released.
inline void block_on(waiter& w, const char* reason, std::atomic<std::uint32_t>& lock) {
  if (w.gp) {
    park(reason, unlock_word, &lock);
    return;
  }
  sched.plain_threads_seen.store(true);
  spin_unlock(lock);
  while (w.woken.load(std::memory_order_acquire) == 0) os::futex_wait(&w.woken, 0, -1);
}

// The same on a spinlock, so that the caller's analysis sees the lock go.
// Not analysed itself: a goroutine's lock is released by the context that
// runs after its switch (park's unlock callback), which clang cannot follow.
inline void block_on(waiter& w, const char* reason, spinlock& lock) RELEASE(lock) NO_THREAD_SAFETY_ANALYSIS {
  block_on(w, reason, lock.word());
}

// Wakes a waiter taken off a queue. The waiter may return (and its stack
// frame vanish) as soon as this starts: w is not touched after the wake.
inline void wake(waiter* w) {
  if (g* gp = w->gp) {
    ready(gp);
    return;
  }
  // A plain thread that weft wakes goes on and may ready a G later.
  sched.plain_threads_seen.store(true);
  std::atomic<std::uint32_t>* word = w->sel ? &w->sel->woken : &w->woken;
  word->store(1, std::memory_order_release);
  os::futex_wake(word, 1);
}

// A waiter for the calling context.
inline void init_waiter(waiter& w) { w.gp = this_g(); }

// A FIFO of waiters (intrusive, doubly linked so select can unlink).
struct waitq {
  waiter* head = nullptr;
  waiter* tail = nullptr;
  void push_back(waiter* w) {
    w->next = nullptr;
    w->prev = tail;
    if (tail)
      tail->next = w;
    else
      head = w;
    tail = w;
  }
  void push_front(waiter* w) {
    w->prev = nullptr;
    w->next = head;
    if (head)
      head->prev = w;
    else
      tail = w;
    head = w;
  }
  waiter* pop_front() {
    waiter* w = head;
    if (w) {
      head = w->next;
      if (head)
        head->prev = nullptr;
      else
        tail = nullptr;
      w->next = w->prev = nullptr;
    }
    return w;
  }
  // The first waiter that can be claimed (claim()), skipping and dropping
  // those of selects already won elsewhere.
  waiter* pop_claimed() {
    while (waiter* w = pop_front()) {
      if (claim(w)) return w;
    }
    return nullptr;
  }
  // Unlinks w if it is still queued here (a waker may have popped it).
  void remove(waiter* w) {
    if (w->prev)
      w->prev->next = w->next;
    else if (head == w)
      head = w->next;
    else
      return;  // not queued: popped ones have both links cleared
    if (w->next)
      w->next->prev = w->prev;
    else
      tail = w->prev;
    w->next = w->prev = nullptr;
  }
  bool empty() const { return head == nullptr; }
};

// Blocks the caller forever (nil channels).
[[noreturn]] void block_forever(const char* reason);

}  // namespace weft::detail
