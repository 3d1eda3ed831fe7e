// src/runtime/send_batch.hpp: socket writes batched through io_uring, one
// system call for many goroutines' writes. Design in send_batch.cpp.
#pragma once

#include <cstddef>
#include <cstdint>

#include "runtime/runtime.hpp"

namespace weft::detail {

// Sends buf on fd through the calling goroutine's P: posts the send, parks
// until the P flushes its batch, and stores what the send returned in
// *result (bytes sent, or -errno; -EAGAIN: the socket was full and nothing
// was sent). False, with nothing sent, when the caller must send by itself:
// not a goroutine on a shared P (a plain thread, a locked or dedicated
// one), inside weft::blocking, or batching is off (no io_uring here, or
// WEFT_IO_URING=0).
bool send_batched(int fd, const void* buf, std::size_t len, long* result);

void send_batch_flush_if_due(p* pp);
// The scheduler's hook at every pick (find_runnable_fast): flushes pp's
// batch when it is due. One load when nothing is pending.
inline void send_batch_poll(p* pp) {
  if (pp->send_pending != 0) send_batch_flush_if_due(pp);
}

// Frees pp's ring (teardown: nothing runs any more), sending what is
// still posted on it.
void send_batch_free(p* pp);

// Whether writes are batched in this process: io_uring works here, and
// WEFT_IO_URING is set and not 0, or unset and a send through a ring
// measured clearly cheaper than a send(2) (platform/send_ring_cost.hpp;
// measured on a thread of its own, false until then). Settled at the
// first batched write.
bool send_batch_enabled();
// Settles it now, measuring on this thread if it must (a fork server: its
// workers inherit the answer, and it must stay one thread).
void send_batch_settle();
// Whether that is settled (tests: the measurement ends).
bool send_batch_decided();

// Totals since the process started: sends made through a ring, and the
// flushes (system calls) that made them.
struct send_batch_totals {
  std::uint64_t sends = 0;
  std::uint64_t flushes = 0;
};
send_batch_totals send_batch_counts();

}  // namespace weft::detail
