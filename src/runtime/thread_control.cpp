// src/runtime/thread_control.cpp: lock_os_thread, dedicate_os_thread and
// thread_locker (weft/thread.hpp).
//
// A G with a thread control has a home: the one M it may run on (g.home).
// Two kinds of M serve them (runtime.hpp, m_kind):
//
// Locked (lock_os_thread; Go's LockOSThread). The M keeps using one of the
// procs Ps, so a locked G counts against procs as in Go. When the G stops
// running (park, yield, a blocking call that lost its P) the M's g0 gives the
// P away (handoffp) and sleeps on its note until a P comes back in nextp;
// then it switches to the G. The P comes from ready(): an idle P if there is
// one (ready_home), else the G goes to a run queue like any G and the M that
// picks it hands over its own P (startlockedm) and goes idle. Go does the
// same, except that it always goes through a run queue; both the hand-over
// and the wait are a note, which spins 20 us before it sleeps in the kernel,
// so a request-reply with a locked G costs two cache-line hand-offs while
// both sides keep coming back.
//
// Bound (dedicate_os_thread, thread_locker). The M runs only Gs whose home it
// is, on a private P outside allp: not counted in procs, never stolen from,
// never retaken by sysmon. A bound G readied by its own M goes to the
// private P's runnext (a switch in user space, as between any two Gs on one
// P); readied by anyone else it goes to the M's inbox and the M's note is
// woken. Gs that are not bound never go to a private P: those a bound G
// starts or readies go to the global queues. Timers a bound G arms go to
// P 0's heap (runtime/timer.cpp); their fire readies the G through ready().
//
// Binding and moving. dedicate_os_thread and a thread_locker's first lock
// turn the calling M into a bound M in place: it takes a private P and hands
// its shared P to another M (handoffp); the G goes on running, no switch. A
// later lock moves the caller: it sets its home and parks, and its own park
// step readies it, which routes it to the home's inbox. unlock moves it back
// the same way (home cleared: the global queue). When the last G leaves, the
// M's g0 unbinds it (retire): a locker's thread ends (m_leave), a dedicated
// one returns to the idle pool; M0, which called weft::run, cannot end and
// becomes an ordinary M again.
#include <weft/thread.hpp>

#include <mutex>
#include <string>

#include "platform/thread_mutex.hpp"
#include "runtime/gslab.hpp"
#include "runtime/runq.hpp"
#include <weft/errors.hpp>

