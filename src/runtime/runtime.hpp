// src/runtime/runtime.hpp: the runtime's internal types: G, M, P and sched.
// The protocol that moves them around is described at the top of proc.cpp;
// the words are defined in docs/GLOSSARY.md.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "platform/spinlock.hpp"
#include "platform/thread_annotations.hpp"
#include "platform/send_ring.hpp"
#include "platform/spin_futex_mutex.hpp"
#include "runtime/fatal.hpp"
#include "runtime/freshq.hpp"
#include "runtime/quick_spin.hpp"
#include "runtime/note.hpp"
#include "runtime/stack.hpp"
#include "runtime/gstats.hpp"
#include "runtime/trace_events.hpp"
#include "runtime/timer.hpp"
#include <weft/go.hpp>

// Whether this translation unit is built with ASan or TSan (the compiler's
// own flags, so that every unit of one build agrees on g's layout).
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define WEFT_G_HAS_SAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define WEFT_G_HAS_SAN 1
#endif
#endif
#ifndef WEFT_G_HAS_SAN
#define WEFT_G_HAS_SAN 0
#endif

namespace weft::detail {

struct m;
struct p;
struct locker_state;

// G states. A G is published to other Ms (in a run queue or a wait queue)
// only once its context is saved, so "runnable" and "waiting" always mean a
// resumable context. scan_bit is set by a goroutine dump while it reads a
// waiting G's stack; ready() waits for it to clear.
enum gstatus : std::uint32_t {
  g_unused = 0,  // not a goroutine: on a free list, or never used
  g_runnable = 1,  // in a run queue
  g_running = 2,  // on an M
  g_waiting = 3,  // parked
  g_dead = 4,  // finished, not yet recycled
};
constexpr std::uint32_t scan_bit = 0x100;

// The C++ exception-handling globals of one context (libstdc++ and libc++abi
// share this layout: the caught-exceptions stack and the uncaught count).
struct eh_globals {
  void* caught = nullptr;
  unsigned int uncaught = 0;
};

struct gls_slot {
  std::size_t key;
  void* value;
  void (*destroy)(void*);
};

// What few goroutines have: kept out of g to keep g at four cache lines.
struct g_extra {
  std::string name;
  std::vector<gls_slot> gls;
};

// A goroutine. Lives in a slab (gslab.cpp) and is recycled, never freed, so
// that a dump can walk every G without locks on the spawn path.
struct g {
  // Hot: touched by every switch.
  void* ctx = nullptr;  // saved Boost.Context fcontext while not running
  g* schedlink = nullptr;
  std::atomic<std::uint32_t> status{g_unused};
  bool is_g0 = false;
  bool ever_ran = false;
  std::uint8_t stack_request = 0;  // the size class it will get
  stack stk;
  eh_globals eh;
#if WEFT_G_HAS_SAN
  // ASan: the fake-stack slot of this stack; TSan: this goroutine's fiber.
  // (The two sanitizers never share a build; plain builds have no slot: use
  // san_slot.)
  void* san = nullptr;
#endif
  goroutine_id id = 0;

  // The body. ops is null once the closure is destroyed.
  const closure_ops* ops = nullptr;
  void* closure = nullptr;  // inline_buf or heap
  // Thread controls (thread_control.cpp). home: the only M this G may run
  // on (lock_os_thread, dedicate_os_thread, thread_locker), else null.
  // Changed only by the G itself while it runs; read by ready() after it
  // parked. (Here: it fills what inline_buf's alignment would leave empty.)
  m* home = nullptr;
  alignas(16) unsigned char inline_buf[48];

