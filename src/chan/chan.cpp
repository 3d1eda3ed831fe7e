// src/chan/chan.cpp: channels.
//
// A channel is a lock, a ring buffer of `capacity` elements, a closed flag and
// two FIFO queues of parked goroutines: recvq (receivers waiting for a value)
// and sendq (senders waiting with a value). Go's invariants, kept here:
//   - at least one of sendq and recvq is empty (a value and a receiver that
//     could meet never both wait), except for waiters of one select that
//     has both a send and a receive case on this channel (it cannot meet
//     itself), and waiters of selects already won elsewhere, which wakers
//     skip and drop (pop_claimed);
//   - for buffered channels, count > 0 implies recvq is empty, and
//     count < capacity implies sendq is empty;
//   - an unbuffered channel never holds a value: a send meets a waiting
//     receiver and moves the value straight into the receiver's slot (no
//     detour through a buffer), or parks with the value on its own stack for
//     a receiver to take from there.
// Elements are moved by the core through elem_ops, whose move never throws
// (chan<T> boxes a T whose move can), so no value is lost or duplicated when
// a copy or move throws: that can only happen in chan<T> before the core is
// entered.
// Waiters live on the waiting goroutine's stack (runtime/park.hpp); the lock
// is released after the goroutine's context is saved. A waker sets the
// waiter's outcome (success, or closed) under the lock, then wakes it.
#include "chan/chan_internal.hpp"
#include "runtime/gstats.hpp"
#include "runtime/trace_events.hpp"

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <new>
#include <stdexcept>
#include <string>

#include <weft/errors.hpp>

