// src/chan/select.cpp: select over any number of channel operations.
//
// Go's selectgo, in three passes over the cases:
//   1. Lock every channel involved, in a fixed global order (by address;
//      each channel once, however many cases name it), so that two selects
//      over the same channels can never deadlock. Visit the cases in a
//      random order (a fresh permutation per select) and perform the first
//      one that needs no waiting. That random poll order is what makes the
//      choice among ready cases uniform, and no case can starve another.
//      With a default case and nothing ready, unlock and take the default.
//   2. Otherwise queue one waiter per case, all pointing at one
//      select_state, and park; the channels are unlocked only after the
//      goroutine's context is saved (park's after-switch step).
//   3. A waker pops one of the waiters and must claim the select_state
//      (a CAS on `done`) before completing an operation with it; a waiter
//      whose select was already claimed is skipped and dropped by every
//      other waker (waitq::pop_claimed), so exactly one case completes: no
//      double delivery. Once woken, the select locks every channel again and
//      unlinks its other waiters (waitq::remove tolerates ones already
//      dropped), which also guarantees that no waker still touches a waiter
//      on this stack when select returns.
// No lost wake-ups: a case becomes ready only under its channel's lock, and
// from the moment the select checked it (pass 1) until it parks (pass 2) it
// holds every lock.
//
// External cases (remote channels, docs/protocol.md "The select commit
// protocol"): another party (the runtime server, through the stub's
// reader) says when the operation can be done, from outside every channel
// lock. In pass 2 each external case is armed (it sends an OFFER request,
// which never parks) while the channel locks are held, like a local waiter
// is queued. A party with an offer calls select_external_ready, which
// claims the same `done` word under the select's `gate` lock and records
// the winner in ext_fired; it wakes the select only if `parked`. The select
// sets `parked` under the gate and releases the gate (with the channel
// locks) only after its context is saved, or, finding `done` already
// claimed, does not park at all. The winner of the claim commits (accepts
// the offer); every other party releases (declines). After waking, the
// select disarms every external case: later offers are declined. In a
// select with a default, pass 1 cannot wait for the server: before it, each
// external case polls (OFFER_NOW, a round trip without locks) and holds an
// offer if the operation can be done now; a held offer counts as a ready
// case, accepted if chosen and released otherwise.
//
// Stop cases (on_stop): pass 1 reads token.stop_requested(). Before
// blocking, each such case gets a private unbuffered channel that a
// std::stop_callback closes; the select then runs again with the case
// receiving from that channel, so a stop wakes it through the same claim
// protocol as any close. Rejected: waking the select from the callback
// directly, which races with the goroutine not yet parked (a callback may
// even run inline in its constructor). The private channel costs a few
// allocations (the watch list, each watch and its channel), only when a
// select with a stop case actually blocks.
#include <weft/detail/select_core.hpp>

#include <algorithm>
#include <functional>
#include <memory>
#include <vector>

#include "chan/chan_internal.hpp"
#include <weft/errors.hpp>

namespace weft::detail {

namespace {

// n elements: on the stack for small selects, on the heap for big ones.
template <class T>
class scratch {
 public:
  explicit scratch(int n) {
    if (n > kSmall) {
      big_ = std::make_unique<T[]>(static_cast<std::size_t>(n));
      data_ = big_.get();
    }
  }
  T& operator[](int i) { return data_[i]; }
  T* data() { return data_; }

