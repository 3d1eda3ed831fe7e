// src/chan/chan_internal.hpp: the channel's state and its locked steps,
// shared by chan.cpp (single operations) and select.cpp. Design at the top
// of chan.cpp.
#pragma once

#include <weft/detail/chan_core.hpp>

#include <atomic>
#include <cstdint>

#include "platform/spinlock.hpp"
#include "platform/thread_annotations.hpp"
#include "runtime/park.hpp"

namespace weft::detail {

struct chan_core {
  std::atomic<std::int64_t> refs{1};
  backoff_spinlock lock;
  // Fixed from chan_make on.
  const elem_ops* ops;
  std::size_t capacity;
  unsigned char* buf = nullptr;  // the slots themselves are guarded by lock
  std::size_t count GUARDED_BY(lock) = 0;
  std::size_t recvx GUARDED_BY(lock) = 0;  // next slot to receive from
  std::size_t sendx GUARDED_BY(lock) = 0;  // next slot to send into
  bool closed GUARDED_BY(lock) = false;
  waitq recvq GUARDED_BY(lock);
  waitq sendq GUARDED_BY(lock);

  void* slot(std::size_t i) const { return buf + i * ops->size; }
};

enum class chan_step : std::uint8_t {
  done,  // the operation happened
  would_block,  // nothing changed
  closed,  // send: the channel is closed (nothing moved); recv: closed and drained
};

// Sends elem (moving from it) if that needs no waiting. *to_wake: a
// receiver to wake once the lock is released.
chan_step send_locked(chan_core* c, void* elem, waiter** to_wake) REQUIRES(c->lock);
// Receives into out (constructing it) if that needs no waiting. *to_wake: a
// sender to wake once the lock is released.
chan_step recv_locked(chan_core* c, void* out, waiter** to_wake) REQUIRES(c->lock);

}  // namespace weft::detail
