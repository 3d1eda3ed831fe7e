// src/runtime/proc.cpp: the scheduler.
//
// Over 700 lines on purpose: the run loop, the P idle list, spinning Ms,
// wakep and the idle M's poll (poll_for_self, wake_for_polled, whose
// readies m_idle queues) share one lock and its invariants, read together;
// the parts that stand alone already live apart (runq.cpp, sysmon.cpp, gslab.cpp, park.hpp,
// due_timers.cpp, send_batch.cpp, lazy_ready.cpp, parks_soon.cpp, and the
// quick-reply spin's policy in quick_spin.cpp).
//
// Concepts (docs/GLOSSARY.md): a G is a goroutine, an M an OS thread, a P a
// processor, the right to run Gs. There are exactly procs Ps; an M needs a P
// to run a G. Each P has a local run queue (runq.cpp) with a runnext slot, and
// a timer heap; there is one global run queue.
//
// Scheduling. A G gives up its M only at a blocking point: park (channel,
// lock, sleep), yield, exit. There it picks the next G itself, without
// leaving its stack (find_runnable_fast: runnext, the local ring, sometimes
// the global queue, due timers of its P) and switches to it directly; only
// when its P has nothing does it switch to the M's g0, whose loop
// (schedule_loop) may steal, wait for timers, or sleep. A G taken from
// runnext shares the time slice of the G that readied it; every 61st slice
// on a P looks at the global queue first, and a slice sysmon ends (10 ms)
// puts the ring and the global queue before runnext, so nothing starves.
//
// Spinning. An M without work "spins": it looks for Gs to steal from a random
// victim (half the victim's ring; runnext only on the last round) and for due
// timers on every P, before it gives up its P and sleeps. At most half the
// busy Ps' worth of Ms spin. Idle Ms sleep on a futex and are reused; more
// than procs of them idle for 2 s leave, and so do the threads of thread
// controls that end (thread_control.cpp).
//
// The submit/spin protocol (Go's, from proc.go). A G made runnable is pushed
// on a queue and then wakep() runs: if there is an idle P and no M spinning,
// it starts one spinning M (CAS nmspinning 0 -> 1), so a burst of readies
// wakes one thread, not many. That spinning M, when it finds work, stops
// spinning and, if it was the last spinner and more work is visible, calls
// wakep() in turn, so threads ramp up one at a time while there is work. A
// spinning M that finds nothing gives up its P, decrements nmspinning and
// then, after a full fence, re-checks every P's queue and the global queue:
// a submitter that pushed before that decrement became visible either saw
// nmspinning != 0 (and relied on the spinner, which will now see its work)
// or called wakep itself.
// Work pushed on the submitter's own P is never lost either way: its own M
// runs it when it next schedules.
//
// Timers and idling: an M with nothing to do becomes the timer waiter if none
// exists and any timer is armed: it sleeps until the earliest timer of all
// Ps, then takes an idle P and fires due timers. Arming a timer earlier than
// the waiter's deadline wakes it (timer.cpp). Other idle Ms sleep until
// startm hands them a P.
//
// Deadlock: when the last M goes idle with no timer armed, no G can ever be
// readied again by the runtime: the program ends with "all goroutines are
// asleep - deadlock!" and a dump. (A foreign thread that would later ready a
// goroutine through a weft primitive is invisible to this check; see
// docs/runtime.md.)
#include <sched.h>

#include <algorithm>
#include <atomic>
#include <string>
#include <thread>
#include <utility>

#include "platform/cpu_load.hpp"
#include "platform/futex.hpp"
#include "runtime/gslab.hpp"
#include "runtime/netpoll.hpp"
#include "runtime/send_batch.hpp"
#include "runtime/runq.hpp"
#include "runtime/signals.hpp"

