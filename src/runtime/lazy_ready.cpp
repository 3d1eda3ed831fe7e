// src/runtime/lazy_ready.cpp: goroutines readied lazily, after the others
// queued on the readier's P (runtime.hpp, ready_me_lazily).
//
// What for: a link's writer (wire/link.hpp) writes every frame queued
// when it runs. Readied at once, it would run before the senders waiting
// to run on that P and write one frame each time; readied after them, one
// write carries all their frames.
//
// The protocol: ready() of a lazy G by a running G whose P has others
// queued puts it in the P's lazy list (queue_lazily) instead of its run
// queue, and wakes no M. The owner's every pick (find_runnable_fast)
// moves the list to the run queue, the first to runnext, once the run
// queue is empty or lazy_max_age goroutines have run since the first was
// kept (promote_lazy_if_due). Invariants:
//   - a P holding lazy Gs is not idle: a pick that finds its queue empty
//     moves them first, and handoffp counts them as work;
//   - no other P steals them, so when the P's G runs on without a switch
//     for a whole look of sysmon's, sysmon takes them to the global queue
//     (sysmon.cpp, take_lazy) and wakes an M: a loop that waits for what a
//     lazy G would do (the frame its answer needs) cannot hang its P;
//   - the list is under p.lazy_lock, since sysmon takes it too; p.has_lazy
//     mirrors "non-empty" for looks without the lock.
#include "runtime/runq.hpp"
#include "runtime/runtime.hpp"

namespace weft::detail {

namespace {

// How many goroutines may run on a P ahead of a lazily readied one: a P
// that always has work still runs it (and so does one where a pair hands
// runnext back and forth). A link's writer then takes up to this many
// senders' frames in one write.
constexpr std::uint32_t lazy_max_age = 32;

}  // namespace

void ready_me_lazily() noexcept {
  if (g* gp = this_g()) gp->ready_lazily = true;
}

bool others_runnable_here() noexcept {
  m* mp = this_m();
  return mp != nullptr && mp->curg != nullptr && mp->pp != nullptr && !runq_empty(mp->pp);
}

// With nothing else queued a lazy G is readied as any G: it would run next
// anyway, and another M may take it now.
bool queue_lazily(m* mp, g* gp) noexcept {
  if (mp == nullptr || mp->curg == nullptr || mp->pp == nullptr || mp->pp->is_private || runq_empty(mp->pp))
    return false;
  p* pp = mp->pp;
  gp->schedlink = nullptr;
  lock_scope lk(pp->lazy_lock);
  if (pp->lazy_head == nullptr) {
    pp->lazy_head = gp;
    pp->lazy_first_switch = pp->switches.load(std::memory_order_relaxed);
    pp->has_lazy.store(true, std::memory_order_relaxed);
  } else {
    pp->lazy_tail->schedlink = gp;
  }
  pp->lazy_tail = gp;
  return true;
}

// The first goes to runnext, so that it runs next even beside a pair that
// hands runnext back and forth (which the ring would wait behind for a
// whole time slice).
void promote_lazy_if_due(p* pp) {
  if (!runq_empty(pp) && pp->switches.load(std::memory_order_relaxed) - pp->lazy_first_switch < lazy_max_age) return;
  g* gp = take_lazy(pp);
  for (bool first = true; gp != nullptr; first = false) {
    g* next = gp->schedlink;
    gp->schedlink = nullptr;
    runq_put(pp, gp, first);
    gp = next;
  }
}

g* take_lazy(p* pp) noexcept {
  lock_scope lk(pp->lazy_lock);
  g* gp = pp->lazy_head;
  pp->lazy_head = pp->lazy_tail = nullptr;
  pp->has_lazy.store(false, std::memory_order_relaxed);
  return gp;
}

}  // namespace weft::detail