  std::uint32_t lock_count = 0;  // lock_os_thread nesting
  // weft::blocking nesting (blocking.cpp): only the outermost call marks the
  // P; while it is > 0 the G must not park or yield. Owner only.
  std::uint32_t blocking_depth = 0;
  // Set by runtime code that is about to park (a reader goroutine that hands
  // a reply over and reads again): what it readies or starts goes to its
  // P's queue without waking another M (parks_soon.cpp), and the network
  // poller's readies of such Gs wake none either (proc.cpp, wake_for_polled).
  // Written by the G itself; read by the M that readies it once parked.
  bool parks_soon = false;
  // What ready learns of the running G (parks_soon.cpp): set when it
  // readies a G into its P's empty run queue, looked at and cleared when it
  // next parks or yields; parked_soon counts the times in a row the readied
  // G was still there to run next. Owner only.
  bool readied_into_empty_p = false;
  std::uint8_t parked_soon = 0;
  // Parked in a batched write whose flush has not run (send_batch.cpp):
  // until its park completes no flush may ready it. Owner P's M only.
  bool in_send_batch = false;
  // Readied into its P's lazy list rather than its run queue (lazy_ready.cpp,
  // ready): a link's writer goroutine, which writes more frames at once the
  // later it runs (wire/link.hpp). Set by the G itself.
  bool ready_lazily = false;
  // For dumps, which read them from another thread: which thread control
  // set home (thread_control.cpp, control_names), and below, the home's
  // thread id.
  std::atomic<std::uint8_t> control{0};
  // The trace (trace_events.hpp, trace_epoch) in which this G's name was
  // last recorded. Written at its creation and by the M about to run it.
  std::uint32_t trace_epoch = 0;
  // Inside weft::blocking: where it was called from (for dumps; static
  // strings, weft/blocking.hpp's call_site), else null.
  std::atomic<std::uint32_t> blocking_line{0};
  std::atomic<const char*> blocking_file{nullptr};
  std::atomic<const char*> blocking_function{nullptr};
  locker_state* locker = nullptr;  // the thread_locker it holds
  std::atomic<long> home_tid{0};

  // Cold: for dumps, panics and goroutine_local.
  const char* wait_reason = nullptr;
  std::int64_t wait_since = 0;  // sched.sysmon_clock when it parked
  // While set (wait_label_scope, gstats.hpp): the reason instrumentation
  // counts this G's blocked time under, instead of its park's. Only the G
  // itself writes it; read by the M that parks it.
  const char* wait_label = nullptr;
  // Atomics (relaxed: plain moves on x86) because dumps read them while
  // another M may be recycling the G.
  std::atomic<void*> creation_pc{nullptr};
  std::atomic<goroutine_id> parent_id{0};
  g_extra* extra = nullptr;  // only for named goroutines and goroutine_local users
  // Instrumentation's record (gstats.hpp): made the first time it is needed,
  // then kept with the G.
  std::atomic<g_stats*> stats{nullptr};

