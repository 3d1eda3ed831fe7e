// src/poll/fd_mutex.hpp: keeps a descriptor open while operations are inside
// it: Go's fdMutex, reduced to its reference count and closing bit.
//
// src/poll/ is the poll-descriptor layer that net/ (sockets) and os/ (files)
// share, as Go's internal/poll is: what every user-facing descriptor needs
// whatever it is. The netpoller itself (runtime/netpoll.hpp) is below it, in
// the runtime that drives it; net/ and os/ are above it and never include
// each other.
//
// Why: close() may come from any goroutine while another is inside read on
// the same descriptor. Closing the number under it would let the reader's
// next system call hit whatever file the number is reused for. So every
// operation takes a reference (incref) for as long as it is inside; close
// sets the closing bit (no new references), wakes the waiters (the caller's
// job: netpoll_evict), waits until the count drops to zero, and only then
// closes the number.
//
// state_: bit 31 closing, bits 0-30 operations inside. The one decref that
// takes the count to zero after closing is set releases drained_ once; the
// closer waits on it only if it saw operations inside when it set the bit
// (if it saw none, no decref can reach zero again: increfs fail from then on).
#pragma once

#include <atomic>
#include <cstdint>

#include <weft/semaphore.hpp>

namespace weft::detail {

class fd_mutex {
 public:
  // Enters an operation; false once close has begun.
  bool incref() noexcept {
    std::uint32_t s = state_.load(std::memory_order_relaxed);
    do {
      if (s & closing_bit) return false;
    } while (!state_.compare_exchange_weak(s, s + 1, std::memory_order_acquire, std::memory_order_relaxed));
    return true;
  }
  // Leaves an operation; the last one out after close began lets the closer go on.
  void decref() {
    if (state_.fetch_sub(1, std::memory_order_acq_rel) == (closing_bit | 1)) drained_.release();
  }
  bool closing() const noexcept { return state_.load(std::memory_order_acquire) & closing_bit; }
  // Begins close: increfs fail from now on. False if close had begun already
  // (the other closer finishes the job).
  bool begin_close() noexcept {
    std::uint32_t prev = state_.fetch_or(closing_bit, std::memory_order_acq_rel);
    if (prev & closing_bit) return false;
    inside_at_close_ = prev;  // only the one closer writes it
    return true;
  }
  // Parks until every operation has left. REQUIRES: begin_close() returned true.
  void wait_drained() {
    if (inside_at_close_ != 0) drained_.acquire();
  }
  // The closer is done (closed_ opens for good).
  void close_finished() { closed_.release(); }
  // Parks until the closer is done. REQUIRES: close has begun.
  void wait_closed() {
    closed_.acquire();
    closed_.release();  // for whoever waits next
  }

 private:
  static constexpr std::uint32_t closing_bit = 1u << 31;
  std::atomic<std::uint32_t> state_{0};
  std::uint32_t inside_at_close_ = 0;  // written and read by the one closer
  weft::binary_semaphore drained_{0};
  weft::binary_semaphore closed_{0};
};

}  // namespace weft::detail
