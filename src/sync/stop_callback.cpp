// src/sync/stop_callback.cpp: the wait behind weft::stop_callback's
// destructor (the hazard is described in weft/stop_callback.hpp).
//
// phase, under `lock`:  idle --begin--> running --end--> done
//                       any  --retire--> retired
// begin runs the callback only from idle (so at most once, and never after
// retire). retire finds the callback running: if the runner is the caller
// (the same goroutine, or the same plain thread), it is the destructor
// running inside its own callback: it tells the invocation, through the
// flag on the invocation's stack, not to touch the state again, and
// returns. Otherwise it queues itself as the one waiter and parks; end
// wakes it after setting done. The invocation touches nothing after end
// has released the lock (the waiter may free the state as soon as it is
// woken), and std::stop_callback's own destructor then finds the callback
// finished, so its thread-id test no longer matters.
#include <weft/stop_callback.hpp>

#include "runtime/park.hpp"

namespace weft::detail {

namespace {

enum phase : std::uint8_t { idle, running, done, retired };

// Who is calling: its G inside a goroutine, else its thread.
const void* caller_tag() noexcept {
  static thread_local char tag;
  if (g* gp = this_g()) return gp;
  return &tag;
}

}  // namespace

bool stop_callback_begin(stop_callback_state* s, bool* retired_inside) noexcept {
  spin_lock(s->lock);
  if (s->phase != idle) {
    spin_unlock(s->lock);
    return false;
  }
  s->phase = running;
  s->runner = caller_tag();
  // A plain thread in the callback will wake the destructor's goroutine:
  // the deadlock check must not count that goroutine as stuck for good.
  if (this_g() == nullptr) sched.plain_threads_seen.store(true);
  s->runner_sees_retired = retired_inside;
  spin_unlock(s->lock);
  return true;
}

void stop_callback_end(stop_callback_state* s) noexcept {
  spin_lock(s->lock);
  s->phase = done;
  auto* w = static_cast<waiter*>(s->waiter);
  s->waiter = nullptr;
  spin_unlock(s->lock);
  if (w) wake(w);
}

void stop_callback_retire(stop_callback_state* s) noexcept {
  spin_lock(s->lock);
  if (s->phase == running) {
    if (s->runner == caller_tag()) {  // inside its own callback
      *s->runner_sees_retired = true;
      s->phase = retired;
      spin_unlock(s->lock);
      return;
    }
    waiter w;
    init_waiter(w);
    s->waiter = &w;
    block_on(w, "stop_callback destructor", s->lock);  // end wakes it
    spin_lock(s->lock);
  }
  s->phase = retired;
  spin_unlock(s->lock);
}

}  // namespace weft::detail