  // REQUIRES: gp is this thread's own G, or one not yet started: others
  // (dumps) use g_name, which cannot race with the G exiting.
  const std::string* name() const noexcept { return extra && !extra->name.empty() ? &extra->name : nullptr; }
  g_extra& extras();
};

// Four cache lines, each G on its own four (chunks are mapped pages): a
// million queued goroutines are a million Gs, and every byte of a G is
// faulted in, zeroed and carried between cores (spawn). Sanitizer builds
// add their slot.
static_assert(WEFT_G_HAS_SAN || sizeof(g) == 256, "a G grew past four cache lines: see the comment above");

// The sanitizers' slot of gp (see g::san), or null in plain builds, whose
// hooks ignore it.
inline void** san_slot(g* gp) noexcept {
#if WEFT_G_HAS_SAN
  return &gp->san;
#else
  (void)gp;
  return nullptr;
#endif
}
inline void* san_of(g* gp) noexcept {
  void** slot = san_slot(gp);
  return slot ? *slot : nullptr;
}
inline void set_san(g* gp, void* v) noexcept {
  if (void** slot = san_slot(gp)) *slot = v;
}

// A global FIFO of Gs linked through schedlink. head and tail are guarded by
// sched.lock (a bound M's inbox: by its inbox_lock); size may be read without it (a hint).
struct gqueue {
  g* head = nullptr;
  g* tail = nullptr;
  std::atomic<std::int32_t> size{0};
};

// Asks the cache for gp's lines ahead of its run (a queued G is usually
// cold: made long ago, or on another core). Never faults, whatever gp is.
inline void prefetch_g(const g* gp) noexcept {
  const char* b = reinterpret_cast<const char*>(gp);
  for (int i = 0; i < 4; ++i) __builtin_prefetch(b + 64 * i);
}

// What the context that runs next must do for the one that switched away
// (see finish_switch in context.cpp).
// requeue: back to the global run queue (an M that lost its P in a blocking
// call and found no other).
enum class after_switch : std::uint8_t { none, park, yield, exit, requeue };

// What an M may run (thread_control.cpp).
//   normal: any G, with one of the procs Ps.
//   locked: only lockedg (lock_os_thread), with one of the procs Ps; while
//           lockedg waits the M gives its P away and sleeps until a P is
//           handed to it together with its G (nextp).
//   bound:  only Gs whose home is this M (dedicate_os_thread, thread_locker),
//           on a private P outside allp; other Ms hand it Gs through inbox.
enum class m_kind : std::uint8_t { normal, locked, bound };
// Which thread control gave a G its home (g.control; for dumps).
enum class control : std::uint8_t { none, locked, dedicated, locker };

// A machine: an OS thread. g0 is its scheduler context on the thread's own stack.
struct m {
  int id = 0;
  g g0;
  g* curg = nullptr;
  p* pp = nullptr;
  // Handed over by startm before the wake-up. Atomic: startm writes it under
  // sched.lock, the woken M reads it without (the note orders them).
  std::atomic<p*> nextp{nullptr};
  bool spinning = false;
  // How long find_runnable spins before giving its P up: adapts to whether
  // spinning finds work (proc.cpp, spin_before_idle). Starts short: a new
  // M learns to spin long from spins that found work, where a long first
  // spin cost every short-lived process (a spawned worker) ~0.3 ms of CPU
  // on each M, taken from the processes it waits for. Owner only.
  std::int64_t spin_ns = 1'000;
  // How long find_runnable looks for a quick reply (quick_reply_scope)
  // before giving its P up (quick_spin.hpp). Owner only.
  quick_spin quick;
  // The clock as a sleeping G read it for its deadline, just before it
  // parked: the park's own look at the timers (finish_switch) uses it
  // rather than a second read, and clears it. Older than now by the park's
  // path alone (no user code), so a timer due at it is due. Owner only.
  std::int64_t now_hint = 0;
  // While this M polls the network for itself (proc.cpp, poll_for_self):
  // the Gs it readies wake no M; it counts them, and those not declared to
  // park soon, and wakes one afterwards only for the second and later
  // (proc.cpp, wake_for_polled). Owner only.
  bool defer_wakep = false;
  int deferred_readies = 0;
  int deferred_readies_not_parking_soon = 0;
  // The Gs it readied while it held no P (the idle M's blocking poll),
  // linked by schedlink: they go to the P it takes next, else to the
  // global queue (proc.cpp, m_idle). Owner only.
  g* polled_head = nullptr;
  g* polled_tail = nullptr;
  bool exiting = false;  // left the idle pool; its thread ends (proc.cpp)
  long tid = 0;  // gettid()
  m_kind kind = m_kind::normal;
  g* lockedg = nullptr;  // kind locked: the G (lock_os_thread)
  // kind normal: a G with another home that this M picked on a G's stack;
  // its g0 hands it on (proc.cpp, startlockedm).
  g* handoff_g = nullptr;
  // kind bound (thread_control.cpp).
  p* own_p = nullptr;  // the private P
  spinlock inbox_lock;
  gqueue inbox GUARDED_BY(inbox_lock);  // Gs readied by other Ms
  // The inbox's size is a hint that needs no lock (see gqueue).
  std::int32_t inbox_size(std::memory_order mo) const NO_THREAD_SAFETY_ANALYSIS { return inbox.size.load(mo); }
  // Its last G left (or its locked G exited): g0 unbinds the M. Owner only.
  bool retire = false;
  bool leave_on_retire = false;  // then the thread ends (not for M0)
  bool is_m0 = false;  // the thread that called weft::run
  // Threads between handing this M a G or a P and waking its note: an M
  // that leaves waits for them before it is freed (thread_control.cpp).
  std::atomic<std::int32_t> wakers{0};
  eh_globals* eh = nullptr;  // this thread's C++ exception globals (fixed per thread)
  note park;  // idle sleep (note.hpp)
  m* schedlink = nullptr;
  std::thread thread;
  std::uint64_t rand_state = 0;