 private:
  static constexpr int kSmall = 8;
  T small_[kSmall]{};
  std::unique_ptr<T[]> big_;
  T* data_ = small_;
};

std::uint64_t select_rand() {
  if (m* mp = this_m()) return fastrand(mp);
  thread_local std::uint64_t x = 0x9e3779b97f4a7c15ull ^ reinterpret_cast<std::uintptr_t>(&x);
  x ^= x << 13;
  x ^= x >> 7;
  x ^= x << 17;
  return x;
}

// The distinct channels of a select, sorted: the global lock order.
struct lock_set {
  chan_core** chans;
  int n;
};

// lock_all and unlock_all take and drop a set of locks whose size is known
// only at run time: clang's analysis tracks named locks, not sets, so they
// are not analysed. Between them, select_core tells the analysis which
// channel it works on is locked (spinlock::assert_held).
void lock_all(const lock_set& ls) NO_THREAD_SAFETY_ANALYSIS {
  for (int i = 0; i < ls.n; ++i) ls.chans[i]->lock.lock();
}

void unlock_all(const lock_set& ls) NO_THREAD_SAFETY_ANALYSIS {
  for (int i = ls.n - 1; i >= 0; --i) ls.chans[i]->lock.unlock();
}

// What a parking select releases once its context is saved: the channel
// locks and the gate of its external cases.
struct park_locks {
  const lock_set* locks;
  spinlock* gate;
};

// Runs in the context that comes after the select's switch: releases locks
// that another context took, which the analysis cannot follow.
void unlock_after_park(void* arg) NO_THREAD_SAFETY_ANALYSIS {
  auto* pl = static_cast<park_locks*>(arg);
  pl->gate->unlock();
  unlock_all(*pl->locks);
}

// Parks the selecting goroutine; its gate (and the channel locks) go once
// its context is saved, in unlock_after_park. Not analysed for that reason.
// st is named only by the annotation (unused where that is empty: g++).
void park_select([[maybe_unused]] select_state& st, park_locks* pl) RELEASE(st.gate) NO_THREAD_SAFETY_ANALYSIS {
  park("select", unlock_after_park, pl);
}

// A stop case's private channel, closed by the stop callback.
struct stop_watch {
  struct chan_ref {
    chan_core* c = chan_make(0, &elem_ops_for<char>);
    ~chan_ref() { chan_release(c); }
  };
  struct closer {
    chan_core* c;
    void operator()() noexcept { chan_close(c); }
  };
  chan_ref chan;  // declared first: outlives the callback
  std::stop_callback<closer> callback;
  explicit stop_watch(const std::stop_token& t) : callback(t, closer{chan.c}) {}
};

waitq& queue_for(chan_core* c, select_dir dir) REQUIRES(c->lock) {
  return dir == select_dir::send ? c->sendq : c->recvq;
}

// The external cases of one select: polls them up front when the select has
// a default (then a held offer is a ready case), and disarms them at the end.
class external_set {
 public:
  external_set(select_arm* arms, int n, bool has_default) : arms_(arms), n_(n) {
    for (int i = 0; i < n; ++i) any_ |= arms[i].dir == select_dir::external;
    if (!any_ || !has_default) return;
    held_.assign(static_cast<std::size_t>(n), false);
    try {
      for (int i = 0; i < n; ++i) {
        if (arms[i].dir == select_dir::external) held_[std::size_t(i)] = arms[i].ext->poll_now();
      }
    } catch (...) {
      release_all();
      throw;
    }
  }
  ~external_set() { release_all(); }
  bool any() const noexcept { return any_; }
  bool holds(int i) const noexcept { return !held_.empty() && held_[std::size_t(i)]; }
  // Commits case i's held offer and releases the others.
  void take(int i) {
    held_[std::size_t(i)] = false;
    release_all();
    arms_[i].ext->accept_held();
  }
  void release_all() noexcept {
    for (std::size_t i = 0; i < held_.size(); ++i) {
      if (held_[i]) arms_[i].ext->release_held();
      held_[i] = false;
    }
  }
  void disarm_all() noexcept {
    for (int i = 0; i < n_; ++i) {
      if (arms_[i].dir == select_dir::external) arms_[i].ext->disarm();
    }
  }

