// src/runtime/blocking.cpp: weft::blocking, Go's entersyscall/exitsyscall.
//
// A G about to block in the kernel or a foreign library keeps its M and its
// P, and marks the P: p.in_blocking = this M (one release store). If the
// call returns soon, one CAS (this M -> null) takes the mark back and
// nothing else happened: a short call costs two atomic operations and no
// lock. If the call lasts, sysmon (sysmon.cpp) sees the same mark on two
// looks ~20 us apart, takes it away with its own CAS (this M -> null) and
// hands the P off (handoffp) so the P's other Gs run on another M. Exactly
// one of the two CASes wins, so the P never has two owners.
//
// An M whose CAS lost no longer has a P (and must not touch the old one:
// another M owns it now). It takes an idle P if there is one and goes on;
// otherwise it puts its G on the global run queue and becomes an idle M.
//
// Nesting: a blocking call made inside another (nothing forbids it) is part
// of the outer one. Only the outermost enter marks the P and only the
// outermost exit takes the mark back (g.blocking_depth): an inner exit that
// took it would leave the outer call running unmarked, and the outer exit's
// CAS would then fail and give away a P that nobody had handed off.
//
// Inside f nothing may use the P (the P may belong to another M by then):
// the parking primitives check g.blocking_depth before they queue a waiter
// and throw misuse_error (forbid_parking_in_blocking); park itself ends the
// program if one slips through; yield points (preempt_check) are skipped.
// Documented in weft/blocking.hpp.
#include <weft/blocking.hpp>

#include <mutex>
#include <string>

#include "runtime/runtime.hpp"
#include "runtime/trace_events.hpp"
#include <weft/errors.hpp>

namespace weft::detail {

void blocking_enter(const call_site& where) noexcept {
  m* mp = this_m();
  if (mp == nullptr || mp->curg == nullptr || mp->pp == nullptr) return;  // a plain thread
  g* gp = mp->curg;
  if (gp->blocking_depth++ != 0) return;  // nested: the outermost call holds the mark
  gp->blocking_function.store(where.function, std::memory_order_relaxed);
  gp->blocking_line.store(where.line, std::memory_order_relaxed);
  gp->blocking_file.store(where.file, std::memory_order_relaxed);
  trace_ev(mp, ev::blocking_enter, gp->id, 0, where.function);
  p* pp = mp->pp;
  // A bound M's private P is its alone and sysmon never looks at it: nothing
  // to hand off.
  if (pp->is_private) return;
  pp->blocking_tick.store(pp->blocking_tick.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
  pp->in_blocking.store(mp, std::memory_order_release);
}

void blocking_exit() noexcept {
  m* mp = this_m();
  if (mp == nullptr || mp->curg == nullptr || mp->pp == nullptr) return;
  if (--mp->curg->blocking_depth != 0) return;  // an inner call of a nested pair
  mp->curg->blocking_file.store(nullptr, std::memory_order_relaxed);
  trace_ev(mp, ev::blocking_exit, mp->curg->id);
  p* pp = mp->pp;
  if (pp->is_private) return;
  m* expected = mp;
  if (pp->in_blocking.compare_exchange_strong(expected, nullptr, std::memory_order_acq_rel)) return;
  // sysmon handed the P off while we were away.
  mp->pp = nullptr;
  p* np;
  {
    lock_scope lk(sched.lock);
    np = pidle_get();
  }
  if (np) {
    acquirep(mp, np);
    return;
  }
  // No P: this G waits in the global queue; this M goes idle (its g0 finds
  // no P and sleeps in m_idle).
  g* gp = mp->curg;
  // A locked M's G, once queued, comes back with a P through the M's note
  // (schedule_locked): arm it before the G can be seen.
  if (mp->kind == m_kind::locked) mp->park.clear();
  mp->action = after_switch::requeue;
  switch_to(mp, gp, &mp->g0);
}

bool parking_forbidden() noexcept { return parking_forbidden(this_g()); }

void throw_parking_forbidden(const char* what) {
  throw misuse_error(std::string(what) +
                     " inside weft::blocking: the function given to weft::blocking must not park (channels, "
                     "locks, sleep, yield); do the weft calls before or after it");
}

}  // namespace weft::detail
