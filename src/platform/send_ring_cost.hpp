// src/platform/send_ring_cost.hpp: whether a send costs less through a
// send ring than by send(2) on this machine, measured.
//
// Why: batching sends through io_uring made tcp_echo 17% faster on one
// host we measure on and 8% slower on another (same kernel, another CPU):
// there a loopback send through a ring cost what a send(2) did (600-900
// ns each), and the batch only delayed the writers. So the runtime asks
// the machine instead of assuming (runtime/send_batch.cpp).
#pragma once

namespace weft::detail::os {

struct send_costs {
  double direct_ns = 0;  // one 64-byte send(2)
  double ring_ns = 0;  // one 64-byte send among 32 flushed in one call
};

// Makes a loopback TCP connection of its own and times 32 sends of 64
// bytes each way (send(2) one by one, then posted on a ring and flushed at
// once), alternating, `rounds` times; each figure is its fastest round's
// (a round is ~30 us: the fastest is the one nothing interrupted). False
// when there is no ring or no loopback connection to be had. Blocks for
// about rounds x 60 us.
bool measure_send_costs(int rounds, send_costs* out) noexcept;

}  // namespace weft::detail::os