namespace weft::detail {

namespace {

void* alloc_buffer(const elem_ops* ops, std::size_t n) {
  if (n == 0) return nullptr;
  std::size_t a = std::max(ops->align, alignof(std::max_align_t));
  // n * size rounded up to a must not wrap: a wrapped size allocates a
  // small buffer that sends then write past (Go checks the same).
  if (ops->size != 0 && n > (SIZE_MAX - a) / ops->size)
    throw std::length_error("makechan: size out of range (capacity " + std::to_string(n) + " of " +
                            std::to_string(ops->size) + "-byte elements)");
  std::size_t bytes = (n * ops->size + a - 1) / a * a;
  void* p = std::aligned_alloc(a, bytes);
  if (!p) throw std::bad_alloc();
  return p;
}

}  // namespace

chan_core* chan_make(std::size_t capacity, const elem_ops* ops) {
  auto* c = new chan_core;
  c->ops = ops;
  c->capacity = capacity;
  try {
    c->buf = static_cast<unsigned char*>(alloc_buffer(ops, capacity));
  } catch (...) {
    delete c;
    throw;
  }
  return c;
}

void chan_retain(chan_core* c) noexcept { c->refs.fetch_add(1, std::memory_order_relaxed); }

// Not analysed: it reads count without the lock, as the last reference to c,
// which nobody else can reach any more (like a destructor).
void chan_release(chan_core* c) noexcept NO_THREAD_SAFETY_ANALYSIS {
  if (c->refs.fetch_sub(1, std::memory_order_acq_rel) != 1) return;
  for (std::size_t i = 0; i < c->count; ++i) c->ops->destroy(c->slot((c->recvx + i) % c->capacity));
  std::free(c->buf);
  delete c;
}

void block_forever(const char* reason) {
  forbid_parking_in_blocking(reason);
  if (this_g()) {
    park(reason, nullptr, nullptr);
  }
  std::atomic<std::uint32_t> never{0};
  for (;;) os::futex_wait(&never, 0, -1);
}

namespace {

// The steps themselves, inlined into chan_send and chan_recv (their calls'
// prologues were a twentieth of pingpong's instructions); select.cpp calls
// them through send_locked and recv_locked.
[[gnu::always_inline]] inline chan_step send_step(chan_core* c, void* elem, waiter** to_wake) REQUIRES(c->lock) {
  *to_wake = nullptr;
  if (c->closed) return chan_step::closed;
  if (waiter* r = c->recvq.pop_claimed()) {
    c->ops->move_construct(r->elem, elem);
    r->success = true;
    *to_wake = r;
    return chan_step::done;
  }
  if (c->count < c->capacity) {
    c->ops->move_construct(c->slot(c->sendx), elem);
    if (++c->sendx == c->capacity) c->sendx = 0;
    ++c->count;
    return chan_step::done;
  }
  return chan_step::would_block;
}

[[gnu::always_inline]] inline chan_step recv_step(chan_core* c, void* out, waiter** to_wake) REQUIRES(c->lock) {
  *to_wake = nullptr;
  if (waiter* s = c->sendq.pop_claimed()) {
    if (c->capacity == 0) {
      c->ops->move_construct(out, s->elem);
    } else {
      // Full buffer: take the head, put the sender's value at the tail.
      void* head = c->slot(c->recvx);
      c->ops->move_construct(out, head);
      c->ops->destroy(head);
      c->ops->move_construct(head, s->elem);
      if (++c->recvx == c->capacity) c->recvx = 0;
      c->sendx = c->recvx;
    }
    s->success = true;
    *to_wake = s;
    return chan_step::done;
  }
  if (c->count > 0) {
    void* head = c->slot(c->recvx);
    c->ops->move_construct(out, head);
    c->ops->destroy(head);
    if (++c->recvx == c->capacity) c->recvx = 0;
    --c->count;
    return chan_step::done;
  }
  return c->closed ? chan_step::closed : chan_step::would_block;
}

}  // namespace

chan_step send_locked(chan_core* c, void* elem, waiter** to_wake) { return send_step(c, elem, to_wake); }

chan_step recv_locked(chan_core* c, void* out, waiter** to_wake) { return recv_step(c, out, to_wake); }

namespace {

// Releases c's lock, then wakes the counterpart of a completed step.
void unlock_and_wake(chan_core* c, waiter* w) RELEASE(c->lock) {
  c->lock.unlock();
  if (w) wake(w);
}

}  // namespace

void chan_send(chan_core* c, void* elem) {
  if (c == nullptr) block_forever("chan send (nil chan)");
  trace_here(ev::chan_send, reinterpret_cast<std::uintptr_t>(c));
  if (gstats_enabled()) gstats_chan(true);
  c->lock.lock();
  waiter* w = nullptr;
  switch (send_step(c, elem, &w)) {
    case chan_step::done:
      unlock_and_wake(c, w);
      preempt_check();  // a send that did not block is a yield point
      return;
    case chan_step::closed: c->lock.unlock(); throw closed_channel_error();
    case chan_step::would_block: break;
  }
  g* gp = this_g();
  if (parking_forbidden(gp)) {
    c->lock.unlock();
    throw_parking_forbidden("chan send");
  }
  waiter self;
  self.gp = gp;
  self.elem = elem;
  c->sendq.push_back(&self);
  block_on(self, "chan send", c->lock);
  if (!self.success) throw closed_channel_error();
}

bool chan_try_send(chan_core* c, void* elem) {
  trace_here(ev::chan_send, reinterpret_cast<std::uintptr_t>(c), "try");
  bool sent = chan_try_send_no_yield(c, elem);
  if (sent && gstats_enabled()) gstats_chan(true);
  preempt_check();  // a loop of try_send (or of a select with a default) must yield
  return sent;
}

bool chan_try_send_no_yield(chan_core* c, void* elem) {
  if (c == nullptr) return false;
  c->lock.lock();
  waiter* w = nullptr;
  switch (send_step(c, elem, &w)) {
    case chan_step::done: unlock_and_wake(c, w); return true;
    case chan_step::closed: c->lock.unlock(); throw closed_channel_error();
    case chan_step::would_block: break;
  }
  c->lock.unlock();
  return false;
}

bool chan_recv(chan_core* c, void* out) {
  if (c == nullptr) block_forever("chan receive (nil chan)");
  trace_here(ev::chan_recv, reinterpret_cast<std::uintptr_t>(c));
  if (gstats_enabled()) gstats_chan(false);
  c->lock.lock();
  waiter* w = nullptr;
  switch (recv_step(c, out, &w)) {
    case chan_step::done:
      unlock_and_wake(c, w);
      preempt_check();  // so is a receive
      return true;
    case chan_step::closed: c->lock.unlock(); return false;
    case chan_step::would_block: break;
  }
  g* gp = this_g();
  if (parking_forbidden(gp)) {
    c->lock.unlock();
    throw_parking_forbidden("chan receive");
  }
  waiter self;
  self.gp = gp;
  self.elem = out;
  c->recvq.push_back(&self);
  block_on(self, "chan receive", c->lock);
  return self.success;
}

bool chan_try_recv(chan_core* c, void* out, bool* closed) {
  trace_here(ev::chan_recv, reinterpret_cast<std::uintptr_t>(c), "try");
  bool got = chan_try_recv_no_yield(c, out, closed);
  if (got && gstats_enabled()) gstats_chan(false);
  preempt_check();
  return got;
}

bool chan_try_recv_no_yield(chan_core* c, void* out, bool* closed) {
  *closed = false;
  if (c == nullptr) return false;
  c->lock.lock();
  waiter* w = nullptr;
  chan_step step = recv_step(c, out, &w);
  unlock_and_wake(c, w);
  *closed = step == chan_step::closed;
  return step == chan_step::done;
}

void chan_close(chan_core* c) {
  if (c == nullptr) throw misuse_error("close of nil channel");
  c->lock.lock();
  if (c->closed) {
    c->lock.unlock();
    throw misuse_error("close of closed channel");
  }
  c->closed = true;
  // Claimed under the lock, woken after it: a select that another case won
  // meanwhile is skipped (it unlinks its other waiters itself).
  waitq woken;
  while (waiter* r = c->recvq.pop_claimed()) woken.push_back(r);
  while (waiter* s = c->sendq.pop_claimed()) woken.push_back(s);
  c->lock.unlock();
  while (waiter* w = woken.pop_front()) wake(w);  // success stays false
}

std::size_t chan_size(const chan_core* c) noexcept {
  auto* m = const_cast<chan_core*>(c);
  lock_scope lk(m->lock);
  return m->count;
}

std::size_t chan_capacity(const chan_core* c) noexcept { return c->capacity; }

}  // namespace weft::detail
