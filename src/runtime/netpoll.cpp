// src/runtime/netpoll.cpp: the network poller.
//
// Concepts. An fd user registers a non-blocking fd (netpoll_open) and gets a
// poll_desc: the fd's readiness state, kept per mode (read, write). One
// epoll instance watches every registered fd edge-triggered (EPOLLIN |
// EPOLLOUT | EPOLLRDHUP | EPOLLET: one report per change, so an fd costs
// nothing while nobody waits on it). The scheduler calls netpoll(), which
// collects reports and readies the goroutines (and wakes the plain threads)
// whose fd became ready. Go's runtime/netpoll.go is the model.
//
// Per mode, a poll_desc is in one of three states (guarded by pd->lock):
//   idle     w == null, ready == false
//   ready    w == null, ready == true: an edge arrived that no wait consumed
//   waiting  w != null: a goroutine or plain thread is parked on it
// An edge in idle goes to ready; in waiting it takes the waiter off
// (outcome `ready`) and leaves idle. A wait in ready consumes the edge and
// returns at once; in idle it parks (waiting). A deadline that passes, or
// that set_deadline moves into the past, takes a waiter off with timed_out;
// netpoll_evict sets `closing` and takes both with `closing`. Checks at the
// start of a wait come in Go's order: closing, then an expired deadline
// (which does not consume a pending edge), then ready.
// Invariants: w != null implies !ready and !closing; `armed` implies w is a
// goroutine waiter with a finite deadline.
//
// Races. netpoll on one thread, a deadline timer on another, netpoll_evict
// or set_deadline on a third and the waiter itself all decide under pd->lock
// (a spinlock): whoever finds the waiter still in `w` takes it off, records
// its outcome and wakes it after unlocking; everyone else finds w == null and
// leaves it alone. So a wait ends exactly once. A goroutine waiter parks with
// block_on (runtime/park.hpp), which releases the lock only once its context
// is saved: a waker, which needs the lock, can never ready a goroutine that is
// still running.
//
// Deadlines. A mode's deadline is a number; a wait checks it against the
// clock. Only a parked goroutine needs a timer to end its wait: the mode's
// timer, embedded in the poll_desc, is armed while the lock is held just
// before block_on (its fire function needs the lock, so it cannot ready the
// goroutine before it parks; park runs no timers until after the unlock) and
// stopped by whoever takes the waiter off. A fire function does not trust
// the timer it came from: it re-checks, under the lock, that a waiter is
// there and the mode's deadline has passed. A fire that lost a race (the
// deadline moved, the waiter left, the poll_desc was closed and reused) thus
// does nothing, and nobody ever waits for a fire to finish. A plain thread
// sleeps on its futex word with a timeout instead (there may be no runtime
// and no timers); set_deadline kicks it (woken = 2) to re-read the deadline.
//
// Reuse and sequence numbers. poll_descs live in chunks that are never
// freed, and a closed one goes on a free list for the next netpoll_open. An
// epoll report already collected (or a fire already taken) for the fd before
// netpoll_close may reach the poll_desc after it was reused; so each
// registration's epoll data carries (seq << 32 | index), netpoll_close
// increments seq, and netpoll ignores a report whose seq is not the current
// one (Go's fdseq). Stale timer fires are harmless without one (see above).
//
// netpoll_break. One eventfd, registered level-triggered, wakes a thread
// blocked in netpoll(delay != 0). break_pending keeps a burst of breaks to
// one write; netpoll(0) leaves the eventfd readable for the blocked poller
// the break was meant for.
//
// Memory ordering: everything a waker publishes (the outcome) is written
// under pd->lock before wake(); a goroutine reads it after ready()
// (acq_rel on its status), a plain thread after its woken word (acquire).
// Chunk pointers are published with release and read with acquire by netpoll.
//
// Rejected: Go's lock-free pdReady/pdWait state word with CAS transitions:
// block_on's unlock-after-park gives the same safety with a plain lock and
// far fewer cases. Freeing a poll_desc on close: epoll may report it
// afterwards. Tagging the pointer itself with seq: depends on the address
// space's width; an index into chunks does not. One timer per deadline
// (armed while any deadline is pending, as Go does): a timer only matters to
// a parked goroutine, so idle connections with deadlines cost no heap slots.
#include "runtime/netpoll.hpp"

#include <atomic>
#include <cstdint>
#include <mutex>
#include <new>
#include <string>
#include <system_error>

