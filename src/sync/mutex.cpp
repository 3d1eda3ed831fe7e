// src/sync/mutex.cpp: weft::mutex, Go's sync.Mutex with its two modes.
//
// state_: bit 0 locked, bit 1 queued (the queue is not empty), bit 2
// starving. The uncontended lock and unlock are one CAS each (0 <-> locked);
// any other bit sends them to the slow paths.
//
// Normal mode: a goroutine that finds the mutex locked spins a little (when
// there is another P to release it), then queues under qlock_ and parks.
// unlock clears bit 0 and, if bit 1 is set, wakes the queue's head, which
// competes for the lock again with whoever arrives meanwhile; a woken waiter
// that loses goes back to the front of the queue, not the back. This is
// fast (the unlocker does not wait for a sleeper to wake, a running
// goroutine can take the lock at once) but it can starve a waiter forever: a
// goroutine that unlocks and relocks in a loop always beats the one it woke,
// which still has to be scheduled.
//
// Starvation mode: a woken waiter that loses and has waited more than 1 ms
// (since it first queued) sets bit 2 as it queues again, at the front. From
// then on unlock keeps bit 0 set and hands the mutex to the queue's head,
// which returns owning it without competing; newcomers neither spin nor
// barge (the fast lock CAS and try_lock fail on the set bits) but queue at
// the tail. The unlocker that hands off ends the mode when the new owner was
// the last waiter or had waited less than 1 ms (Go's rule): starvation mode
// costs throughput (every hand-off waits for a wake-up), so it lasts only
// while someone is actually starving.
//
// Invariants, at every release of qlock_: bit 1 is set exactly when the queue
// is not empty (it only changes under qlock_, with the queue); bit 2 implies
// bits 0 and 1 (it is set only by a waiter queueing behind a held lock, and
// cleared by the hand-off that empties the queue or ends the mode). So in
// starvation mode the lock is always owned by someone, and an unlocker that
// sees bit 2 always finds a waiter to hand to.
#include <weft/mutex.hpp>

#include "platform/futex.hpp"
#include "platform/thread_annotations.hpp"
#include "runtime/park.hpp"
#include <weft/errors.hpp>

namespace weft {

using detail::waiter;

namespace {
constexpr std::uint32_t locked = 1, queued = 2, starving = 4;
constexpr std::int64_t starvation_ns = 1'000'000;  // Go's starvationThresholdNs

struct mutex_waiter : waiter {
  std::int64_t since = 0;  // when it first queued (os::nanotime)
  bool handed = false;  // unlock gave it the mutex (starvation mode)
};

struct queue_view {
  void*& head;
  void*& tail;
  detail::waitq load() const { return detail::waitq{static_cast<waiter*>(head), static_cast<waiter*>(tail)}; }
  void store(const detail::waitq& q) const {
    head = q.head;
    tail = q.tail;
  }
};
}  // namespace

bool mutex::try_lock() noexcept {
  std::uint32_t s = state_.load(std::memory_order_relaxed);
  while (!(s & locked)) {  // (starving implies locked)
    if (state_.compare_exchange_weak(s, s | locked, std::memory_order_acquire, std::memory_order_relaxed)) return true;
  }
  return false;
}

// The lock's own implementation: it returns holding *this on some paths
// (try_lock) and not on others (handed over by unlock_slow, or won after a
// wake-up), which only the whole protocol makes always true. Not analysed.
void mutex::lock_slow() NO_THREAD_SAFETY_ANALYSIS {
  static_assert(locked == locked_bit);
  bool multi = detail::sched.procs > 1 || detail::this_g() == nullptr;
  // Spins with exponential backoff: a waiter that tries at once pulls the
  // state's cache line from the holder at every try; waiting longer lets
  // the holder lock and unlock locally (mutex at procs 2: 17.5 -> 8 ns).
  // 10 tries of 1 to 32 pauses, 191 in all (~5 us here; Go's sync.Mutex
  // spins 4 x 30) before it parks.
  int pauses = 1;
  for (int spin = 0; multi && spin < 10; ++spin) {
    if (state_.load(std::memory_order_relaxed) & starving) break;  // owed to the waiters
    if (try_lock()) return;
    for (int i = 0; i < pauses; ++i) detail::cpu_relax();
    if (pauses < 32) pauses *= 2;
  }
  detail::forbid_parking_in_blocking("mutex.lock");
  mutex_waiter w;
  detail::init_waiter(w);
  bool woken_before = false;
  for (;;) {
    bool starved = woken_before && detail::os::nanotime() - w.since > starvation_ns;
    detail::spin_lock(qlock_);
    std::uint32_t s = state_.load(std::memory_order_relaxed);
    for (;;) {
      if (!(s & locked)) {
        if (state_.compare_exchange_weak(s, s | locked, std::memory_order_acquire, std::memory_order_relaxed)) {
          detail::spin_unlock(qlock_);
          return;
        }
        continue;
      }
      std::uint32_t want = s | queued | (starved ? starving : 0);
      if (want == s || state_.compare_exchange_weak(s, want, std::memory_order_relaxed)) break;
    }
    queue_view qv{head_, tail_};
    detail::waitq q = qv.load();
    if (woken_before) {
      w.woken.store(0, std::memory_order_relaxed);  // a plain thread sleeps on it again
      q.push_front(&w);
    } else {
      w.since = detail::os::nanotime();
      q.push_back(&w);
    }
    qv.store(q);
    detail::block_on(w, "mutex.lock", qlock_);
    // Handed the mutex: the unlocker's critical section happened before our
    // wake-up (its release of qlock_, then ready or the futex word).
    if (w.handed) return;
    woken_before = true;
  }
}

void mutex::unlock() {
  std::uint32_t expected = locked;
  if (state_.compare_exchange_strong(expected, 0, std::memory_order_release, std::memory_order_relaxed)) return;
  unlock_slow();
}

void mutex::unlock_slow() {
  std::uint32_t s = state_.load(std::memory_order_relaxed);
  bool hand_off = false;
  for (;;) {
    if (!(s & locked)) throw misuse_error("sync: unlock of unlocked mutex");
    if (s & starving) {  // bit 0 stays set: it passes to the head below
      hand_off = true;
      break;
    }
    if (state_.compare_exchange_weak(s, s & ~locked, std::memory_order_release, std::memory_order_relaxed)) break;
  }
  if (!hand_off && !(s & queued)) return;
  detail::spin_lock(qlock_);
  queue_view qv{head_, tail_};
  detail::waitq q = qv.load();
  auto* w = static_cast<mutex_waiter*>(q.pop_front());  // non-null when handing off (invariant)
  if (hand_off) w->handed = true;
  std::uint32_t clear = 0;
  if (q.empty()) {
    clear = queued | starving;  // nobody left to starve
  } else if (hand_off && detail::os::nanotime() - w->since < starvation_ns) {
    clear = starving;
  }
  if (clear) state_.fetch_and(~clear, std::memory_order_relaxed);
  qv.store(q);
  detail::spin_unlock(qlock_);
  if (w) detail::wake(w);
}

}  // namespace weft