 private:
  select_arm* arms_;
  int n_;
  bool any_ = false;
  std::vector<bool> held_;  // empty unless polled
};

}  // namespace

int select_core(select_arm* arms, int n, bool has_default) {
  scratch<int> poll(n);
  for (int i = 0; i < n; ++i) {  // inside-out Fisher-Yates: a uniform permutation
    int j = static_cast<int>(select_rand() % std::uint64_t(i + 1));
    poll[i] = poll[j];
    poll[j] = i;
  }
  scratch<chan_core*> chans(n);  // the channel each case works on now, or null
  scratch<chan_core*> order(n);
  std::vector<std::unique_ptr<stop_watch>> watches;  // per stop case, once blocking
  char stop_sink;  // stop channels never carry a value; recv needs somewhere to put none
  bool watching = false;
  external_set ext(arms, n, has_default);  // polls the external cases of a select with a default

  for (;;) {
    int nlocks = 0;
    for (int i = 0; i < n; ++i) {
      const select_arm& a = arms[i];
      chans[i] = nullptr;
      if (a.dir == select_dir::recv || a.dir == select_dir::send) chans[i] = a.chan;
      if (a.dir == select_dir::stop && watching && watches[std::size_t(i)]) chans[i] = watches[std::size_t(i)]->chan.c;
      if (chans[i]) order[nlocks++] = chans[i];
    }
    std::sort(order.data(), order.data() + nlocks, std::less<chan_core*>());  // a total order on pointers
    nlocks = static_cast<int>(std::unique(order.data(), order.data() + nlocks) - order.data());
    lock_set locks{order.data(), nlocks};

    // Pass 1: the first ready case in poll order.
    lock_all(locks);
    for (int k = 0; k < n; ++k) {
      int i = poll[k];
      select_arm& a = arms[i];
      if (a.dir == select_dir::stop && !watching) {
        if (a.token->stop_requested()) {
          unlock_all(locks);
          ext.release_all();
          preempt_check();
          return i;
        }
        continue;
      }
      if (a.dir == select_dir::external) {
        if (!ext.holds(i)) continue;
        unlock_all(locks);
        ext.take(i);  // accept this one, release the others
        a.ext->complete(a);
        preempt_check();
        return i;
      }
      chan_core* c = chans[i];
      if (c == nullptr) continue;
      c->lock.assert_held();  // lock_all
      waiter* w = nullptr;
      chan_step step;
      if (a.dir == select_dir::send) {
        step = send_locked(c, a.elem, &w);
        if (step == chan_step::closed) {
          unlock_all(locks);
          throw closed_channel_error();
        }
      } else {
        step = recv_locked(c, a.dir == select_dir::stop ? &stop_sink : a.elem, &w);
        a.ok = step == chan_step::done;
      }
      if (step == chan_step::would_block) continue;
      unlock_all(locks);
      if (w) wake(w);
      ext.release_all();
      preempt_check();  // a select that did not block is a yield point
      return i;
    }
    if (has_default) {
      unlock_all(locks);
      ext.release_all();
      preempt_check();  // Go's `for { select { ...; default: } }` must not starve the others
      return -1;
    }
    if (!watching) {
      bool any = false;
      for (int i = 0; i < n; ++i) any |= arms[i].dir == select_dir::stop && arms[i].token->stop_possible();
      if (any) {
        unlock_all(locks);
        watches.resize(std::size_t(n));
        for (int i = 0; i < n; ++i) {
          if (arms[i].dir == select_dir::stop && arms[i].token->stop_possible())
            watches[std::size_t(i)] = std::make_unique<stop_watch>(*arms[i].token);
        }
        watching = true;
        continue;  // pass 1 again, now with the stop channels
      }
    }
    if (nlocks == 0 && !ext.any()) block_forever("select (no cases)");
    if (parking_forbidden()) {
      unlock_all(locks);
      throw_parking_forbidden("select");
    }

    // Pass 2: a waiter on every case's channel, every external case armed,
    // then park.
    select_state state;
    scratch<waiter> waiters(n);
    g* gp = this_g();
    state.gp = gp;
    for (int i = 0; i < n; ++i) {
      if (arms[i].dir == select_dir::external) {
        arms[i].ext->arm(&state, i);
        continue;
      }
      if (chans[i] == nullptr) continue;
      waiter& w = waiters[i];
      w.gp = gp;
      w.sel = &state;
      w.elem = arms[i].dir == select_dir::stop ? &stop_sink : arms[i].elem;
      chans[i]->lock.assert_held();  // lock_all
      queue_for(chans[i], arms[i].dir).push_back(&w);
    }
    park_locks pl{&locks, &state.gate};
    state.gate.lock();
    if (state.done.load(std::memory_order_acquire) != 0) {  // an external case won while we armed the rest
      state.gate.unlock();
      unlock_all(locks);
    } else if (gp) {
      state.parked = true;
      park_select(state, &pl);
    } else {
      sched.plain_threads_seen.store(true);
      state.parked = true;
      state.gate.unlock();
      unlock_all(locks);
      while (state.woken.load(std::memory_order_acquire) == 0) os::futex_wait(&state.woken, 0, -1);
    }

    // Pass 3: unlink the cases that lost; disarm the external ones.
    waiter* fired = state.fired;
    lock_all(locks);
    for (int i = 0; i < n; ++i) {
      if (chans[i] == nullptr || &waiters[i] == fired) continue;
      chans[i]->lock.assert_held();  // lock_all
      queue_for(chans[i], arms[i].dir).remove(&waiters[i]);
    }
    unlock_all(locks);
    ext.disarm_all();
    int ext_fired;
    {
      lock_scope lk(state.gate);  // orders ext_fired's write before our read when no wake-up did
      ext_fired = state.ext_fired;
    }
    if (ext_fired >= 0) {
      arms[ext_fired].ext->complete(arms[ext_fired]);
      return ext_fired;
    }
    int i = static_cast<int>(fired - waiters.data());
    select_arm& a = arms[i];
    if (a.dir == select_dir::send && !fired->success) throw closed_channel_error();
    if (a.dir == select_dir::recv) a.ok = fired->success;
    return i;
  }
}

bool select_external_ready(select_state* st, int index) {
  st->gate.lock();
  std::uint32_t expected = 0;
  bool won = st->done.compare_exchange_strong(expected, 1, std::memory_order_acq_rel);
  bool wake_it = false;
  g* gp = st->gp;
  if (won) {
    st->ext_fired = index;
    wake_it = st->parked;
  }
  st->gate.unlock();
  if (!wake_it) return won;  // not parked yet: the select sees `done` before it parks
  if (gp) {
    ready(gp);
  } else {
    sched.plain_threads_seen.store(true);
    st->woken.store(1, std::memory_order_release);
    os::futex_wake(&st->woken, 1);
  }
  return won;
}

bool chan_recv_or_stop(chan_core* c, void* out, const std::stop_token& token, bool* ok) {
  select_arm arms[2];
  arms[0].dir = select_dir::recv;
  arms[0].chan = c;
  arms[0].elem = out;
  arms[1].dir = select_dir::stop;
  arms[1].token = &token;
  if (select_core(arms, 2, false) == 1) return false;
  *ok = arms[0].ok;
  return true;
}

bool chan_send_or_stop(chan_core* c, void* elem, const std::stop_token& token) {
  select_arm arms[2];
  arms[0].dir = select_dir::send;
  arms[0].chan = c;
  arms[0].elem = elem;
  arms[1].dir = select_dir::stop;
  arms[1].token = &token;
  return select_core(arms, 2, false) == 0;
}

}  // namespace weft::detail
