// src/runtime/runq.cpp: the run queues.
//
// Each P has a bounded ring of 256 Gs. Only the owner pushes, at tail; the
// owner and stealers pop at head with a CAS. The owner publishes a slot with a
// release store of tail; a consumer reads head (acquire), tail (acquire), the
// slots (relaxed), then claims them by CAS on head: if the CAS succeeds no
// one else took them and the owner cannot have overwritten them (it only
// writes slots between tail and head + 256). Slots are atomics so that this
// benign race is not undefined behaviour (and TSan agrees).
//
// runnext holds the G readied by the running G. It runs next, ahead of the
// queue, and inherits the time slice: a ping-pong pair on one P alternates
// without ever touching the ring. When the ring is full, half of it moves to
// the global queue under sched.lock, so a burst of spawns costs one lock per
// 128 Gs.
//
// Two global queues: Gs that ran before (runq) and Gs that never ran
// (freshq). An overflowing ring sends each G to its kind's queue, and an
// empty ring refills from runq first, from freshq only when runq is empty
// (and then 32 at a time). The scheduler's fairness check (every 61st pick)
// alternates between the two, so neither starves. Why: a G that never ran
// has no stack yet. When a program starts far more goroutines than can run
// at once (100,000 sleepers), running the woken ones before starting more
// lets the ones that finish hand their stacks to the ones that start, instead
// of every goroutine faulting in a fresh stack (10-30 us a page on these
// VMs) while the first ones wait behind the rest. Go runs them in plain FIFO
// order; its 2 KiB stacks come from memory the heap already has.
//
// runq is linked through g.schedlink; freshq is an array of 64-byte
// entries (freshq.hpp). Fresh goroutines are the many (a million spawns
// queue a million), so most of them wait there as records, not Gs: a G
// that overflows into freshq gives its closure to a record and goes back to
// the free list, and a P that takes the record makes it a G again from its
// own free list. A G that stays a G is asked for (prefetch_g) when the one
// before it is taken from the ring, so its lines arrive while that one runs.
#include "runtime/runq.hpp"

#include <algorithm>

#include "platform/futex.hpp"
#include "runtime/gslab.hpp"