  // The pending action for the previous context (set just before a switch).
  g* prev = nullptr;
  after_switch action = after_switch::none;
  void (*park_unlock)(void*) = nullptr;
  void* park_arg = nullptr;

  trace_buffer trace;
};

constexpr std::uint32_t runq_size = 256;

// A processor: what an M needs to run Gs: run queues, timers, caches.
struct p {
  int id = 0;
  bool is_private = false;  // a bound M's own P, outside allp (thread_control.cpp)
  std::atomic<m*> owner{nullptr};  // the M running on it; null while idle
  p* link = nullptr;  // idle list
  std::atomic<std::uint32_t> schedtick{0};  // picks so far; written by the owner only
  std::atomic<std::uint32_t> switches{0};  // Gs switched to; written by the owner only
  // Readies whose wakep was skipped because the readier was expected to
  // park soon (parks_soon.cpp); written by the owner only. While it moves,
  // sysmon looks at least every millisecond for a G left waiting.
  std::atomic<std::uint32_t> skipped_wakes{0};

  // The local run queue: a ring the owner pushes at tail and everyone pops
  // at head with CAS. runnext: the G readied by the running G, run next.
  alignas(64) std::atomic<std::uint32_t> runq_head{0};
  alignas(64) std::atomic<std::uint32_t> runq_tail{0};
  std::atomic<g*> runq[runq_size] = {};
  std::atomic<g*> runnext{nullptr};

  // weft::blocking (blocking.cpp): the M whose G is in a blocking call
  // while it still holds this P, else null. sysmon takes the P away by a CAS
  // to null and hands it to another M; the returning M keeps the P only if
  // its own CAS (itself -> null) wins.
  std::atomic<m*> in_blocking{nullptr};
  std::atomic<std::uint32_t> blocking_tick{0};  // blocking calls entered; the owner writes
  // Set by sysmon when one G has run for more than 10 ms without a pick;
  // cleared at the next pick. Honoured at weft's yield points.
  std::atomic<bool> preempt{false};
  // The owner's shortcut past the clock in its timer check at every
  // schedule (run_due_timers_owned): the earliest timer it last found far
  // off, and how many more checks may skip the clock while it stays so.
  std::int64_t far_timer_when = INT64_MAX;
  std::uint32_t far_timer_skips = 0;
  // sysmon's bookkeeping (sysmon thread only): what it saw last, and since when.
  std::uint32_t sysmon_schedtick = 0;
  std::uint32_t sysmon_switches = 0;
  std::uint32_t sysmon_skipped_wakes = 0;
  bool sysmon_saw_queued = false;
  bool sysmon_saw_backlog = false;  // Gs in the ring, beyond runnext
  std::uint32_t sysmon_runq_head = 0;
  std::int64_t sysmon_look_ns = 0;
  std::uint32_t sysmon_blocking_tick = 0;
  std::int64_t sysmon_run_since = 0;
  std::int64_t sysmon_blocking_since = 0;

