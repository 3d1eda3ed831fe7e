// src/runtime/sysmon.cpp: sysmon, the runtime's watchdog thread.
//
// One thread without a P, started by weft::run, that looks at every P now
// and then and fixes what nobody else would notice:
//   - a P held by a G in a blocking call (weft::blocking) for a whole look
//     (>= 20 us): takes it away and hands it off (blocking.cpp has the
//     protocol), so the P's other Gs run on another M;
//   - a P whose queue has work while Ps are idle and no M spins (its M is
//     busy with one long G, or a G expected to park soon ran on after a
//     ready: parks_soon.cpp): wakes an M to steal it;
//   - a P holding lazily readied Gs, which no M can steal, that switched
//     to no G since the last look: moves them to the global queue;
//   - a timer overdue by more than 1 ms (every M busy): fires it here;
//   - I/O nobody polled for in 10 ms (every M busy): polls for it;
//   - a P that has run one G for more than 10 ms: flags it (p.preempt), and
//     the G yields at its next yield point (channel operations, select).
//     weft cannot preempt a loop that never reaches one: see
//     docs/runtime.md, Preemption;
//   - SIGQUIT (sysmon_ask_quit, from the handler): dumps every goroutine
//     and exits 2 (fatal.cpp). The handler sets quit_asked and wakes both
//     words sysmon sleeps on; a wake that comes just before sysmon's sleep
//     is lost, and the dump waits for the sleep's end: 10 ms, 1 s in a
//     deep sleep, at most. A request that comes as sysmon stops is seen
//     by sysmon_stop.
// Each look also stores the clock in sched.sysmon_clock, which parks stamp
// as a G's wait_since instead of reading a clock themselves.
// It sleeps 20 us between looks while it finds things to do, and backs off
// (doubling after 1 ms of nothing, up to 10 ms; up to 1 ms while Ps skip
// wakes for Gs run next) when it does not, so an idle or purely computing
// program pays almost nothing for it.
//
// Deep sleep (as Go's sysmon, sched.sysmonwait): every duty above needs a P
// that is not idle, so when all procs Ps are idle after a quiet look (and
// its deadlock check), and no G has run since the look before, sysmon
// sleeps until pidle_get takes the first P out of the idle list, or 1 s (a
// bound, not a duty). Why: 100 looks a second of each idle program were
// most of the CPU 1,000 idle workers cost (issue 16: 1.5 of this machine's
// 2 CPUs, with weftd starved behind them). Why "no G has run": a program
// that waits on the network between short bursts (a remote call's client)
// is all idle at many looks, and a deep sleep at each cost it a futex wake
// from the next pidle_get and a thread wake-up (3.1k per 50k
// remote_counter operations) where a look every millisecond costs one. The
// handshake: sysmon stores sched.sysmon_deep = 1, then reads npidle again
// and sleeps only if every P is still idle; pidle_get decrements npidle,
// then reads sysmon_deep (all seq_cst): one of the two sees the other.
// After a deep sleep the backed-off delay stays: the first look comes
// within 10 ms of the wake, as it would have without the sleep.
//
// sysmon has an m of its own (no P, not in sched.allm): a G it readies (a
// timer) goes to the global run queue, as from any M without a P.
#include <atomic>
#include <mutex>
#include <thread>
#include <utility>

#include "runtime/fatal.hpp"
#include "runtime/netpoll.hpp"
#include "platform/futex.hpp"
#include "platform/signals.hpp"
#include "runtime/runq.hpp"
#include "runtime/runtime.hpp"

