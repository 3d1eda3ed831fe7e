// src/wire/peer_traffic.hpp: the bytes this process exchanged with each
// peer process over its circuit peer links (circuit/peer_link.hpp), for
// the instrumentation weftd asks for (Control STATS, ControlReply.peers)
// and `weft migrate --to auto` weighs (docs/migration.md).
//
// Counting costs a frame nothing beyond what wire::link does already: two
// relaxed atomic adds per frame (link::bytes_out, bytes_in). This table
// only knows which links there are: a link is tracked once, when its
// handshake is done, and untracked once, when it goes; what it carried
// then moves into its peer's retired total. A snapshot reads the live
// links' counters under the table's lock; nothing per frame takes it.
//
// Invariants:
//   T1 A peer's total only grows: a link's bytes count in exactly one of
//      the live sum and the retired total (both moves under the lock).
//   T2 A peer is its process as its handshake named it (pid, host); two
//      links to one process (each side dialed) add up.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace weft::wire {

class link;

struct peer_bytes {
  std::int64_t pid = 0;
  std::string host;
  std::uint64_t out = 0;  // sent to it
  std::uint64_t in = 0;  // received from it
};

// l's bytes count for the peer (pid, host) until untrack_peer_link(l).
// REQUIRES: l outlives its tracking; each l tracked at most once.
void track_peer_link(const link* l, std::int64_t pid, const std::string& host);
// l goes: its bytes so far join its peer's retired total. Idempotent.
void untrack_peer_link(const link* l) noexcept;
// Every peer this process exchanged bytes with, by (pid, host), most
// bytes first.
std::vector<peer_bytes> peer_traffic();
// Orders v most bytes (both ways) first: peer_traffic's order, and a
// goroutine's tally's (peer_tally.hpp).
void sort_busiest_first(std::vector<peer_bytes>& v);
// This host's name, as a peer's handshake gives it (gethostname).
std::string peer_host_name();

}  // namespace weft::wire