  timer_heap timers;
  stack_cache stacks;
  gstats_ended gstats;  // goroutines that ended here while instrumenting
  g* free_gs = nullptr;  // unused Gs for its next goroutines (gslab.cpp), owner only
  int nfree_gs = 0;
  // Goroutine ids taken from sched.next_goid a batch at a time (Go's
  // goidcache): [goid_next, goid_end) are this P's to give; owner only.
  std::uint64_t goid_next = 0;
  std::uint64_t goid_end = 0;
  // Writes batched through io_uring (send_batch.cpp), owner only: the
  // ring, made at the first batched write; how many of its goroutines wait
  // for the next flush; p.switches when the first of them posted.
  os::send_ring* send_ring = nullptr;
  std::uint32_t send_pending = 0;
  std::uint32_t send_first_switch = 0;
  // Gs readied lazily (g::ready_lazily): runnable, but held here until the
  // P has nothing else to run or enough goroutines ran; sysmon takes them
  // when the P is stuck. The protocol and its invariants: lazy_ready.cpp.
  spinlock lazy_lock;
  g* lazy_head GUARDED_BY(lazy_lock) = nullptr;
  g* lazy_tail GUARDED_BY(lazy_lock) = nullptr;
  std::atomic<bool> has_lazy{false};
  std::uint32_t lazy_first_switch = 0;  // owner only
  std::uint32_t sysmon_lazy_switches = 0;  // sysmon only
  bool sysmon_saw_lazy = false;  // sysmon only
};

// The global scheduler state.
struct sched_t {
  spin_futex_mutex lock;  // guards the global queues and the idle lists
  gqueue runq GUARDED_BY(lock);  // Gs that ran before and are runnable again
  fresh_fifo freshq GUARDED_BY(lock);  // goroutines that never ran, beyond what the rings hold (freshq.hpp)
  // Reads only the queues' atomic size hints, which need no lock.
  bool has_global_work() const NO_THREAD_SAFETY_ANALYSIS {
    return runq.size.load(std::memory_order_relaxed) + freshq.size.load(std::memory_order_relaxed) > 0;
  }
  // Reads only the fresh queue's atomic hint (sysmon's release_fresh_chunks).
  bool fresh_chunks_released() const NO_THREAD_SAFETY_ANALYSIS { return freshq.has_released(); }

  p* pidle GUARDED_BY(lock) = nullptr;
  std::atomic<std::int32_t> npidle{0};
  m* midle GUARDED_BY(lock) = nullptr;
  int nmidle GUARDED_BY(lock) = 0;
  int mcount GUARDED_BY(lock) = 0;
  int next_m_id GUARDED_BY(lock) = 0;
  std::atomic<std::int32_t> nmspinning{0};
  // startm calls that handed a P to an idle or new M this run: each is a
  // thread woken or made (for tests: which paths wake one).
  std::atomic<std::uint64_t> m_wakeups{0};
  // Fixed while Ms run (filled at the start of weft::run): read without lock.
  std::vector<p*> allp;
  std::vector<m*> allm GUARDED_BY(lock);
  std::vector<p*> private_ps GUARDED_BY(lock);  // every private P made this run
  p* private_free GUARDED_BY(lock) = nullptr;  // idle private Ps, linked through p.link
  int procs = 0;  // fixed while Ms run, like allp

  // The one idle M that sleeps until the earliest timer (timer.cpp), in the
  // network poller (waiter_polls) when anyone waits for I/O.
  m* timer_waiter GUARDED_BY(lock) = nullptr;
  bool waiter_polls GUARDED_BY(lock) = false;
  bool waiter_polls_now() EXCLUDES(lock) {
    lock_scope lk(lock);
    return waiter_polls;
  }
  std::atomic<std::int64_t> last_poll{0};  // os::nanotime() of the last netpoll
  std::atomic<std::int64_t> waiter_deadline{INT64_MAX};

