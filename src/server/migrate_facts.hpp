// src/server/migrate_facts.hpp: what `weft migrate --to auto` knows of one
// goroutine (not of its process): its CPU time and blocked time over a
// short observation window, and what they make of it (migrate_auto.hpp
// weighs them; migrate_observe.cpp measures them; docs/migration.md).
//
// The measure. Just before an auto decision weftd asks each owner process
// for goroutine statistics twice, `observe_window` apart (Control
// GOROUTINE_STATS, whose ControlReply.migratable names each migratable
// goroutine by its server id), and takes the difference: time running on
// a thread, and time blocked, split into waits on the runtime server
// (remote channels and variables), on xref calls (peer links) and other
// waits (wire/remote_wait.hpp). The window is the process's own clock
// between its two snapshots (instrumented_ms), not weftd's.
//
// What they make of it (auto_policy's knobs):
//   uses CPU      ran at least cpu_share of the window;
//   remote-bound  waited on remote operations (server and xref calls
//                 together) at least remote_share of the window; on a
//                 peer when its xref waits outweigh its server waits;
//   idle          neither: it stays where it is, whatever the host's
//                 load (moving it frees nothing and brings it nearer to
//                 nothing). A remote-bound goroutine that uses little
//                 CPU is not idle: it still spends CPU on each operation
//                 (a remote channel's consumer runs a few % of its time),
//                 and the load rule moves it, after the busier ones.
// Invariant: a goroutine whose facts are not known (an old stub, no
// answer within peers_wait, instrumentation restarted by someone else
// between the samples) is decided as before, by its process's measures.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "weft/runtime/v1/runtime.pb.h"

namespace weft::server {

namespace v1 = weft::runtime::v1;

struct auto_policy;

// A process the owner, or one goroutine of it, exchanged bytes with over
// peer links (xrefs).
struct auto_peer {
  std::uint64_t id = 0;  // its process_id here; 0: not attached to this weftd
  std::int64_t pid = 0;
  std::string host;
  std::uint64_t bytes = 0;  // both ways: since the owner's run began, or the goroutine's start there
};

struct goroutine_facts {
  bool known = false;  // false: nothing below is meaningful
  double window_s = 0;  // between the two samples, on the process's clock
  std::int64_t running_ns = 0;
  std::int64_t blocked_ns = 0;  // all of it, remote waits included
  std::int64_t server_ns = 0;  // blocked on the runtime server
  std::int64_t xref_ns = 0;  // blocked on xref calls
  std::string other_reason;  // the longest other wait ("sleep"), if any
  std::int64_t other_ns = 0;  // its time
  // Its own xref bytes per peer process (the second sample's totals),
  // when its stub counts them (peers_counted; ids 0 until resolved).
  bool peers_counted = false;
  std::vector<auto_peer> peers;
};

struct goroutine_kind {
  bool uses_cpu = false;
  bool remote_bound = false;
  bool on_peer = false;  // remote-bound, mostly on xref calls
  bool idle() const noexcept { return !uses_cpu && !remote_bound; }
};

// REQUIRES: f.known.
goroutine_kind kind_of(const goroutine_facts& f, const auto_policy& pol);

// The window's facts of one goroutine from its two samples (a: null when
// the window began with instrumentation, so its counters start at zero).
goroutine_facts facts_between(const v1::MigratableStats* a, const v1::MigratableStats& b, double window_s);

// f's numbers for a reason: "over 0.30 s it ran 281.0 ms (94%), waited
// 0.0 ms on the runtime server and 0.0 ms on xref calls, 12.0 ms on sleep".
// REQUIRES: f.known.
std::string describe(const goroutine_facts& f);

}  // namespace weft::server
