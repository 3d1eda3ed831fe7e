// src/sync/shared_mutex.cpp: weft::shared_mutex, Go's sync.RWMutex.
//
// Go's algorithm, word for word. readers_ counts the readers in (and, while
// a writer is there, those waiting); a writer subtracts max_readers from it,
// which does two things at once: new readers see a negative count and wait
// on reader_sem_ (writer preference), and the value the writer's subtraction
// returns is the number of readers still in, which it adds to departing_ and
// waits on writer_sem_ for them to leave. A departing reader that sees a
// negative count decrements departing_; the one that brings it to zero
// releases writer_sem_. The writer's unlock adds max_readers back (readers
// arriving from then on go straight in) and releases reader_sem_ once for
// each reader that queued meanwhile. Writers queue among themselves on
// writers_, a weft::mutex, so only one subtracts at a time.
//
// The semaphores count (semaphore_core), so a release that comes before its
// acquire is not lost: a reader that has added itself to readers_ but not
// yet queued on reader_sem_ still gets its permit.
//
// Reader fast paths are one atomic add each. Misuse checks follow Go's
// (its fatal errors "sync: RUnlock of unlocked RWMutex", "sync: Unlock of
// unlocked RWMutex" become misuse_error): unlock_shared puts the count back
// before throwing; unlock checks with a CAS before changing anything. A
// misuse that races with other lockers is caught, but those may have seen
// the bad count (as in Go, where it is fatal anyway).
//
// Memory ordering: the count's RMWs are acq_rel. A reader's unlock_shared
// happens before a writer that subtracts after it; a writer's unlock (its
// add) happens before readers that add after it; readers and the writer that
// wait get the same through the semaphores' hand-off.
#include <weft/shared_mutex.hpp>

#include <weft/errors.hpp>

#include "platform/thread_annotations.hpp"

namespace weft {

void shared_mutex::lock_shared_slow() {
  reader_sem_.acquire("shared_mutex.lock_shared");  // a writer holds or waits
}

bool shared_mutex::try_lock_shared() noexcept {
  std::int32_t c = readers_.load(std::memory_order_relaxed);
  while (c >= 0) {
    if (readers_.compare_exchange_weak(c, c + 1, std::memory_order_acq_rel, std::memory_order_relaxed)) return true;
  }
  return false;
}

void shared_mutex::unlock_shared_slow(std::int32_t r) {
  if (r + 1 == 0 || r + 1 == -max_readers) {
    readers_.fetch_add(1, std::memory_order_relaxed);
    throw misuse_error("sync: RUnlock of unlocked RWMutex");
  }
  // A writer is pending: the last reader out lets it in.
  if (departing_.fetch_sub(1, std::memory_order_acq_rel) - 1 == 0) writer_sem_.release(1, PTRDIFF_MAX);
}

// lock, try_lock and unlock are this lock's own implementation: the writer
// holds writers_ from lock to unlock, across calls, which is the protocol
// the annotations describe from outside and clang cannot see from inside.
void shared_mutex::lock() NO_THREAD_SAFETY_ANALYSIS {
  writers_.lock();
  std::int32_t r = readers_.fetch_sub(max_readers, std::memory_order_acq_rel);
  if (r != 0 && departing_.fetch_add(r, std::memory_order_acq_rel) + r != 0) writer_sem_.acquire("shared_mutex.lock");
}

bool shared_mutex::try_lock() noexcept NO_THREAD_SAFETY_ANALYSIS {
  if (!writers_.try_lock()) return false;
  std::int32_t zero = 0;
  if (!readers_.compare_exchange_strong(zero, -max_readers, std::memory_order_acq_rel, std::memory_order_relaxed)) {
    writers_.unlock();  // we hold it: cannot throw
    return false;
  }
  return true;
}

void shared_mutex::unlock() NO_THREAD_SAFETY_ANALYSIS {
  std::int32_t c = readers_.load(std::memory_order_relaxed);
  do {
    if (c >= 0) throw misuse_error("sync: Unlock of unlocked RWMutex");
  } while (!readers_.compare_exchange_weak(c, c + max_readers, std::memory_order_acq_rel, std::memory_order_relaxed));
  std::int32_t waiting = c + max_readers;  // readers that came during the write
  if (waiting > 0) reader_sem_.release(waiting, PTRDIFF_MAX);
  writers_.unlock();
}

}  // namespace weft
