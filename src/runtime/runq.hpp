// src/runtime/runq.hpp: local and global run queues. Protocol in runq.cpp.
#pragma once

#include "runtime/runtime.hpp"

namespace weft::detail {

// Owner only. next: put gp in runnext (the previous runnext goes to the
// tail); callers use runq_put_next, below, for that.
void runq_put(p* pp, g* gp, bool next);
// Owner only: gp into runnext. Inline where runnext is empty (the
// ping-pong path): only the owner fills runnext and thieves only empty it,
// so an empty one stays empty until this store, and no RMW is needed.
inline void runq_put_next(p* pp, g* gp) {
  if (pp->runnext.load(std::memory_order_relaxed) == nullptr) {
    pp->runnext.store(gp, std::memory_order_release);
    return;
  }
  runq_put(pp, gp, true);
}
// Owner only: runnext first, then the head.
g* runq_get(p* pp);
g* runnext_take(p* pp);  // owner only: runnext alone
g* runq_get_ring(p* pp);  // owner only: the ring's head alone
bool runq_empty(const p* pp);
// Owner only: free slots in pp's ring (stealers may free more meanwhile).
std::uint32_t runq_room(const p* pp);
// Steals half of victim's queue into pp's (which must be empty) and returns
// one G to run. steal_next: also take victim's runnext.
g* runq_steal(p* pp, p* victim, bool steal_next);
// Tests only: called with the victim once inside runq_steal's wait for a
// running victim's runnext, to play what its owner does meanwhile.
extern std::atomic<void (*)(p* victim)> runnext_wait_hook;

// The global queues (sched.runq, sched.freshq).
void globrunq_put(g* gp) REQUIRES(sched.lock);  // a G that ran before
// Appends the list head..tail (n Gs) to q. REQUIRES: q's lock (sched.lock,
// or a bound M's inbox_lock): one function for both, so not annotated.
void globrunq_put_batch(gqueue& q, g* head, g* tail, std::int32_t n);
// Appends n Gs that never ran to sched.freshq, in order.
void freshq_put(g* const* gs, std::int32_t n) REQUIRES(sched.lock);
// Takes up to max (0: a fair share) Gs, returns one and queues the rest on
// pp: from sched.runq, or when that is empty (or fresh_first), from
// sched.freshq, in smaller batches.
// REQUIRES: max == 1 or pp's ring is empty (so queuing never overflows back
// into the global queue, whose lock the caller holds).
g* globrunq_get(p* pp, std::int32_t max, bool fresh_first = false) REQUIRES(sched.lock);

}  // namespace weft::detail