namespace weft::detail {

namespace {

// Moves gp and half of pp's ring to the global queue. False if a stealer
// took from the ring meanwhile (the caller retries the fast path).
bool runq_put_slow(p* pp, g* gp, std::uint32_t h, std::uint32_t t) {
  constexpr std::uint32_t n = runq_size / 2;
  g* batch[n + 1];
  if (t - h != runq_size) fatal("runq_put_slow: queue is not full");
  for (std::uint32_t i = 0; i < n; ++i) batch[i] = pp->runq[(h + i) % runq_size].load(std::memory_order_relaxed);
  if (!pp->runq_head.compare_exchange_strong(h, h + n, std::memory_order_release, std::memory_order_relaxed))
    return false;
  batch[n] = gp;
  // Split by kind, keeping the order within each: Gs that ran, linked for
  // runq; fresh ones, in an array for freshq.
  g* head = nullptr;
  g* tail = nullptr;
  std::int32_t ran = 0;
  g* fresh[n + 1];
  std::int32_t nfresh = 0;
  for (g* b : batch) {
    if (!b->ever_ran) {
      fresh[nfresh++] = b;
      continue;
    }
    b->schedlink = nullptr;
    (tail ? tail->schedlink : head) = b;
    tail = b;
    ++ran;
  }
  // Fresh Gs that became records (freshq.hpp) go back to this P's free
  // list, outside the lock: the next spawns here take them again. (They
  // are gathered at the front of `fresh`, behind the reads of it.)
  std::int32_t nrecorded = 0;
  {
    lock_scope lk(sched.lock);
    if (ran) globrunq_put_batch(sched.runq, head, tail, ran);
    for (std::int32_t i = 0; i < nfresh; ++i)
      if (sched.freshq.put_or_record(fresh[i])) fresh[nrecorded++] = fresh[i];
  }
  for (std::int32_t i = 0; i < nrecorded; ++i) g_put(pp, fresh[i]);
  return true;
}

}  // namespace

void runq_put(p* pp, g* gp, bool next) {
  if (next) {  // runq_put_next (runq.hpp) has already tried an empty runnext
    gp = pp->runnext.exchange(gp, std::memory_order_acq_rel);
    if (gp == nullptr) return;  // the previous runnext, if any, goes to the ring
  }
  for (;;) {
    std::uint32_t h = pp->runq_head.load(std::memory_order_acquire);
    std::uint32_t t = pp->runq_tail.load(std::memory_order_relaxed);
    if (t - h < runq_size) {
      pp->runq[t % runq_size].store(gp, std::memory_order_relaxed);
      pp->runq_tail.store(t + 1, std::memory_order_release);
      return;
    }
    if (runq_put_slow(pp, gp, h, t)) return;
  }
}

g* runnext_take(p* pp) {
  g* next = pp->runnext.load(std::memory_order_relaxed);
  if (next == nullptr) return nullptr;
  // With one P there is no stealer (only an M holding a P steals), and
  // nobody steals from a private P, so the owner may take it without a CAS.
  if (sched.procs == 1 || pp->is_private) {
    pp->runnext.store(nullptr, std::memory_order_relaxed);
    return next;
  }
  if (pp->runnext.compare_exchange_strong(next, nullptr, std::memory_order_acquire)) return next;
  return nullptr;
}

g* runq_get(p* pp) {
  if (g* gp = runnext_take(pp)) return gp;
  return runq_get_ring(pp);
}

g* runq_get_ring(p* pp) {
  for (;;) {
    std::uint32_t h = pp->runq_head.load(std::memory_order_acquire);
    std::uint32_t t = pp->runq_tail.load(std::memory_order_relaxed);
    if (t == h) return nullptr;
    g* gp = pp->runq[h % runq_size].load(std::memory_order_relaxed);
    if (pp->runq_head.compare_exchange_weak(h, h + 1, std::memory_order_release, std::memory_order_relaxed)) {
      // The G after it, if any, loads while this one runs.
      if (h + 1 != t) prefetch_g(pp->runq[(h + 1) % runq_size].load(std::memory_order_relaxed));
      return gp;
    }
  }
}

bool runq_empty(const p* pp) {
  // Read head, tail, runnext, then tail again: a G moving from runnext to
  // the ring between the reads would otherwise look like an empty P.
  for (;;) {
    std::uint32_t h = pp->runq_head.load(std::memory_order_acquire);
    std::uint32_t t = pp->runq_tail.load(std::memory_order_acquire);
    g* next = pp->runnext.load(std::memory_order_acquire);
    if (t == pp->runq_tail.load(std::memory_order_acquire)) return h == t && next == nullptr;
  }
}

std::uint32_t runq_room(const p* pp) {
  std::uint32_t used = pp->runq_tail.load(std::memory_order_relaxed) - pp->runq_head.load(std::memory_order_relaxed);
  return used < runq_size ? runq_size - used : 0;
}

std::atomic<void (*)(p* victim)> runnext_wait_hook{nullptr};

g* runq_steal(p* pp, p* victim, bool steal_next) {
  std::uint32_t t = pp->runq_tail.load(std::memory_order_relaxed);
  for (;;) {
    std::uint32_t h = victim->runq_head.load(std::memory_order_acquire);
    std::uint32_t vt = victim->runq_tail.load(std::memory_order_acquire);
    std::uint32_t n = vt - h;
    n -= n / 2;
    if (n == 0) {
      if (!steal_next) return nullptr;
      g* next = victim->runnext.load(std::memory_order_relaxed);
      if (next == nullptr) return nullptr;
      if (victim->owner.load(std::memory_order_relaxed) != nullptr) {
        // The victim is running and has just readied `next`: it usually
        // switches to it within a few microseconds (a channel ping-pong).
        // Taking it now would split the pair across threads, so wait ~3 us
        // first, as Go does; and if the victim switched to any G meanwhile,
        // it is not stuck: leave its runnext to it. (p.switches, not
        // schedtick: a runnext hand-over starts no time slice, so a pair
        // would look stuck however fast it hands over.)
        std::uint32_t switches = victim->switches.load(std::memory_order_relaxed);
        std::int64_t until = os::nanotime() + 3000;
        if (auto hook = runnext_wait_hook.load(std::memory_order_relaxed)) hook(victim);
        while (os::nanotime() < until) cpu_relax();
        if (victim->switches.load(std::memory_order_relaxed) != switches) return nullptr;
        next = victim->runnext.load(std::memory_order_relaxed);
        if (next == nullptr) return nullptr;
      }
      if (victim->runnext.compare_exchange_strong(next, nullptr, std::memory_order_acquire)) return next;
      return nullptr;
    }
    if (n > runq_size / 2) continue;  // read an inconsistent head/tail pair
    for (std::uint32_t i = 0; i < n; ++i) {
      g* gp = victim->runq[(h + i) % runq_size].load(std::memory_order_relaxed);
      pp->runq[(t + i) % runq_size].store(gp, std::memory_order_relaxed);
    }
    if (victim->runq_head.compare_exchange_strong(h, h + n, std::memory_order_acq_rel, std::memory_order_relaxed)) {
      // Keep the last one to run now; publish the rest.
      g* gp = pp->runq[(t + n - 1) % runq_size].load(std::memory_order_relaxed);
      if (n > 1) pp->runq_tail.store(t + n - 1, std::memory_order_release);
      return gp;
    }
  }
}

void globrunq_put(g* gp) {
  gp->schedlink = nullptr;
  globrunq_put_batch(sched.runq, gp, gp, 1);
}

void globrunq_put_batch(gqueue& q, g* head, g* tail, std::int32_t n) {
  tail->schedlink = nullptr;
  if (q.tail) {
    q.tail->schedlink = head;
  } else {
    q.head = head;
  }
  q.tail = tail;
  q.size.fetch_add(n, std::memory_order_release);
}

void freshq_put(g* const* gs, std::int32_t n) {
  for (std::int32_t i = 0; i < n; ++i) sched.freshq.put(gs[i]);
}

g* globrunq_get(p* pp, std::int32_t max, bool fresh_first) {
  constexpr std::int32_t fresh_batch = 32;
  bool fresh = fresh_first ? sched.freshq.size.load(std::memory_order_relaxed) > 0
                           : sched.runq.size.load(std::memory_order_relaxed) == 0;
  std::int32_t size = (fresh ? sched.freshq.size : sched.runq.size).load(std::memory_order_relaxed);
  if (size == 0) return nullptr;
  std::int32_t n = std::min(size, size / sched.procs + 1);
  if (max > 0) n = std::min(n, max);
  n = std::min<std::int32_t>(n, fresh ? fresh_batch : std::int32_t(runq_size / 2));
  if (fresh) {
    // Records become Gs here, from pp's free list (freshq.hpp).
    g* gp = materialize(pp, sched.freshq.take());
    prefetch_g(gp);
    for (std::int32_t i = 1; i < n; ++i) runq_put(pp, materialize(pp, sched.freshq.take()), false);
    return gp;
  }
  gqueue& q = sched.runq;
  q.size.fetch_sub(n, std::memory_order_relaxed);
  g* gp = q.head;
  q.head = gp->schedlink;
  for (std::int32_t i = 1; i < n; ++i) {
    g* more = q.head;
    q.head = more->schedlink;
    runq_put(pp, more, false);
  }
  if (q.head == nullptr) q.tail = nullptr;
  return gp;
}

}  // namespace weft::detail