  // A plain thread has blocked in, or been woken from, a weft primitive, or
  // readied a G during this run: it may ready one later, so deadlock
  // detection is off.
  std::atomic<bool> plain_threads_seen{false};
  // Goroutines in a quick_reply_scope now: while any, an M with nothing
  // to run looks for their replies before it sleeps (quick_spin.hpp).
  std::atomic<std::int32_t> quick_reply_waits{0};
  std::atomic<std::uint64_t> quick_spin_finds{0};  // quick spins that found work, this run (for tests)
  // sysmon is firing timers or handing off a P (sysmon.cpp, check_dead).
  std::atomic<bool> sysmon_acting{false};
  // 1 while sysmon sleeps because every P is idle; pidle_get wakes it
  // (sysmon.cpp: its deep sleep and the handshake).
  std::atomic<std::uint32_t> sysmon_deep{0};
  std::atomic<std::uint64_t> sysmon_deep_sleeps{0};  // this run's, for tests
  // os::nanotime() at sysmon's last look: behind the clock by at most its
  // delay (10 ms) while any P runs. What a park stamps as wait_since: a
  // dump shows waits only from 10 ms up, and a clock read per park (even
  // the coarse one, a vDSO call) was 11% of pingpong's round trip. Its own
  // line: sysmon writes it every look, parks on every core read it, and
  // what follows (stopping, read at every pick) must not share it.
  alignas(64) std::atomic<std::int64_t> sysmon_clock{0};
  alignas(64) std::atomic<bool> running{false};
  std::atomic<bool> stopping{false};
  // Which weft::run this is (1, 2, ...; 0 before the first): state kept
  // per run outside the scheduler (os/shutdown.cpp) tells a new run from
  // the one it was made in. Lock-free: signal handlers read it.
  std::atomic<std::uint64_t> epoch{0};
  int exit_code = 0;
  // On a line of its own: Ps take ids from it in batches (p.goid_next),
  // and beside `stopping` (read at every pick) it dragged that line
  // between cores.
  alignas(64) std::atomic<std::uint64_t> next_goid{1};
  // How many goroutines live, kept in parts (live_goroutine_count sums
  // them): each of the first live_slots Ps counts its own starts and exits
  // in its slot, which only its owner writes (a load and a store, no
  // read-modify-write); main, private Ps and Ps past those slots count in
  // live_goroutines. One shared counter, added to where a goroutine starts
  // and taken from where it ends, moved its line between the cores twice
  // per goroutine: 12% of skynet's time at procs 2. In sched, not in the
  // Ps, so that a reader racing a run's end reads no freed memory.
  static constexpr int live_slots = 256;
  struct alignas(64) live_slot {
    std::atomic<std::int64_t> n{0};
  };
  live_slot live_by_p[live_slots];
  alignas(64) std::atomic<std::int64_t> live_goroutines{0};
};

extern sched_t sched;

// A goroutine started (+1) or ended (-1) on pp, the caller's P (sched_t,
// live_by_p).
inline void count_live_goroutines(const p* pp, std::int64_t d) noexcept {
  if (pp != nullptr && !pp->is_private && pp->id < sched_t::live_slots) {
    std::atomic<std::int64_t>& n = sched.live_by_p[pp->id].n;
    n.store(n.load(std::memory_order_relaxed) + d, std::memory_order_relaxed);
    return;
  }
  sched.live_goroutines.fetch_add(d, std::memory_order_relaxed);
}
// The sum: a snapshot, which goroutines starting and ending on other Ps
// meanwhile may leave off by a few (or below zero: read as 0).
std::int64_t live_goroutine_count() noexcept;

// The one reset of sched (run.cpp): every field back to its value at the
// start of a run with `procs` Ps, except the lock and the running and
// stopping flags, which weft::run sets itself. REQUIRES: no M runs, and the
// Ps and Ms of an earlier run are freed (the lists are only cleared).
void sched_reset(int procs);

// A copy of gp's name ("" if none), safe against gp exiting meanwhile
// (gslab.cpp: `extra` is created and freed under a lock dumps take too).
std::string g_name(g* gp);

// Per-thread state is reached only through these non-inlined accessors: a
// goroutine may resume on another thread, and a compiler may keep a TLS
// address in a register across a call it cannot see switching threads.
m* this_m() noexcept;
void set_this_m(m*) noexcept;
g* this_g() noexcept;  // null outside a goroutine

// For the life of the scope, the calling goroutine is one that parks soon
// after it readies another (g::parks_soon): a reader goroutine that hands
// replies over and reads again. Outside a goroutine it does nothing.
class parks_soon_scope {
 public:
  parks_soon_scope() noexcept : gp_(this_g()) {
    if (gp_) gp_->parks_soon = true;
  }
  ~parks_soon_scope() {
    if (gp_) gp_->parks_soon = false;
  }
  parks_soon_scope(const parks_soon_scope&) = delete;
  parks_soon_scope& operator=(const parks_soon_scope&) = delete;

