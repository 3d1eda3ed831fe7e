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
// woken).
//
// std::stop_callback's destructor then runs, and libstdc++ decides by thread
// id whether it is inside the callback (then it does not wait) or elsewhere
// (then it waits, briefly, for the invocation to finish with its record).
// That test is true to goroutines only because begin wires a goroutine
// runner to its thread until end: the requesting goroutine cannot move off
// the thread libstdc++ recorded, and no destructor in another goroutine can
// run on that thread while the request is in its callbacks. Without the
// wiring, a callback that parked could resume elsewhere while the
// destructor ran on the requesting thread, skipped the wait and freed the
// record under libstdc++'s last writes (TSan caught it in CI).
#include <weft/stop_callback.hpp>
#include <weft/thread.hpp>

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

bool stop_callback_begin(stop_callback_state* s, stop_callback_invocation* inv) noexcept {
  spin_lock(s->lock);
  if (s->phase != idle) {
    spin_unlock(s->lock);
    return false;
  }
  s->phase = running;
  s->runner = caller_tag();
  // A plain thread in the callback will wake the destructor's goroutine:
  // the deadlock check must not count that goroutine as stuck for good.
  g* gp = this_g();
  if (gp == nullptr) sched.plain_threads_seen.store(true);
  s->runner_sees_retired = &inv->retired_inside;
  spin_unlock(s->lock);
  // A goroutine with a home (locked, dedicated, in a thread_locker) already
  // stays on its thread.
  if (gp != nullptr && gp->home == nullptr) {
    lock_os_thread();
    inv->pinned = true;
  }
  return true;
}

void stop_callback_end(stop_callback_state* s, const stop_callback_invocation& inv) noexcept {
  if (inv.pinned) unlock_os_thread();
  if (inv.retired_inside) return;  // the state is gone
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
