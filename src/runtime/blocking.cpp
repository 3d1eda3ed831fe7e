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
// REQUIRES inside f: nothing that uses the P (parking weft calls, weft::go):
// the P may belong to another M by then. Documented in weft/blocking.hpp.
#include <weft/blocking.hpp>

#include <mutex>

#include "runtime/runtime.hpp"
#include "runtime/trace_events.hpp"

namespace weft::detail {

void blocking_enter(const call_site& where) noexcept {
  m* mp = this_m();
  if (mp == nullptr || mp->curg == nullptr || mp->pp == nullptr) return;  // a plain thread
  g* gp = mp->curg;
  gp->blocking_function.store(where.function, std::memory_order_relaxed);
  gp->blocking_line.store(where.line, std::memory_order_relaxed);
  gp->blocking_file.store(where.file, std::memory_order_relaxed);
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
  mp->curg->blocking_file.store(nullptr, std::memory_order_relaxed);
  p* pp = mp->pp;
  if (pp->is_private) return;
  m* expected = mp;
  if (pp->in_blocking.compare_exchange_strong(expected, nullptr, std::memory_order_acq_rel)) return;
  // sysmon handed the P off while we were away.
  mp->pp = nullptr;
  p* np;
  {
    std::lock_guard lk(sched.lock);
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
  switch_to(gp, &mp->g0);
}

}  // namespace weft::detail