 private:
  g* gp_;
};

// For the life of the scope, the calling goroutine waits for a reply that
// its peer sends as soon as it has the request (a remote call the server
// answers without waiting for anyone: a fetch-add, a send into a buffered
// channel), not for an event of unknown distance (a receive). Then an M
// that runs out of goroutines polls the network for a while, yielding the
// CPU in between, before it sleeps: a sleep and the wake-up for a reply
// 10-30 us away cost more than the wait (quick_spin.hpp). With `quick`
// false, or outside a goroutine, it does nothing.
class quick_reply_scope {
 public:
  explicit quick_reply_scope(bool quick) noexcept : on_(quick && this_g() != nullptr) {
    if (on_) sched.quick_reply_waits.fetch_add(1, std::memory_order_relaxed);
  }
  ~quick_reply_scope() {
    if (on_) sched.quick_reply_waits.fetch_sub(1, std::memory_order_relaxed);
  }
  quick_reply_scope(const quick_reply_scope&) = delete;
  quick_reply_scope& operator=(const quick_reply_scope&) = delete;

 private:
  bool on_;
};

// For a goroutine that writes what others queue (a link's writer): from
// now on it is readied lazily, after the goroutines runnable on the
// readier's P, so that their frames join its next write (g::ready_lazily).
void ready_me_lazily() noexcept;
// Whether goroutines other than the caller are queued to run on its P:
// what the caller hands over now would wait for them anyway. False outside
// a goroutine.
bool others_runnable_here() noexcept;
// lazy_ready.cpp: a P's lazily readied Gs. queue_lazily keeps gp (a
// ready_me_lazily G) on mp's P if others wait to run there, else says
// no; promote_lazy_if_due moves them to the run queue when due (the
// owner, at each pick); take_lazy takes them off (sysmon, when the P is
// stuck), linked by schedlink, or null.
bool queue_lazily(m* mp, g* gp) noexcept;
void promote_lazy_if_due(p* pp);
g* take_lazy(p* pp) noexcept;

// parks_soon.cpp: which Gs park soon after they ready another. Whether
// gp's readies into its P's empty queue skip wakep; whether this ready by
// readier (the running G, or null) into pp's queue does (and the mark its
// next park looks at); and that look, by the G about to park or yield.
bool learned_it_parks_soon(const g* gp) noexcept;
bool ready_skips_wake_slow(g* readier, p* pp) noexcept;
// Inline, as are wakep's and run_due_timers_owned's first looks: a channel
// hand-over at procs 1 (pingpong) is some 500 instructions, and each call
// that returns at once was a few percent of them.
inline bool ready_skips_wake(g* readier, p* pp) noexcept {
  // One P: there is never another to wake, and nothing to learn for. A G
  // tied to its thread (g.home: lock_os_thread, thread_locker): its M
  // gives the P away when it parks, so another M runs what it readied
  // anyway, and woken now it is ready by then (locked_server at procs 2
  // took 600 -> 1,700 ns a request when the wake waited for the park).
  if (readier == nullptr || readier->home != nullptr || sched.procs == 1) return false;
  return ready_skips_wake_slow(readier, pp);
}
// Whether starting a G onto pp by starter (the running G, or null) skips
// wakep: starter is declared to park soon.
bool start_skips_wake(const g* starter, p* pp) noexcept;
void learn_whether_it_parked_soon_slow(g* gp, const p* pp) noexcept;
inline void learn_whether_it_parked_soon(g* gp, const p* pp) noexcept {
  if (gp->readied_into_empty_p) learn_whether_it_parked_soon_slow(gp, pp);
}

// proc.cpp: the scheduler.
void ready(g* gp);  // waiting -> runnable
void park(const char* reason, void (*unlock)(void*), void* arg);  // running -> waiting
void yield_now();
[[noreturn]] void goexit();
void wakep_slow();
// Starts an M to run queued work if a P is idle and no M spins.
inline void wakep() {
  if (sched.npidle.load(std::memory_order_seq_cst) != 0) wakep_slow();
}
std::uint64_t fastrand(m* mp) noexcept;
g* find_runnable_fast(p* pp, bool run_timers = true);  // never blocks; safe on a parking G's stack
bool run_due_timers(p* pp);  // fires pp's due timers; true if any fired
bool run_due_timers_owned_slow(p* pp, std::int64_t when0);
// The same, by pp's owner at a schedule.
inline bool run_due_timers_owned(p* pp) {
  std::int64_t when0 = pp->timers.when0.load(std::memory_order_acquire);
  return when0 != INT64_MAX && run_due_timers_owned_slow(pp, when0);
}
void run_m0(m* m0);  // the calling thread becomes M0 until stop
void acquirep(m* mp, p* pp);
p* releasep(m* mp);
void pidle_put(p* pp) REQUIRES(sched.lock);
p* pidle_get() REQUIRES(sched.lock);
// Gives away a P whose M lost it (sysmon, from a blocking call): to a new or
// idle M if it has work or timers, else to the idle list.
void handoffp(p* pp);
// sysmon (sysmon.cpp): started by run_main, stopped before the Ms are joined.
void sysmon_start();
void sysmon_stop();
// SIGQUIT's handler: asks sysmon to dump every goroutine and exit 2 (the
// dump waits for its next look, 1 s at most). False when no sysmon runs.
// Async-signal-safe.
bool sysmon_ask_quit() noexcept;
// Wakes sysmon if it sleeps because every P was idle; cheap otherwise (one
// load). Called when a P leaves the idle list of an all-idle program.
void sysmon_wake_from_deep_sleep() noexcept;
// How many Ps sysmon has flagged (p.preempt) and their owners have not
// picked since, plus one once the runtime stops: preempt_check's fast
// test, one load of a word that changes at most every 10 ms per P, in
// place of a call that found this M and its P at every channel
// operation. Stale for a moment at worst: a yield comes a check later.
extern std::atomic<std::uint32_t> preempt_asks;
void preempt_check_slow() noexcept;
// A yield point: yields if sysmon flagged the running G as a long runner
// (or the runtime is stopping). Not inside weft::blocking.
inline void preempt_check() noexcept {
  if (__builtin_expect(preempt_asks.load(std::memory_order_relaxed) != 0, 0)) preempt_check_slow();
}
// blocking.cpp: parking (or yielding) inside weft::blocking would leave the
// P marked as blocked while other Gs run on it: misuse. parking_forbidden()
// tells whether the calling goroutine is inside weft::blocking;
// throw_parking_forbidden throws the misuse_error that names `what`.
bool parking_forbidden() noexcept;
// The same for gp, the calling goroutine (this_g(), or null), when the
// caller needs gp anyway.
inline bool parking_forbidden(const g* gp) noexcept { return gp != nullptr && gp->blocking_depth != 0; }
[[noreturn]] void throw_parking_forbidden(const char* what);
// The check the parking primitives make before they queue a waiter.
inline void forbid_parking_in_blocking(const char* what) {
  if (parking_forbidden()) throw_parking_forbidden(what);
}
void wake_all_for_stop();
// Ends the program with "all goroutines are asleep - deadlock!" if no G can
// ever be readied again.
void check_dead() REQUIRES(sched.lock);
// The M takes the calling thread's leave: removed from allm, its thread
// detached; the caller returns out of schedule_loop and the thread ends.
// False for M0 (the thread that called weft::run), which cannot end.
bool m_leave(m* mp);
// The calling thread's M, if it runs a goroutine; else throws misuse_error
// naming `what` (run.cpp).
m* require_goroutine(const char* what);

// thread_control.cpp: the g0 side of locked and bound Ms (schedule_loop
// calls them), and ready()'s routing of Gs with a home.
// Returns false when the M should leave schedule_loop (stop, or its thread ends).
bool schedule_locked(m* mp);
bool schedule_bound(m* mp);
// Hands gp to its home M; false if it is to be queued like any G (a locked
// G with no idle P: the M that picks it hands over its own, startlockedm).
bool ready_home(m* self, g* gp, m* home);
g* bound_pick(p* own);  // the next G of a bound M (its P's ring, then its inbox)
// goexit of a G that uses a thread control: ends the program if it holds a
// thread_locker, else marks its M to unbind.
void thread_control_exit(m* mp, g* gp);
// A normal M hands its P to the locked M of gp, which it picked; the M is
// left without a P.
void startlockedm(m* mp, g* gp);

// context.cpp: switching. mp is the calling thread's M (this_m()).
void switch_to(m* mp, g* from, g* to);
void finish_switch(void* from_ctx);
void prepare_first_run(p* pp, g* gp);

}  // namespace weft::detail