namespace weft::detail {

sched_t sched;

void acquirep(m* mp, p* pp) {
  mp->pp = pp;
  pp->owner.store(mp, std::memory_order_relaxed);
}

p* releasep(m* mp) {
  p* pp = mp->pp;
  pp->owner.store(nullptr, std::memory_order_relaxed);
  mp->pp = nullptr;
  return pp;
}

void pidle_put(p* pp) {
  pp->link = sched.pidle;
  sched.pidle = pp;
  sched.npidle.fetch_add(1, std::memory_order_seq_cst);
}

p* pidle_get() {
  p* pp = sched.pidle;
  if (pp) {
    sched.pidle = pp->link;
    // The first P out of an all-idle program wakes a sysmon in its deep
    // sleep (sysmon.cpp): seq_cst against its store of sysmon_deep and its
    // second look at npidle.
    if (sched.npidle.fetch_sub(1, std::memory_order_seq_cst) == sched.procs) sysmon_wake_from_deep_sleep();
  }
  return pp;
}

namespace {

// Spinning before idling pays when work comes back within the spin (a
// burst of goroutines on this process's Ps) and costs a core when it does
// not: a program whose work arrives from other processes (a remote call's
// reply, 50-200 us away) spun for nothing and took the CPU those processes
// needed to answer (remote_chan at 3.4x Redis's round trip on 2 cores).
// So each M adapts its spin: halved after a spin that found nothing,
// doubled after one that found work (from spin_before_idle_grow_ns at
// least), up to the maximum. Halving goes down to 0: one pass over the
// queues and no pause. A floor of 1 us cost a remote_counter call (an M
// idles once per call on each side, its work always from the network)
// about 1 us on each side, 5-9% of its CPU, spent in cpu_relax.
constexpr std::int64_t spin_before_idle_max_ns = 50'000;
constexpr std::int64_t spin_before_idle_grow_ns = 1'000;
constexpr std::int64_t idle_m_exit_ns = 2'000'000'000;

m* midle_get() REQUIRES(sched.lock) {
  m* mp = sched.midle;
  if (mp) {
    sched.midle = mp->schedlink;
    --sched.nmidle;
  }
  return mp;
}

void notewakeup(m* mp) { mp->park.wakeup(); }

void mstart(m* mp);

// Starts an M (reused if one is idle) to run pp, or an idle P if pp is null.
void startm(p* pp, bool spinning) {
  m* nm;
  bool fresh = false;
  {
    lock_scope lk(sched.lock);
    // Stopping: run_main joins the Ms it sees in allm under this lock, so
    // none may be added now (Gs that ready each other after main returned
    // still call wakep until their M sees the stop).
    if (sched.stopping.load(std::memory_order_relaxed)) {
      if (spinning) sched.nmspinning.fetch_sub(1, std::memory_order_seq_cst);
      return;
    }
    if (pp == nullptr) {
      pp = pidle_get();
      if (pp == nullptr) {
        if (spinning) sched.nmspinning.fetch_sub(1, std::memory_order_seq_cst);
        return;
      }
    }
    nm = midle_get();
    if (nm == nullptr) {
      nm = new m;
      nm->id = sched.next_m_id++;
      ++sched.mcount;
      nm->rand_state = 0x9e3779b97f4a7c15ull * std::uint64_t(nm->id + 1);
      sched.allm.push_back(nm);
      fresh = true;
    }
    nm->spinning = spinning;
    nm->nextp.store(pp, std::memory_order_release);
    sched.m_wakeups.fetch_add(1, std::memory_order_relaxed);
  }
  if (fresh) {
    // Stored under the lock: the new thread may detach itself (under the
    // lock too) as soon as it has run (leave_idle_pool).
    std::thread t(mstart, nm);
    lock_scope lk(sched.lock);
    nm->thread = std::move(t);
  } else {
    trace_ev(nm, ev::m_wake, 0);
    notewakeup(nm);
  }
}

// The last spinner found work: another M starts spinning, in case more work
// came meanwhile (submitters skip wakep while anyone spins). Only if some is
// visible: the same fence-then-look as a spinner that gives up (find_runnable),
// so work pushed after the look sees nmspinning == 0 and wakes an M itself.
// Waking one anyway costs a futex wake and a thread spinning for nothing; when
// the work comes one G at a time from a thread without a P (a dedicated
// goroutine's replies) that was a wake-up per request.
void reset_spinning(m* mp) {
  mp->spinning = false;
  if (sched.nmspinning.fetch_sub(1, std::memory_order_seq_cst) != 1) return;
  std::atomic_thread_fence(std::memory_order_seq_cst);
  bool work = sched.has_global_work();
  for (p* q : sched.allp) work = work || !runq_empty(q);
  if (work) wakep();
}

// Looks at every other P: due timers first, then half its queue.
g* steal_work(m* mp) {
  p* pp = mp->pp;
  int n = sched.procs;
  for (int round = 0; round < 4; ++round) {
    int start = static_cast<int>(fastrand(mp) % std::uint64_t(n));
    for (int i = 0; i < n; ++i) {
      p* victim = sched.allp[(start + i) % n];
      if (victim == pp) continue;
      if (run_due_timers(victim)) {
        if (g* gp = runq_get(pp)) return gp;
      }
      if (g* gp = runq_steal(pp, victim, round == 3)) {
        trace_ev(mp, ev::steal, gp->id, std::uint64_t(victim->id));
        return gp;
      }
    }
  }
  return nullptr;
}

std::int64_t earliest_timer() {
  std::int64_t w = INT64_MAX;
  for (p* pp : sched.allp) w = std::min(w, pp->timers.when0.load(std::memory_order_acquire));
  return w;
}

// An M idle for idle_m_exit_ns leaves (its thread ends) if more than procs
// Ms are idle: a storm of blocking calls does not leave its threads behind.
// REQUIRES: mp sleeps on the idle list or was just taken off it (then it
// stays: the taker wakes it).
bool leave_idle_pool(m* mp) {
  lock_scope lk(sched.lock);
  if (mp->is_m0) return false;  // the thread that called weft::run
  if (sched.nmidle <= sched.procs || sched.stopping.load()) return false;
  m** link = &sched.midle;
  while (*link && *link != mp) link = &(*link)->schedlink;
  if (*link == nullptr) return false;  // taken by startm: its wake-up is on the way
  *link = mp->schedlink;
  --sched.nmidle;
  --sched.mcount;
  std::erase(sched.allm, mp);
  mp->thread.detach();
  mp->exiting = true;
  return true;
}

// Polls the network for Gs this M will run itself: the first one readied
// needs no other M, so ready() only counts them (deferred_readies) and the
// caller wakes an M for the rest. Go's findrunnable does the same: it runs
// the first G of netpoll's list and injects the others.
int poll_for_self(m* mp, std::int64_t delay_ns) {
  mp->deferred_readies = 0;
  mp->deferred_readies_not_parking_soon = 0;
  mp->defer_wakep = true;
  int n = netpoll(delay_ns);
  mp->defer_wakep = false;
  return n;
}

// After poll_for_self, holding a P: wakes an M for the Gs readied beyond
// the first (this M runs that one), unless every one of them is a reader
// declared to park soon (parks_soon_scope: it hands what it read over and
// reads again). Those this M runs in turn sooner than a woken M would: a
// wake-up and the woken M's sleep again cost more CPU than such a G's
// run, and remote_counter's server at procs 2 spent a quarter more CPU
// than at procs 1 on them. Should one of them run on, sysmon finds the
// rest waiting (stranded work) and looks every millisecond meanwhile
// (p.skipped_wakes).
void wake_for_polled(m* mp) {
  if (mp->deferred_readies <= 1) return;
  if (mp->deferred_readies_not_parking_soon > 0) {
    wakep();
    return;
  }
  auto& skipped = mp->pp->skipped_wakes;
  skipped.store(skipped.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
}

// Whether an M about to give up its P polls the network first (netpoll(0)).
// Not when the waiter M is blocked in the poller already, and not when there
// is no waiter: then this M becomes the polling waiter (m_idle), whose
// blocking poll returns at once with whatever is ready. That non-blocking
// poll was a system call for nothing at every wait of a remote call (its
// reply is tens of µs away), one of five per call. A waiter that sleeps for
// a timer only is still polled for: m_idle then wakes it to poll.
bool poll_before_idle() {
  lock_scope lk(sched.lock);
  return sched.timer_waiter != nullptr && !sched.waiter_polls;
}

// The M has no P: sleep until handed one, or until the earliest timer.
void m_idle(m* mp) {
  std::int64_t deadline = INT64_MAX;
  bool poll = false;
  bool waiter = false;
  {
    lock_scope lk(sched.lock);
    if (sched.stopping.load()) return;
    mp->park.clear();
    if (sched.timer_waiter == nullptr) {
      deadline = earliest_timer();
      poll = netpoll_active() && netpoll_waiters() > 0;
    } else if ((!sched.waiter_polls && netpoll_active() && netpoll_waiters() > 0) ||
               earliest_timer() < sched.waiter_deadline.load(std::memory_order_relaxed)) {
      // The waiter sleeps for a timer only: it began before any goroutine
      // waited for I/O. Or it chose its deadline before a timer of ours
      // came, whose start found no waiter yet to wake (timer.cpp). Woken,
      // it comes back here; left asleep, the I/O or the timer would wait
      // for sysmon, which sleeps up to 1 s while every P is idle.
      sched.timer_waiter->park.wakeup();
      if (sched.waiter_polls) netpoll_break();
    }
    waiter = deadline != INT64_MAX || poll;
    if (waiter) {
      sched.timer_waiter = mp;
      sched.waiter_polls = poll;
      sched.waiter_deadline.store(deadline, std::memory_order_release);
    } else {
      mp->schedlink = sched.midle;
      sched.midle = mp;
      ++sched.nmidle;
      check_dead();
    }
  }
  trace_ev(mp, ev::m_park, 0);
  stacks_scavenge(os::nanotime());  // idle time is when memory goes back
  if (!waiter) {
    // Only startm (which takes this M off midle and stores nextp first) and
    // the stop end this sleep. Other wake-ups are stale: a thread that
    // handed this M a G while it was bound or locked (ready_home,
    // startlockedm) may reach its wakeup() only after the M has run that G,
    // dropped its control and come here. Returning for one would leave the
    // M on midle while it runs, and a later startm would hand it a second P.
    for (;;) {
      bool woken = mp->park.sleep_until(os::nanotime() + idle_m_exit_ns);
      // Disarmed before nextp is looked at: startm stores nextp before it
      // wakes, so a wake-up this erases has its P seen just below.
      if (woken) mp->park.clear_after_wakeup();
      if (p* pp = mp->nextp.exchange(nullptr, std::memory_order_acq_rel)) {
        trace_ev(mp, ev::m_wake, 0);
        acquirep(mp, pp);
        return;
      }
      if (sched.stopping.load(std::memory_order_acquire)) return;
      if (!woken && leave_idle_pool(mp)) return;
    }
  }
  // The waiter: for the earliest timer, in the network poller if anyone
  // waits for I/O (its wake-ups come through netpoll_break then).
  if (poll) {
    std::int64_t now = os::nanotime();
    poll_for_self(mp, deadline == INT64_MAX ? -1 : std::max<std::int64_t>(deadline - now, 0));
    sched.last_poll.store(os::nanotime(), std::memory_order_relaxed);
  } else {
    mp->park.sleep_until(deadline);
  }
  trace_ev(mp, ev::m_wake, 0);
  p* pp;
  {
    lock_scope lk(sched.lock);
    sched.timer_waiter = nullptr;
    sched.waiter_polls = false;
    sched.waiter_deadline.store(INT64_MIN, std::memory_order_release);
    pp = pidle_get();
  }
  g* polled = std::exchange(mp->polled_head, nullptr);
  mp->polled_tail = nullptr;
  if (pp) {
    acquirep(mp, pp);  // schedule_loop fires due timers of every P
    // On this P's queue, not the global one, so that sysmon counts them
    // stranded only while this P switches to no G (wake_for_polled).
    for (g* next; polled != nullptr; polled = next) {
      next = std::exchange(polled->schedlink, nullptr);
      runq_put(pp, polled, false);
    }
    wake_for_polled(mp);
  } else {
    if (polled != nullptr) {
      lock_scope lk(sched.lock);
      for (g* next; polled != nullptr; polled = next) {
        next = std::exchange(polled->schedlink, nullptr);
        globrunq_put(polled);
      }
    }
    if (mp->deferred_readies > 0) wakep();
    // Every P is busy: fire due timers anyway; their Gs go to the global queue.
    std::int64_t now = os::nanotime();
    for (p* q : sched.allp) q->timers.run_due(now);
  }
}

// With a P: a G to run, or null after giving up the P.
g* find_runnable(m* mp) {
  for (;;) {
    if (sched.stopping.load(std::memory_order_relaxed)) return nullptr;
    p* pp = mp->pp;
    if (g* gp = find_runnable_fast(pp)) return gp;
    int busy = sched.procs - sched.npidle.load();
    if (mp->spinning || 2 * sched.nmspinning.load() < busy) {
      if (!mp->spinning) {
        mp->spinning = true;
        sched.nmspinning.fetch_add(1, std::memory_order_seq_cst);
      }
      // Keep spinning a little while before giving the P up: work tends to
      // come in bursts, and while this M spins (nmspinning > 0) a submitter's
      // wakep costs a load instead of a wake-up (sched lock, an idle P and M,
      // and cache misses on all of them for the submitting thread).
      // Waiting for a quick reply (quick_spin.hpp): the spin polls the
      // network too, and yields rather than pausing. Not beside an M
      // blocked in the poller: the reply would wake it all the same.
      const std::int64_t quick_ns =
          sched.quick_reply_waits.load(std::memory_order_relaxed) > 0 && netpoll_active() && !sched.waiter_polls_now()
              ? mp->quick.begin(os::cpus_to_spare())
              : 0;
      const bool quick = quick_ns > 0;
      std::int64_t spin_until = os::nanotime() + std::max(mp->spin_ns, quick_ns);
      for (;;) {
        g* gp = steal_work(mp);
        if (gp == nullptr) gp = find_runnable_fast(pp);
        if (gp == nullptr && quick && poll_for_self(mp, 0) > 0) {  // readied onto this P
          wake_for_polled(mp);
          gp = find_runnable_fast(pp);
        }
        if (gp) {
          if (quick) {
            mp->quick.found();
            sched.quick_spin_finds.fetch_add(1, std::memory_order_relaxed);
          } else {
            mp->spin_ns = std::clamp(2 * mp->spin_ns, spin_before_idle_grow_ns, spin_before_idle_max_ns);
          }
          return gp;
        }
        if (sched.stopping.load(std::memory_order_relaxed) || os::nanotime() >= spin_until) break;
        if (quick) {
          if (!mp->quick.may_go_on(os::cpus_to_spare())) break;
          ::sched_yield();
        } else {
          for (int i = 0; i < 64; ++i) cpu_relax();
        }
      }
      mp->spin_ns /= 2;
      if (quick) mp->quick.ran_out();
    } else {
      for (p* q : sched.allp) run_due_timers(q);
      if (g* gp = runq_get(pp)) return gp;
    }
    // I/O that became ready, unless a waiter polls or this M will (m_idle).
    if (netpoll_active() && netpoll_waiters() > 0 && poll_before_idle()) {
      sched.last_poll.store(os::nanotime(), std::memory_order_relaxed);
      if (poll_for_self(mp, 0) > 0) {  // readied onto this P
        wake_for_polled(mp);
        continue;
      }
    }
    {
      lock_scope lk(sched.lock);
      if (g* gp = globrunq_get(pp, 0)) return gp;
      pidle_put(releasep(mp));
    }
    if (mp->spinning) {
      mp->spinning = false;
      sched.nmspinning.fetch_sub(1, std::memory_order_seq_cst);
      std::atomic_thread_fence(std::memory_order_seq_cst);
      bool work = sched.has_global_work();
      for (p* q : sched.allp) work = work || !runq_empty(q);
      if (work) {
        lock_scope lk(sched.lock);
        if (p* q = pidle_get()) {
          acquirep(mp, q);
          mp->spinning = true;
          sched.nmspinning.fetch_add(1, std::memory_order_seq_cst);
          continue;
        }
      }
    }
    return nullptr;
  }
}

void schedule_loop(m* mp) {
  for (;;) {
    if (sched.stopping.load(std::memory_order_acquire)) return;
    if (mp->kind == m_kind::locked) {
      if (!schedule_locked(mp)) return;
      continue;
    }
    if (mp->kind == m_kind::bound) {
      if (!schedule_bound(mp)) return;
      continue;
    }
    if (g* gp = mp->handoff_g) {  // picked on a G's stack (pick_next)
      mp->handoff_g = nullptr;
      startlockedm(mp, gp);
      continue;
    }
    if (mp->pp == nullptr) {
      m_idle(mp);
      if (mp->exiting) return;
      continue;
    }
    g* gp = find_runnable(mp);
    if (gp == nullptr) continue;
    if (mp->spinning) reset_spinning(mp);
    if (gp->home != nullptr && gp->home != mp) {  // a lock_os_thread G: its own M runs it
      startlockedm(mp, gp);
      continue;
    }
    switch_to(mp, &mp->g0, gp);
  }
}

void mstart(m* mp) {
  set_this_m(mp);
  m_init_thread(mp);
  p* pp = mp->nextp.exchange(nullptr, std::memory_order_acq_rel);
  acquirep(mp, pp);
  schedule_loop(mp);
  m_exit_thread(mp);
  if (mp->exiting) {  // left: nobody else finds it any more
    while (mp->wakers.load(std::memory_order_acquire) != 0) cpu_relax();  // a waker still at its note
    delete mp;
  }
}

}  // namespace

// REQUIRES(sched.lock), declared in runtime.hpp. The caller has just become idle, or is sysmon
// finding the program idle (runtime.hpp).
void check_dead() {
  if (!sched.running.load() || sched.stopping.load()) return;
  if (sched.plain_threads_seen.load()) return;  // see docs/runtime.md, Deadlock
  int running = sched.mcount - sched.nmidle - (sched.timer_waiter ? 1 : 0);
  if (running > 0 || sched.timer_waiter) return;
  // Queued work with every M idle: a G was readied where no P is held (a
  // plain thread) and its wakep is on the way. Not a deadlock.
  if (sched.has_global_work()) return;
  if (earliest_timer() != INT64_MAX) return;  // the caller will wait for it
  // sysmon may have just taken a due timer off its heap and be readying its G
  // (it holds no P and is not an M): read after the timers, see sysmon.cpp.
  if (sched.sysmon_acting.load()) return;
  if (netpoll_waiters() > 0) return;  // I/O may still come
  fatal("all goroutines are asleep - deadlock!");
}

g* find_runnable_fast(p* pp, bool run_timers) {
  send_batch_poll(pp);  // writers waiting for their flush (send_batch.cpp)
  if (pp->has_lazy.load(std::memory_order_relaxed)) promote_lazy_if_due(pp);
  if (run_timers) run_due_timers_owned(pp);
  if (pp->is_private) return bound_pick(pp);  // only its own Gs, never the global queues
  // A G in runnext inherits the time slice of the G that readied it (Go's
  // inheritTime): schedtick counts slices, not picks, so a pair that keeps
  // readying each other is one slice, which sysmon ends after 10 ms
  // (p.preempt). Then the ring and the global queue go first: otherwise
  // such a pair would starve every other G of its P.
  bool slice_over = pp->preempt.load(std::memory_order_relaxed);
  if (slice_over) {
    if (pp->preempt.exchange(false, std::memory_order_relaxed)) preempt_asks.fetch_sub(1, std::memory_order_relaxed);
    // runnext's G queues behind the ring's, ahead of the G that yields
    // now. Taken only once the ring was empty, it waited forever behind
    // Gs that only yield at the ends of their slices, each going back to
    // the ring (main, readied into runnext by its timer at such a pick,
    // never ran: Run.ReturnsWhileAGoroutineLoopsOnNonBlockingOperations).
    if (g* next = runnext_take(pp)) runq_put(pp, next, false);
  } else if (g* gp = runnext_take(pp)) {
    return gp;
  }
  std::uint32_t tick = pp->schedtick.load(std::memory_order_relaxed) + 1;
  pp->schedtick.store(tick, std::memory_order_relaxed);
  if ((slice_over || tick % 61 == 0) && sched.has_global_work()) {
    lock_scope lk(sched.lock);
    // Every other time, unstarted Gs first: neither queue starves.
    if (g* gp = globrunq_get(pp, 1, tick % 122 == 0)) return gp;
  }
  if (g* gp = runq_get_ring(pp)) return gp;
  if (sched.has_global_work()) {
    lock_scope lk(sched.lock);
    return globrunq_get(pp, 0);
  }
  return nullptr;
}

std::uint64_t fastrand(m* mp) noexcept {
  std::uint64_t x = mp->rand_state;
  x ^= x << 13;
  x ^= x >> 7;
  x ^= x << 17;
  mp->rand_state = x;
  return x;
}

void wakep_slow() {
  std::int32_t zero = 0;
  if (sched.nmspinning.load(std::memory_order_seq_cst) != 0 ||
      !sched.nmspinning.compare_exchange_strong(zero, 1, std::memory_order_seq_cst))
    return;
  startm(nullptr, true);
}

void ready(g* gp) {
  m* mp = this_m();
  if (mp == nullptr) sched.plain_threads_seen.store(true);
  std::uint32_t expected = g_waiting;
  while (!gp->status.compare_exchange_weak(expected, g_runnable, std::memory_order_acq_rel)) {
    if (expected == (g_waiting | scan_bit)) {
      cpu_relax();  // a dump is reading its stack
    } else if (expected != g_waiting) {
      fatal("ready of goroutine " + std::to_string(gp->id) + " in state " + std::to_string(expected));
    }
    expected = g_waiting;
  }
  if (mp) trace_ev(mp, ev::go_unblock, gp->id, mp->curg ? mp->curg->id : 0);
  if (gstats_enabled()) gstats_ready(gp);
  if (m* home = gp->home) {
    if (ready_home(mp, gp, home)) return;
  }
  if (gp->ready_lazily && queue_lazily(mp, gp)) return;  // lazy_ready.cpp
  // Read before gp is queued: from then on another M may run it and write
  // its fields.
  const bool gp_parks_soon = gp->parks_soon;
  // Readied by a G that parks soon onto a P with nothing else queued: this
  // M runs gp next, and waking another would only have it spin and sleep
  // again (parks_soon.cpp).
  bool runs_next_here = false;
  if (mp && mp->pp && !mp->pp->is_private) {
    runs_next_here = ready_skips_wake(mp->curg, mp->pp);
    runq_put_next(mp->pp, gp);
  } else if (mp && mp->defer_wakep && mp->pp == nullptr) {
    gp->schedlink = nullptr;  // the idle M's poll: queued where it runs next (m_idle)
    (mp->polled_tail ? mp->polled_tail->schedlink : mp->polled_head) = gp;
    mp->polled_tail = gp;
  } else {
    lock_scope lk(sched.lock);
    globrunq_put(gp);
  }
  if (mp && mp->defer_wakep) {
    ++mp->deferred_readies;
    if (!gp_parks_soon) ++mp->deferred_readies_not_parking_soon;
    return;
  }
  if (!runs_next_here) wakep();
}

namespace {

// The G to switch to from a G that parks, yields or exits, or null for g0.
// A locked M always goes to g0 (it gives its P away there); a G another M
// must run (lock_os_thread) is left to g0 to hand on: handing the P away now
// would pull it from under the finish_switch step that still uses it.
g* pick_next(m* mp, bool run_timers) {
  // Once main has returned, every G that gives up its M goes to g0, which
  // sees the stop and leaves: Gs that keep readying each other (a ping-pong
  // pair) would otherwise switch among themselves forever and weft::run
  // would never return.
  if (sched.stopping.load(std::memory_order_relaxed)) return nullptr;
  if (mp->kind == m_kind::locked) {
    // Armed before the G can be readied (in finish_switch, on g0): the
    // wake-up that hands this M a P must not be lost (schedule_locked).
    mp->park.clear();
    return nullptr;
  }
  g* gp = find_runnable_fast(mp->pp, run_timers);
  if (gp && gp->home != nullptr && gp->home != mp) {
    mp->handoff_g = gp;
    return nullptr;
  }
  return gp;
}

}  // namespace

void park(const char* reason, void (*unlock)(void*), void* arg) {
  m* mp = this_m();
  g* gp = mp->curg;
  learn_whether_it_parked_soon(gp, mp->pp);
  // The primitives throw before they get here (forbid_parking_in_blocking);
  // one that does not would park on a P that sysmon may hand to another M.
  if (gp->blocking_depth != 0)
    fatal(std::string("goroutine ") + std::to_string(gp->id) + " parked (" + reason + ") inside weft::blocking");
  gp->wait_reason = reason;
  gp->wait_since = sched.sysmon_clock.load(std::memory_order_relaxed);
  mp->action = after_switch::park;
  mp->park_unlock = unlock;
  mp->park_arg = arg;
  // No timers here: this G still holds what park_unlock releases (a
  // channel's lock), and a fire function may need it. finish_switch runs
  // them once it is released.
  g* next = pick_next(mp, false);
  switch_to(mp, gp, next ? next : &mp->g0);
}

void yield_now() {
  m* mp = this_m();
  g* gp = mp->curg;
  learn_whether_it_parked_soon(gp, mp->pp);
  g* next = pick_next(mp, true);
  if (next == nullptr) {
    bool others = mp->handoff_g != nullptr || sched.stopping.load(std::memory_order_relaxed) ||
                  (mp->kind == m_kind::locked && (!runq_empty(mp->pp) || sched.has_global_work()));
    if (!others) return;  // nothing else wants this P
    next = &mp->g0;
  }
  mp->action = after_switch::yield;
  switch_to(mp, gp, next);
}

void goexit() {
  m* mp = this_m();
  g* gp = mp->curg;
  if (gp->ops) gp->ops->destroy(gp->closure);
  gp->ops = nullptr;
  g_clear_locals(gp);
  mp = this_m();  // goroutine-local destructors may have blocked
  count_live_goroutines(mp->pp, -1);
  gp->status.store(g_dead, std::memory_order_relaxed);
  if (gp->home != nullptr) thread_control_exit(mp, gp);
  mp->action = after_switch::exit;
  g* next = pick_next(mp, true);
  switch_to(mp, gp, next ? next : &mp->g0);
  __builtin_unreachable();
}

// Runs the scheduler on the calling thread as M0 until the runtime stops.
void run_m0(m* m0) {
  set_this_m(m0);
  m_init_thread(m0);
  schedule_loop(m0);
  m_exit_thread(m0);
  set_this_m(nullptr);
}

bool m_leave(m* mp) {
  for (;;) {
    lock_scope lk(sched.lock);
    if (mp->is_m0 || sched.stopping.load()) return false;
    if (!mp->thread.joinable()) {  // startm stores the thread just after starting it
      lk.unlock();
      std::this_thread::yield();
      continue;
    }
    --sched.mcount;
    std::erase(sched.allm, mp);
    mp->thread.detach();
    mp->exiting = true;
    return true;
  }
}

void handoffp(p* pp) {
  // Writers waiting for the P's flush are work too (send_batch.cpp, S3),
  // and so are Gs readied lazily.
  bool work = !runq_empty(pp) || pp->send_pending != 0 || pp->has_lazy.load(std::memory_order_relaxed) ||
              pp->timers.when0.load(std::memory_order_acquire) != INT64_MAX;
  if (!work) {
    // The global queue is looked at under the lock it is filled under: a G
    // queued after this look finds the P idle when its wakep looks.
    lock_scope lk(sched.lock);
    work = sched.has_global_work();
    // The last running P, and no M waits for the poller or the timers (the
    // waiter woke, took a P and its G went into the call this handoff
    // answers): an M must take the P and become the waiter, or the I/O
    // and timers would wait for sysmon, which sleeps up to 1 s while every
    // P is idle (Go's handoffp does the same). weftd's workers died of
    // that second when its etcd calls hung.
    work = work || (sched.timer_waiter == nullptr && sched.npidle.load() == sched.procs - 1 &&
                    ((netpoll_active() && netpoll_waiters() > 0) || earliest_timer() != INT64_MAX));
    if (!work) pidle_put(pp);
  }
  if (work) {
    startm(pp, false);
    return;
  }
  // A timer armed on pp after the look by a thread that does not run pp (a
  // bound M, a plain thread: timer_start) relied on wakep, which may have
  // seen no idle P yet. Fence, then look again, as timer_start fences
  // between arming and its wakep.
  std::atomic_thread_fence(std::memory_order_seq_cst);
  if (pp->timers.when0.load(std::memory_order_relaxed) != INT64_MAX) wakep();
}

// A G that loops on non-blocking operations (select with a default,
// try_recv) meets only yield points: it yields when sysmon flagged its P,
// and once the runtime stops (sysmon is gone by then, and a P's flag may
// have been spent by a pick just before the stop), so that pick_next sends
// its M to g0, which sees the stop.
std::atomic<std::uint32_t> preempt_asks{0};

void preempt_check_slow() noexcept {
  m* mp = this_m();
  if (!mp || !mp->curg || !mp->pp || mp->curg->blocking_depth != 0) return;
  if (mp->pp->preempt.load(std::memory_order_relaxed) || sched.stopping.load(std::memory_order_relaxed)) yield_now();
}

void wake_all_for_stop() {
  lock_scope lk(sched.lock);
  for (m* mp : sched.allm) notewakeup(mp);
  if (sched.waiter_polls) netpoll_break();
}

}  // namespace weft::detail