#include "platform/epoll.hpp"
#include "platform/futex.hpp"
#include "platform/thread_mutex.hpp"
#include "runtime/park.hpp"
#include "runtime/runtime.hpp"
#include "runtime/timer.hpp"
#include <weft/errors.hpp>

namespace weft::detail {

namespace {

struct poll_waiter : waiter {
  poll_result result = poll_result::ready;  // written by the one that takes it off
};

// Plain-thread waiter's woken word: 0 asleep, 1 woken (park.hpp's wake),
// 2 kicked: its deadline changed, re-read it.
constexpr std::uint32_t kicked = 2;

struct mode_state {
  bool ready = false;
  bool armed = false;  // t is started and not yet stopped by us
  bool w_is_g = false;  // w is a goroutine (kept here: shutdown must not touch w)
  std::int64_t deadline = INT64_MAX;
  poll_waiter* w = nullptr;
  timer t;  // ends a parked goroutine's wait at `deadline`
};

}  // namespace

struct poll_desc {
  spinlock lock;
  std::uint32_t index = 0;  // in the chunk table; fixed
  std::uint32_t seq GUARDED_BY(lock) = 0;  // incremented by netpoll_close
  int fd GUARDED_BY(lock) = -1;
  bool live GUARDED_BY(lock) = false;  // between netpoll_open and netpoll_close
  bool closing GUARDED_BY(lock) = false;
  // An event said the peer closed (RDHUP, HUP) or the socket failed (ERR):
  // sticky, for netpoll_hangup.
  bool hangup GUARDED_BY(lock) = false;
  // The functions below that take a mode_state& are checked where they are
  // called: passing a guarded member by reference needs the lock.
  mode_state modes[2] GUARDED_BY(lock);
  // Guarded by pool.lock (not annotated: pool is declared below).
  poll_desc* next_free = nullptr;
};

namespace {

constexpr std::uint32_t chunk_bits = 8;
constexpr std::uint32_t chunk_size = 1u << chunk_bits;
constexpr std::uint32_t max_chunks = 1u << 16;  // 16M poll_descs
constexpr std::uint64_t break_data = UINT64_MAX;  // index 0xffffffff is never used
constexpr int max_events = 128;

// Chunks of poll_descs, never freed: netpoll maps an index to its
// poll_desc without a lock.
std::atomic<poll_desc*> chunks[max_chunks];

struct {
  thread_mutex lock;
  poll_desc* free GUARDED_BY(lock) = nullptr;
  std::uint32_t next_index GUARDED_BY(lock) = 0;
} pool;

// The epoll instance and the eventfd; set up by netpoll_init (or the first
// netpoll_open), torn down by netpoll_shutdown under init_lock.
thread_mutex init_lock;
std::atomic<int> epfd{-1};
std::atomic<int> breakfd{-1};
std::atomic<bool> active{false};
std::atomic<std::uint32_t> break_pending{0};
std::atomic<int> nwaiters{0};

poll_desc* lookup(std::uint32_t index) noexcept {
  poll_desc* c = chunks[index >> chunk_bits].load(std::memory_order_acquire);
  return c ? c + (index & (chunk_size - 1)) : nullptr;
}

void fire_deadline(timer* t);
void drop_timer(timer*) {}  // the heap forgets t (end of weft::run): pd still owns it

poll_desc* pd_alloc(int fd) {
  lock_scope lk(pool.lock);
  if (poll_desc* pd = pool.free) {
    pool.free = pd->next_free;
    pd->next_free = nullptr;
    return pd;
  }
  std::uint32_t i = pool.next_index;
  if (i >= max_chunks * chunk_size)
    throw std::system_error(EMFILE, std::system_category(),
                            "netpoll_open of fd " + std::to_string(fd) + ": too many poll descriptors");
  // A chunk's poll_descs are constructed as they are handed out, not all
  // at once: a program with a few fds (a spawned worker) touches one page
  // of its first chunk, not the 11 a chunk spans (each a page fault, a
  // copy in a process just forked). netpoll looks up only indices handed
  // out; the chunk is stored again after each one is made, so that its
  // acquire load orders the construction before whatever it reads.
  std::atomic<poll_desc*>& chunk = chunks[i >> chunk_bits];
  poll_desc* c = chunk.load(std::memory_order_relaxed);
  if ((i & (chunk_size - 1)) == 0)
    c = static_cast<poll_desc*>(::operator new (sizeof(poll_desc) * chunk_size, std::align_val_t{alignof(poll_desc)}));
  poll_desc* pd = new (c + (i & (chunk_size - 1))) poll_desc;
  pd->index = i;
  for (mode_state& s : pd->modes) {
    s.t.fire = fire_deadline;
    s.t.drop = drop_timer;
    s.t.arg = pd;
  }
  chunk.store(c, std::memory_order_release);
  pool.next_index = i + 1;
  return pd;
}

void pd_free(poll_desc* pd) {
  lock_scope lk(pool.lock);
  pd->next_free = pool.free;
  pool.free = pd;
}

// Takes the waiter off with outcome r; the caller wakes it (finish_wake)
// once it has released pd->lock. REQUIRES: pd->lock held, s.w != null.
poll_waiter* take(mode_state& s, poll_result r) {
  poll_waiter* w = s.w;
  s.w = nullptr;
  w->result = r;
  if (s.armed) {
    timer_stop(&s.t);  // false: a fire is on its way and will find no waiter
    s.armed = false;
  }
  return w;
}

// Wakes what take() returned. Counts it out of nwaiters only afterwards, so
// that the count never shows 0 while a waiter is neither waiting nor readied.
int finish_wake(poll_waiter* w) {
  if (w == nullptr) return 0;
  wake(w);
  nwaiters.fetch_sub(1, std::memory_order_relaxed);
  return 1;
}

// An edge for one mode. REQUIRES: pd->lock held.
poll_waiter* edge(mode_state& s) {
  if (s.w) return take(s, poll_result::ready);
  s.ready = true;
  return nullptr;
}

// REQUIRES: pd->lock held, s.w a goroutine, s.deadline finite.
void arm(mode_state& s) {
  if (s.armed) timer_stop(&s.t);
  s.t.when = s.deadline;
  timer_start(&s.t);
  s.armed = true;
}

void fire_deadline(timer* t) {
  auto* pd = static_cast<poll_desc*>(t->arg);
  mode_state& s = t == &pd->modes[0].t ? pd->modes[0] : pd->modes[1];
  timer_fire_done(t);  // nobody waits for this fire: pd is never freed
  pd->lock.lock();
  poll_waiter* w = nullptr;
  // The timer may be stale (see the top): decide by the state, not by t.
  if (s.w && s.w_is_g && s.deadline <= os::nanotime()) w = take(s, poll_result::timed_out);
  pd->lock.unlock();
  finish_wake(w);
}

// A plain thread's wait. REQUIRES: w registered in s. Releases the lock.
poll_result wait_thread(poll_desc* pd, mode_state& s, poll_waiter& w) RELEASE(pd->lock) {
  sched.plain_threads_seen.store(true);
  for (;;) {
    // Locked, w still registered: nobody has woken it (woken is 0 or kicked).
    w.woken.store(0, std::memory_order_relaxed);
    std::int64_t left = -1;
    if (s.deadline != INT64_MAX) {
      left = s.deadline - os::nanotime();
      if (left <= 0) {
        s.w = nullptr;
        pd->lock.unlock();
        nwaiters.fetch_sub(1, std::memory_order_relaxed);
        return poll_result::timed_out;
      }
    }
    pd->lock.unlock();
    os::futex_wait(&w.woken, 0, left);
    std::uint32_t v = w.woken.load(std::memory_order_acquire);
    if (v == 1) return w.result;
    pd->lock.lock();
    if (s.w != &w) {
      // Taken off: its wake-up is on the way; wait for it.
      pd->lock.unlock();
      while ((v = w.woken.load(std::memory_order_acquire)) != 1) os::futex_wait(&w.woken, v, -1);
      return w.result;
    }
  }
}

void init_locked() REQUIRES(init_lock) {
  if (epfd.load(std::memory_order_relaxed) >= 0) return;
  int ep = os::epoll_create();
  int bf = -1;
  try {
    bf = os::eventfd_create();
    os::epoll_add(ep, bf, os::ev_in, break_data);  // level-triggered: see the top
  } catch (...) {
    if (bf >= 0) os::close_fd(bf);
    os::close_fd(ep);
    throw;
  }
  break_pending.store(0, std::memory_order_relaxed);
  breakfd.store(bf, std::memory_order_release);
  epfd.store(ep, std::memory_order_release);
}

}  // namespace

void netpoll_init() {
  lock_scope lk(init_lock);
  init_locked();
}

void netpoll_shutdown() {
  lock_scope lk(init_lock);
  // Every fd still registered becomes closing: the epoll instance that
  // watched it is gone. Its goroutine waiters belong to a finished run and are
  // forgotten (never readied); plain threads are woken with `closing`.
  std::uint32_t n;
  {
    lock_scope plk(pool.lock);
    n = pool.next_index;
  }
  for (std::uint32_t i = 0; i < n; ++i) {
    poll_desc* pd = lookup(i);
    pd->lock.lock();
    poll_waiter* wake_too[2] = {nullptr, nullptr};
    if (pd->live) {
      pd->closing = true;
      for (int m = 0; m < 2; ++m) {
        mode_state& s = pd->modes[m];
        if (s.armed) timer_stop(&s.t);
        s.armed = false;
        if (s.w && !s.w_is_g) wake_too[m] = take(s, poll_result::closing);
        s.w = nullptr;
      }
    }
    pd->lock.unlock();
    for (poll_waiter* w : wake_too) {
      if (w) wake(w);
    }
  }
  nwaiters.store(0, std::memory_order_relaxed);
  active.store(false, std::memory_order_relaxed);
  int ep = epfd.exchange(-1, std::memory_order_acq_rel);
  int bf = breakfd.exchange(-1, std::memory_order_acq_rel);
  if (bf >= 0) os::close_fd(bf);
  if (ep >= 0) os::close_fd(ep);
}

poll_desc* netpoll_open(int fd) {
  int ep = epfd.load(std::memory_order_acquire);
  if (ep < 0) {
    lock_scope lk(init_lock);
    init_locked();
    ep = epfd.load(std::memory_order_relaxed);
  }
  poll_desc* pd = pd_alloc(fd);
  pd->lock.lock();
  pd->fd = fd;
  pd->live = true;
  pd->closing = false;
  pd->hangup = false;
  for (mode_state& s : pd->modes) {
    s.ready = false;
    s.deadline = INT64_MAX;
  }
  std::uint64_t data = std::uint64_t(pd->seq) << 32 | pd->index;
  pd->lock.unlock();
  try {
    os::epoll_add(ep, fd, os::ev_in | os::ev_out | os::ev_rdhup | os::ev_et, data);
  } catch (...) {
    pd->lock.lock();
    pd->live = false;
    ++pd->seq;
    pd->lock.unlock();
    pd_free(pd);
    throw;
  }
  active.store(true, std::memory_order_release);
  return pd;
}

bool netpoll_hangup(poll_desc* pd) {
  lock_scope lk(pd->lock);
  return pd->hangup;
}

poll_result netpoll_wait(poll_desc* pd, poll_mode mode) {
  mode_state& s = pd->modes[static_cast<int>(mode)];
  pd->lock.lock();
  if (pd->closing) {
    pd->lock.unlock();
    return poll_result::closing;
  }
  if (s.deadline != INT64_MAX && s.deadline <= os::nanotime()) {
    pd->lock.unlock();
    return poll_result::timed_out;
  }
  if (s.ready) {
    s.ready = false;
    pd->lock.unlock();
    return poll_result::ready;
  }
  if (s.w) {
    int fd = pd->fd;
    pd->lock.unlock();
    throw misuse_error("netpoll_wait: two waiters for " + std::string(mode == poll_mode::read ? "reading" : "writing") +
                       " fd " + std::to_string(fd) + " at once");
  }
  if (parking_forbidden()) {
    pd->lock.unlock();
    throw_parking_forbidden(mode == poll_mode::read ? "a read" : "a write");
  }
  poll_waiter w;
  init_waiter(w);
  s.w = &w;
  s.w_is_g = w.gp != nullptr;
  nwaiters.fetch_add(1, std::memory_order_relaxed);
  if (w.gp == nullptr) return wait_thread(pd, s, w);
  if (s.deadline != INT64_MAX) arm(s);
  block_on(w, "IO wait", pd->lock);
  return w.result;
}

void netpoll_set_deadline(poll_desc* pd, poll_mode mode, std::int64_t when) {
  mode_state& s = pd->modes[static_cast<int>(mode)];
  poll_waiter* w = nullptr;
  pd->lock.lock();
  s.deadline = when;
  if (s.w) {
    if (when != INT64_MAX && when <= os::nanotime()) {
      w = take(s, poll_result::timed_out);
    } else if (s.w_is_g) {
      if (when != INT64_MAX) {
        arm(s);
      } else if (s.armed) {
        timer_stop(&s.t);
        s.armed = false;
      }
    } else {
      // A plain thread sleeps with the old deadline's timeout: make it
      // re-read. It cannot return before taking the lock, so its word is
      // still there.
      s.w->woken.store(kicked, std::memory_order_release);
      os::futex_wake(&s.w->woken, 1);
    }
  }
  pd->lock.unlock();
  finish_wake(w);
}

void netpoll_evict(poll_desc* pd) {
  poll_waiter* ws[2] = {nullptr, nullptr};
  pd->lock.lock();
  pd->closing = true;
  for (int m = 0; m < 2; ++m) {
    if (pd->modes[m].w) ws[m] = take(pd->modes[m], poll_result::closing);
  }
  pd->lock.unlock();
  for (poll_waiter* w : ws) finish_wake(w);
}

void netpoll_close(poll_desc* pd) {
  pd->lock.lock();
  int fd = pd->fd;
  bool was_live = pd->live;
  bool waited = pd->modes[0].w || pd->modes[1].w;
  pd->closing = true;  // no new waiter from here on
  pd->lock.unlock();
  if (!was_live) fatal("netpoll_close of a poll descriptor that is not open");
  if (waited) fatal("netpoll_close of fd " + std::to_string(fd) + " while a goroutine or thread waits on it");
  // Errors are ignored: the fd may be gone from the set already (ENOENT
  // after the netpoll_shutdown of an earlier run), and closing it removes it.
  if (int ep = epfd.load(std::memory_order_acquire); ep >= 0) os::epoll_del(ep, fd);
  pd->lock.lock();
  ++pd->seq;  // reports still on their way are for the old registration
  pd->live = false;
  pd->fd = -1;
  for (mode_state& s : pd->modes) {
    s.ready = false;
    s.deadline = INT64_MAX;
  }
  pd->lock.unlock();
  pd_free(pd);
}

bool netpoll_active() noexcept { return active.load(std::memory_order_acquire); }

int netpoll_waiters() noexcept { return nwaiters.load(std::memory_order_relaxed); }

void netpoll_break() {
  int bf = breakfd.load(std::memory_order_acquire);
  if (bf < 0) return;
  std::uint32_t expected = 0;
  if (!break_pending.compare_exchange_strong(expected, 1, std::memory_order_acq_rel)) return;
  os::eventfd_signal(bf);
}

int netpoll(std::int64_t delay_ns) {
  int ep = epfd.load(std::memory_order_acquire);
  if (ep < 0) return 0;
  os::poll_event evs[max_events];
  int n = os::epoll_wait(ep, evs, max_events, delay_ns);
  if (n < 0) {
    if (n == -EINTR) return 0;  // the caller computes its next delay again
    fatal("netpoll: epoll_wait on fd " + std::to_string(ep) + " failed: " + std::system_category().message(-n));
  }
  int woken = 0;
  for (int i = 0; i < n; ++i) {
    const os::poll_event ev = evs[i];
    if (ev.data == break_data) {
      // Only a poller that blocks consumes a break: netpoll(0) leaves it for
      // the one the break was meant for.
      if (delay_ns != 0) {
        os::eventfd_drain(breakfd.load(std::memory_order_relaxed));
        break_pending.store(0, std::memory_order_release);
      }
      continue;
    }
    bool rd = (ev.events & (os::ev_in | os::ev_rdhup | os::ev_hup | os::ev_err)) != 0;
    bool wr = (ev.events & (os::ev_out | os::ev_hup | os::ev_err)) != 0;
    poll_desc* pd = lookup(static_cast<std::uint32_t>(ev.data));
    if (pd == nullptr || !(rd || wr)) continue;
    poll_waiter* rw = nullptr;
    poll_waiter* ww = nullptr;
    pd->lock.lock();
    if (pd->live && pd->seq == static_cast<std::uint32_t>(ev.data >> 32)) {
      if ((ev.events & (os::ev_rdhup | os::ev_hup | os::ev_err)) != 0) pd->hangup = true;
      if (rd) rw = edge(pd->modes[0]);
      if (wr) ww = edge(pd->modes[1]);
    }
    pd->lock.unlock();
    woken += finish_wake(rw);
    woken += finish_wake(ww);
  }
  return woken;
}

}  // namespace weft::detail
