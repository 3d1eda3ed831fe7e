// src/runtime/runq.hpp: local and global run queues. Protocol in runq.cpp.
#pragma once

#include "runtime/runtime.hpp"

namespace weft::detail {

// Owner only. next: put gp in runnext (the previous runnext goes to the tail).
void runq_put(p* pp, g* gp, bool next);
// Owner only: runnext first, then the head.
g* runq_get(p* pp);
bool runq_empty(const p* pp);
// Steals half of victim's queue into pp's (which must be empty) and returns
// one G to run. steal_next: also take victim's runnext.
g* runq_steal(p* pp, p* victim, bool steal_next);

// The global run queue. REQUIRES: sched.lock held.
void globrunq_put(g* gp);
void globrunq_put_batch(g* head, g* tail, std::int32_t n);
// Takes up to max (0: a fair share) Gs, returns one and queues the rest on pp.
// REQUIRES: max == 1 or pp's ring is empty (so queuing never overflows back
// into the global queue, whose lock the caller holds).
g* globrunq_get(p* pp, std::int32_t max);

}  // namespace weft::detail