namespace weft::detail {

namespace {

constexpr std::int64_t min_delay_ns = 20'000;
constexpr std::int64_t max_delay_ns = 10'000'000;
// While Ps skip wakes for Gs readied by Gs expected to park soon: how
// long a G left behind by one that ran on instead may wait for this look.
constexpr std::int64_t max_delay_skipping_wakes_ns = 1'000'000;
constexpr int idle_looks_before_backoff = 50;  // 1 ms at the shortest delay
constexpr std::int64_t blocking_retake_ns = 20'000;
constexpr std::int64_t long_run_ns = 10'000'000;
constexpr std::int64_t overdue_timer_ns = 1'000'000;
constexpr std::int64_t overdue_poll_ns = 10'000'000;
// A P's queue that would take longer than this to drain alone wants
// another M (wake_for_stranded_work).
constexpr std::int64_t backlog_drain_ns = 250'000;

std::thread sysmon_thread;
std::atomic<std::uint32_t> sysmon_stopping{0};
std::atomic<bool> sysmon_live{false};  // between sysmon_start and sysmon_stop
std::atomic<bool> quit_asked{false};  // SIGQUIT came (sysmon_ask_quit)
m sysmon_m;

// Takes the Ps of blocking calls seen on two looks at least 20 us apart.
// *waiting: a blocking call holds a P that other Gs wait for; sysmon must
// keep looking often, or a loop of 1 ms calls would never be seen twice.
int retake_blocking(std::int64_t now, bool* waiting) {
  int taken = 0;
  for (p* pp : sched.allp) {
    m* in_call = pp->in_blocking.load(std::memory_order_acquire);
    if (in_call == nullptr) continue;
    if (!runq_empty(pp) || sched.has_global_work()) *waiting = true;
    std::uint32_t tick = pp->blocking_tick.load(std::memory_order_relaxed);
    if (tick != pp->sysmon_blocking_tick) {  // a call not seen before
      pp->sysmon_blocking_tick = tick;
      pp->sysmon_blocking_since = now;
      continue;
    }
    if (now - pp->sysmon_blocking_since < blocking_retake_ns) continue;
    if (!pp->in_blocking.compare_exchange_strong(in_call, nullptr, std::memory_order_acq_rel)) continue;
    pp->owner.store(nullptr, std::memory_order_relaxed);
    handoffp(pp);
    ++taken;
  }
  return taken;
}

// Work queued on a P whose M is busy, while another P idles with nobody
// looking: wake an M to steal it. A P's queue counts when this look and
// the last both found it non-empty and the P has switched to no G in
// between: a G readied a moment ago by one that parks soon (proc.cpp,
// ready) is about to run there, and waking an M for it would only have
// that M steal it and leave a pair of goroutines split across two threads.
// Or, switches or not, when both looks found Gs in its ring beyond runnext
// and, at the pace its head moved between them, what is there now takes
// over backlog_drain_ns to run: such as a burst of long Gs that a reader
// declared to park soon started without a wake (parks_soon.cpp). A burst
// of short ones (a reader's replies, each a few us) drains sooner than
// another M would start, and is left to its P.
bool long_backlog(p* pp, bool owned, std::int64_t now) {
  const std::uint32_t head = pp->runq_head.load(std::memory_order_acquire);
  const std::uint32_t tail = pp->runq_tail.load(std::memory_order_acquire);
  const std::uint32_t queued = owned ? tail - head : 0;
  const std::uint32_t ran = head - pp->sysmon_runq_head;
  const std::int64_t since = now - pp->sysmon_look_ns;
  const bool backlog = queued > 0 && queued <= runq_size && pp->sysmon_saw_backlog &&
                       static_cast<std::int64_t>(queued) * since > backlog_drain_ns * static_cast<std::int64_t>(ran);
  pp->sysmon_saw_backlog = queued > 0;
  pp->sysmon_runq_head = head;
  pp->sysmon_look_ns = now;
  return backlog;
}

// Every look takes each P's snapshot, so that "the last look" is the one
// just before, whether or not it could act.
bool wake_for_stranded_work(std::int64_t now) {
  bool stranded = sched.has_global_work();
  for (p* pp : sched.allp) {
    const bool owned = pp->owner.load(std::memory_order_relaxed) != nullptr;
    const bool queued = owned && !runq_empty(pp);
    const std::uint32_t switches = pp->switches.load(std::memory_order_relaxed);
    const bool backlog = long_backlog(pp, owned, now);
    stranded = stranded || (queued && pp->sysmon_saw_queued && switches == pp->sysmon_switches) || backlog;
    pp->sysmon_saw_queued = queued;
    pp->sysmon_switches = switches;
  }
  if (!stranded || sched.npidle.load(std::memory_order_acquire) == 0 ||
      sched.nmspinning.load(std::memory_order_acquire) > 0)
    return false;
  wakep();
  return true;
}

// Gs readied lazily on a P (lazy_ready.cpp) wait there for its G to
// switch, and no other P can steal them. A P that has switched to no G
// since the last look while it holds some has a G that runs on (a loop
// that waits for what a lazy G would do, such as a link's writer sending
// the frame it waits for the answer to): they go to the global queue, and
// an M is woken to run them.
bool rescue_stuck_lazy_gs() {
  bool rescued = false;
  for (p* pp : sched.allp) {
    const bool lazy = pp->has_lazy.load(std::memory_order_relaxed);
    const std::uint32_t switches = pp->switches.load(std::memory_order_relaxed);
    if (lazy && pp->sysmon_saw_lazy && switches == pp->sysmon_lazy_switches) {
      if (g* gp = take_lazy(pp)) {
        lock_scope lk(sched.lock);
        while (gp != nullptr) {
          g* next = gp->schedlink;
          gp->schedlink = nullptr;
          globrunq_put(gp);
          gp = next;
        }
        rescued = true;
      }
    }
    pp->sysmon_saw_lazy = lazy;
    pp->sysmon_lazy_switches = switches;
  }
  if (rescued) wakep();
  return rescued;
}

bool fire_overdue_timers(std::int64_t now) {
  bool fired = false;
  for (p* pp : sched.allp) {
    if (pp->timers.when0.load(std::memory_order_acquire) < now - overdue_timer_ns) {
      fired = pp->timers.run_due(now) > 0 || fired;
    }
  }
  return fired;
}

// Every M busy for 10 ms and someone waits for I/O: poll for them.
bool poll_if_nobody_did(std::int64_t now) {
  if (!netpoll_active() || netpoll_waiters() == 0) return false;
  if (now - sched.last_poll.load(std::memory_order_relaxed) < overdue_poll_ns) return false;
  if (sched.waiter_polls_now()) return false;
  sched.last_poll.store(now, std::memory_order_relaxed);
  return netpoll(0) > 0;
}

// Whether some P skipped a wakep since the last look (parks_soon.cpp).
bool wakes_were_skipped() {
  bool skipped = false;
  for (p* pp : sched.allp) {
    const std::uint32_t n = pp->skipped_wakes.load(std::memory_order_relaxed);
    skipped = skipped || n != pp->sysmon_skipped_wakes;
    pp->sysmon_skipped_wakes = n;
  }
  return skipped;
}

void flag_long_runners(std::int64_t now) {
  for (p* pp : sched.allp) {
    if (pp->owner.load(std::memory_order_relaxed) == nullptr ||
        pp->in_blocking.load(std::memory_order_relaxed) != nullptr) {
      pp->sysmon_run_since = 0;
      continue;
    }
    std::uint32_t tick = pp->schedtick.load(std::memory_order_relaxed);
    if (tick != pp->sysmon_schedtick || pp->sysmon_run_since == 0) {
      pp->sysmon_schedtick = tick;
      pp->sysmon_run_since = now;
      continue;
    }
    if (now - pp->sysmon_run_since > long_run_ns && !pp->preempt.exchange(true, std::memory_order_relaxed))
      preempt_asks.fetch_add(1, std::memory_order_relaxed);  // preempt_check's fast test
  }
}

constexpr std::int64_t deep_sleep_bound_ns = 1'000'000'000;

// Gs switched to on all Ps so far: unchanged between two looks, nothing ran.
std::uint64_t total_switches() {
  std::uint64_t n = 0;
  for (const p* pp : sched.allp) n += pp->switches.load(std::memory_order_relaxed);
  return n;
}

void deep_sleep_if_all_idle() {
  static std::uint64_t switches_at_last_check = ~std::uint64_t{0};
  const std::uint64_t switches = std::exchange(switches_at_last_check, total_switches());
  if (sched.npidle.load(std::memory_order_seq_cst) != sched.procs || switches != switches_at_last_check) return;
  sched.sysmon_deep.store(1, std::memory_order_seq_cst);
  if (sched.npidle.load(std::memory_order_seq_cst) == sched.procs &&
      sysmon_stopping.load(std::memory_order_seq_cst) == 0 && !quit_asked.load(std::memory_order_seq_cst)) {
    sched.sysmon_deep_sleeps.fetch_add(1, std::memory_order_relaxed);
    os::futex_wait(&sched.sysmon_deep, 1, deep_sleep_bound_ns);
  }
  sched.sysmon_deep.store(0, std::memory_order_seq_cst);
}

// Frees the fresh queue's drained chunks (freshq.hpp) outside sched.lock:
// unmapping 2 MiB is too long to hold the scheduler's lock for.
void release_fresh_chunks() {
  if (!sched.fresh_chunks_released()) return;
  fresh_fifo::chunk* list = nullptr;
  {
    lock_scope lk(sched.lock);
    list = sched.freshq.detach_released();
  }
  fresh_fifo::free_chunks(list);
}

void sysmon_loop() {
  os::block_async_signals();  // handlers run on Ms (runtime/signals.cpp)
  set_this_m(&sysmon_m);
  std::int64_t delay = min_delay_ns;
  int idle_looks = 0;
  while (sysmon_stopping.load(std::memory_order_acquire) == 0) {
    os::futex_wait(&sysmon_stopping, 0, delay);
    if (quit_asked.load(std::memory_order_acquire)) fatal_sigquit();
    if (sysmon_stopping.load(std::memory_order_acquire) != 0) break;
    std::int64_t now = os::nanotime();
    sched.sysmon_clock.store(now, std::memory_order_relaxed);
    // Between taking a timer off its heap and queueing its G, that G is
    // visible nowhere: the deadlock check must not conclude anything then.
    sched.sysmon_acting.store(true);
    bool waiting = false;
    bool acted = retake_blocking(now, &waiting) > 0 || waiting;
    acted = wake_for_stranded_work(now) || acted;
    acted = rescue_stuck_lazy_gs() || acted;
    acted = fire_overdue_timers(now) || acted;
    acted = poll_if_nobody_did(now) || acted;
    sched.sysmon_acting.store(false);
    // An M that went idle while we were acting could not conclude (it saw
    // sysmon_acting) and will not look again: once the program has been
    // quiet for a while, look for it.
    if (!acted && idle_looks >= idle_looks_before_backoff) {
      lock_scope lk(sched.lock);
      check_dead();
    }
    flag_long_runners(now);
    release_fresh_chunks();
    if (acted) {
      delay = min_delay_ns;
      idle_looks = 0;
    } else if (++idle_looks > idle_looks_before_backoff) {
      delay = std::min(delay * 2, wakes_were_skipped() ? max_delay_skipping_wakes_ns : max_delay_ns);
      deep_sleep_if_all_idle();
    }
  }
  set_this_m(nullptr);
}

}  // namespace

void sysmon_start() {
  sysmon_m.id = -1;
  sysmon_m.rand_state = 0x5851f42d4c957f2dull;
  sysmon_stopping.store(0, std::memory_order_release);
  sched.sysmon_clock.store(os::nanotime(), std::memory_order_relaxed);
  sysmon_thread = std::thread(sysmon_loop);
  sysmon_live.store(true, std::memory_order_seq_cst);
}

bool sysmon_ask_quit() noexcept {
  // The flag first, then the look at sysmon_live, while sysmon_stop clears
  // sysmon_live, then looks at the flag (all seq_cst): one of the two sees
  // the other, so a request at the run's end is never lost (both may act:
  // each exits 2).
  quit_asked.store(true, std::memory_order_seq_cst);
  if (!sysmon_live.load(std::memory_order_seq_cst)) return false;
  os::futex_wake(&sysmon_stopping, 1);
  os::futex_wake(&sched.sysmon_deep, 1);
  return true;
}

void sysmon_wake_from_deep_sleep() noexcept {
  if (sched.sysmon_deep.load(std::memory_order_seq_cst) == 0) return;
  // A P runs again: its first parks come before sysmon is back, and must
  // not stamp the time it went to sleep at.
  sched.sysmon_clock.store(os::nanotime(), std::memory_order_relaxed);
  sched.sysmon_deep.store(0, std::memory_order_seq_cst);
  os::futex_wake(&sched.sysmon_deep, 1);
}

void sysmon_stop() {
  sysmon_stopping.store(1, std::memory_order_seq_cst);
  os::futex_wake(&sysmon_stopping, 1);
  sysmon_wake_from_deep_sleep();
  if (sysmon_thread.joinable()) sysmon_thread.join();
  // A SIGQUIT that sysmon, leaving, did not see: dumped here, not lost
  // (sysmon_ask_quit has the other half of the handshake).
  sysmon_live.store(false, std::memory_order_seq_cst);
  if (quit_asked.load(std::memory_order_seq_cst)) fatal_sigquit();
}

}  // namespace weft::detail