namespace weft {
namespace detail {

struct locker_state {
  thread_mutex mu;
  m* mp GUARDED_BY(mu) = nullptr;  // the bound M, null while nobody holds the locker
  int holders GUARDED_BY(mu) = 0;
  std::atomic<long> tid{0};
};

namespace {

std::string goroutine_words(g* gp) { return "goroutine " + std::to_string(gp->id); }

// The control gp uses now, in words, or null.
const char* control_of(m* mp, g* gp) {
  if (gp->locker) return "holds a thread_locker";
  if (gp->lock_count > 0) return "is locked to its thread (lock_os_thread)";
  if (mp->kind == m_kind::bound) return "is dedicated to its thread (dedicate_os_thread)";
  return nullptr;
}

void require_no_control(m* mp, g* gp, const char* what) {
  if (const char* c = control_of(mp, gp))
    throw misuse_error(std::string("weft::") + what + ": " + goroutine_words(gp) + " already " + c +
                       "; a goroutine uses one thread control at a time");
}

p* private_p_get() {
  lock_scope lk(sched.lock);
  if (p* pp = sched.private_free) {
    sched.private_free = pp->link;
    pp->link = nullptr;
    return pp;
  }
  p* pp = new p;
  pp->id = sched.procs + static_cast<int>(sched.private_ps.size());
  pp->is_private = true;
  sched.private_ps.push_back(pp);
  return pp;
}

void private_p_put(p* pp) {
  lock_scope lk(sched.lock);
  pp->link = sched.private_free;
  sched.private_free = pp;
}

// The running M becomes a bound M: a private P for it, its shared P to
// another M. The running G goes on without a switch.
void become_bound(m* mp, bool leave_on_retire) {
  p* own = private_p_get();
  p* shared = releasep(mp);
  mp->kind = m_kind::bound;
  mp->own_p = own;
  mp->retire = false;
  mp->leave_on_retire = leave_on_retire;
  acquirep(mp, own);
  handoffp(shared);
}

void ready_self(void* arg) { ready(static_cast<g*>(arg)); }

// gp's home, and what dumps say of it (trace/dump.cpp, control_line).
void set_home(g* gp, m* home, control c) {
  gp->home = home;
  gp->home_tid.store(home ? home->tid : 0, std::memory_order_relaxed);
  gp->control.store(static_cast<std::uint8_t>(home ? c : control::none), std::memory_order_relaxed);
}

// The running G goes to its (new) home, or to the ordinary threads if its
// home is null: it parks, and its own park step readies it (ready routes it).
void move_self(m* mp, const char* why) {
  g* gp = mp->curg;
  park(why, ready_self, gp);
}

// The running bound M becomes an ordinary one without a P; its private P
// goes back to the pool.
void become_ordinary(m* mp) {
  p* own = releasep(mp);
  mp->own_p = nullptr;
  mp->kind = m_kind::normal;
  mp->retire = false;
  private_p_put(own);
}

// A bound M with no G left: back to ordinary. False if the thread ends.
bool unbind(m* mp) {
  become_ordinary(mp);
  return !(mp->leave_on_retire && m_leave(mp));
}

// Held by a thread that hands a G or a P to another M and then wakes it:
// taken before the hand-over is visible, so the M cannot run the G, see it
// exit and free itself (mstart) while the note is still being woken.
struct waking {
  m* mp;
  explicit waking(m* target) : mp(target) { mp->wakers.fetch_add(1, std::memory_order_acq_rel); }
  ~waking() { mp->wakers.fetch_sub(1, std::memory_order_release); }
  waking(const waking&) = delete;
  waking& operator=(const waking&) = delete;
};

}  // namespace

// ---- the scheduler's side

bool ready_home(m* self, g* gp, m* home) {
  if (gp->lock_count == 0) {  // bound: dedicated or holding a thread_locker
    if (self == home && self->pp == home->own_p) {
      runq_put_next(self->pp, gp);
      return true;
    }
    waking w(home);
    {
      lock_scope lk(home->inbox_lock);
      gp->schedlink = nullptr;
      globrunq_put_batch(home->inbox, gp, gp, 1);
    }
    // Pairs with schedule_bound's fence: either it sees the G, or this sees
    // (and wakes) its armed note.
    std::atomic_thread_fence(std::memory_order_seq_cst);
    home->park.wakeup();
    return true;
  }
  // Locked: hand the M an idle P if there is one; else the G waits in a run
  // queue until an M picks it and hands over its own P (startlockedm).
  if (sched.npidle.load(std::memory_order_seq_cst) > 0) {
    p* pp;
    {
      lock_scope lk(sched.lock);
      pp = pidle_get();
    }
    if (pp) {
      waking w(home);
      home->nextp.store(pp, std::memory_order_release);
      home->park.wakeup();
      return true;
    }
  }
  return false;
}

void startlockedm(m* mp, g* gp) {
  m* home = gp->home;
  p* pp = releasep(mp);
  waking w(home);
  home->nextp.store(pp, std::memory_order_release);
  home->park.wakeup();
}

g* bound_pick(p* own) {
  if (g* gp = runq_get(own)) return gp;
  m* mp = own->owner.load(std::memory_order_relaxed);
  if (mp->inbox_size(std::memory_order_acquire) == 0) return nullptr;
  lock_scope lk(mp->inbox_lock);
  g* gp = mp->inbox.head;
  if (gp == nullptr) return nullptr;
  mp->inbox.head = gp->schedlink;
  if (mp->inbox.head == nullptr) mp->inbox.tail = nullptr;
  mp->inbox.size.fetch_sub(1, std::memory_order_relaxed);
  gp->schedlink = nullptr;
  return gp;
}

bool schedule_locked(m* mp) {
  if (mp->retire) {  // its G exited locked: the thread goes with it
    mp->kind = m_kind::normal;
    mp->retire = false;
    if (mp->pp) handoffp(releasep(mp));
    return !m_leave(mp);
  }
  if (mp->pp) handoffp(releasep(mp));
  for (;;) {
    if (p* pp = mp->nextp.exchange(nullptr, std::memory_order_acq_rel)) {
      acquirep(mp, pp);
      switch_to(mp, &mp->g0, mp->lockedg);
      return true;
    }
    if (sched.stopping.load(std::memory_order_acquire)) return false;
    mp->park.sleep_until(INT64_MAX);
    mp->park.clear();
  }
}

bool schedule_bound(m* mp) {
  for (;;) {
    if (sched.stopping.load(std::memory_order_acquire)) return false;
    if (mp->retire) return unbind(mp);
    if (g* gp = bound_pick(mp->own_p)) {
      switch_to(mp, &mp->g0, gp);
      return true;
    }
    mp->park.clear();
    std::atomic_thread_fence(std::memory_order_seq_cst);
    if (mp->inbox_size(std::memory_order_relaxed) > 0) continue;
    mp->park.sleep_until(INT64_MAX);
  }
}

void thread_control_exit(m* mp, g* gp) {
  if (gp->locker)
    fatal(goroutine_words(gp) + " exited while holding a thread_locker: call unlock() before the goroutine returns");
  if (gp->lock_count > 0) {
    mp->lockedg = nullptr;  // g0 sees retire and ends the thread (schedule_locked)
  } else {
    mp->leave_on_retire = false;  // dedicated: the thread returns to the pool
  }
  set_home(gp, nullptr, control::none);
  gp->lock_count = 0;
  mp->retire = true;
}

}  // namespace detail

using namespace detail;

void lock_os_thread() {
  m* mp = require_goroutine("lock_os_thread");
  g* gp = mp->curg;
  if (gp->locker || mp->kind == m_kind::bound) require_no_control(mp, gp, "lock_os_thread");
  if (gp->lock_count++ > 0) return;
  mp->kind = m_kind::locked;
  mp->lockedg = gp;
  set_home(gp, mp, control::locked);
}

void unlock_os_thread() {
  m* mp = require_goroutine("unlock_os_thread");
  g* gp = mp->curg;
  if (gp->lock_count == 0 || --gp->lock_count > 0) return;
  mp->kind = m_kind::normal;
  mp->lockedg = nullptr;
  set_home(gp, nullptr, control::none);
}

void dedicate_os_thread() {
  m* mp = require_goroutine("dedicate_os_thread");
  g* gp = mp->curg;
  require_no_control(mp, gp, "dedicate_os_thread");
  become_bound(mp, /*leave_on_retire=*/false);
  set_home(gp, mp, control::dedicated);
}

void undedicate_os_thread() {
  m* mp = require_goroutine("undedicate_os_thread");
  g* gp = mp->curg;
  if (mp->kind != m_kind::bound || gp->locker)
    throw misuse_error("weft::undedicate_os_thread: " + goroutine_words(gp) + " is not dedicated (dedicate_os_thread)");
  set_home(gp, nullptr, control::none);
  // With an idle P at hand this very thread becomes an ordinary one.
  p* shared = nullptr;
  if (sched.npidle.load(std::memory_order_seq_cst) > 0) {
    lock_scope lk(sched.lock);
    shared = pidle_get();
  }
  if (shared) {
    become_ordinary(mp);
    acquirep(mp, shared);
    return;
  }
  mp->retire = true;
  mp->leave_on_retire = false;
  move_self(mp, "undedicate_os_thread");
}

thread_locker::thread_locker() : state_(new locker_state) {}

thread_locker::~thread_locker() {
  int holders;
  {
    lock_scope lk(state_->mu);
    holders = state_->holders;
  }
  if (holders > 0)
    fatal("weft::thread_locker destroyed while " + std::to_string(holders) +
          " goroutine(s) hold it: every lock() needs its unlock() first");
  delete state_;
}

void thread_locker::lock() {
  m* mp = require_goroutine("thread_locker::lock");
  g* gp = mp->curg;
  if (gp->locker == state_)
    throw misuse_error("weft::thread_locker::lock: " + goroutine_words(gp) + " already holds this thread_locker");
  require_no_control(mp, gp, "thread_locker::lock");
  lock_scope lk(state_->mu);
  ++state_->holders;
  gp->locker = state_;
  if (state_->mp == nullptr) {  // the first: this thread becomes the locker's
    become_bound(mp, /*leave_on_retire=*/true);
    state_->mp = mp;
    state_->tid.store(mp->tid, std::memory_order_relaxed);
    set_home(gp, mp, control::locker);
    return;
  }
  set_home(gp, state_->mp, control::locker);
  lk.unlock();
  move_self(mp, "thread_locker.lock");
}

void thread_locker::unlock() {
  m* mp = require_goroutine("thread_locker::unlock");
  g* gp = mp->curg;
  if (gp->locker != state_)
    throw misuse_error("weft::thread_locker::unlock: " + goroutine_words(gp) + " does not hold this thread_locker");
  bool last;
  {
    lock_scope lk(state_->mu);
    last = --state_->holders == 0;
    if (last) {
      state_->mp = nullptr;
      state_->tid.store(0, std::memory_order_relaxed);
    }
  }
  gp->locker = nullptr;
  set_home(gp, nullptr, control::none);
  if (last) mp->retire = true;
  move_self(mp, "thread_locker.unlock");
}

long thread_locker::thread_id() const noexcept { return state_->tid.load(std::memory_order_relaxed); }

}  // namespace weft
