// tests/runtime/unsplit_burst.hpp: writes that one poll sees together.
//
// A test that wants one poll to find several fds ready writes them in a
// burst while the poller sleeps. The first byte wakes the poller; on a
// loaded machine it then runs at once, beside or in place of the writer,
// and finds one fd ready, not all (netpoll_test failed 8 runs in 8 beside a
// build). So every thread of the test shares one CPU (pin_to_one_cpu, before
// weft::run starts its threads, which inherit it), and the writer writes
// under SCHED_FIFO (write_unsplit), which no ordinary thread on that CPU
// preempts: the poller runs once the whole burst is written. Without the
// privilege for SCHED_FIFO (not root) nothing is pinned and the burst is
// merely quick, which a quiet machine needs.
#pragma once

#include <pthread.h>
#include <sched.h>

namespace weft_test {

// This thread to SCHED_FIFO at its lowest priority; false where that is
// not allowed.
inline bool enter_fifo() {
  sched_param fifo{};
  fifo.sched_priority = sched_get_priority_min(SCHED_FIFO);
  return pthread_setschedparam(pthread_self(), SCHED_FIFO, &fifo) == 0;
}

// Back to SCHED_OTHER.
inline void leave_fifo() {
  sched_param other{};
  pthread_setschedparam(pthread_self(), SCHED_OTHER, &other);
}

// Whether this thread may take SCHED_FIFO (it tries and steps back).
inline bool can_run_fifo() {
  if (!enter_fifo()) return false;
  leave_fifo();
  return true;
}

// Pins the calling thread, and the threads it starts afterwards, to the
// first CPU it may use, while in scope; only where write_unsplit can use
// SCHED_FIFO (pinned without it, the woken poller would preempt the writer).
class one_cpu_scope {
 public:
  one_cpu_scope() {
    if (!can_run_fifo() || sched_getaffinity(0, sizeof before_, &before_) != 0) return;
    cpu_set_t one;
    CPU_ZERO(&one);
    for (int c = 0; c < CPU_SETSIZE; ++c) {
      if (CPU_ISSET(c, &before_)) {
        CPU_SET(c, &one);
        break;
      }
    }
    pinned_ = sched_setaffinity(0, sizeof one, &one) == 0;
  }
  ~one_cpu_scope() {
    if (pinned_) sched_setaffinity(0, sizeof before_, &before_);
  }
  one_cpu_scope(const one_cpu_scope&) = delete;
  one_cpu_scope& operator=(const one_cpu_scope&) = delete;
  bool pinned() const { return pinned_; }

 private:
  cpu_set_t before_{};
  bool pinned_ = false;
};

// Runs write_all under SCHED_FIFO where allowed, back to SCHED_OTHER after
// (a FIFO thread that then waited by yielding would starve the Ms).
template <typename F>
void write_unsplit(F write_all) {
  bool raised = enter_fifo();
  write_all();
  if (raised) leave_fifo();
}

}  // namespace weft_test
