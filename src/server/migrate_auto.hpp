// src/server/migrate_auto.hpp: where `weft migrate --to auto` sends a
// goroutine, and why (migrate_host.hpp runs the move; docs/migration.md).
//
// The measures, all taken by this weftd without asking the programs:
//   - load: a host's 1-minute load average per CPU. This weftd's own host
//     from the kernel (getloadavg, its CPUs); other hosts from the cluster
//     view (what each weftd publishes in etcd); unknown otherwise.
//   - traffic: the bytes a process exchanged with this weftd (its
//     connection, both ways) since its record was made, per second. A
//     migratable goroutine's remote channels and variables live here, so
//     this is what "next to the server it talks to most" weighs. It is the
//     process's traffic, not the goroutine's: the stub does not tag its
//     requests with the goroutine that made them, and a per-goroutine
//     count would cost every remote operation a lookup.
//   - peers: the bytes the owner's process exchanged with each peer
//     process over its circuit peer links (xrefs), which do not pass
//     here: weftd asks the owner (Control STATS, ControlReply.peers;
//     wire/peer_traffic.hpp) just before the decision. Totals since the
//     process's run began, both ways. The goroutine's own share, when its
//     stub counts it (its xref calls and their replies since it started or
//     came there: wire/peer_tally.hpp, MigratableStats.peers), decides
//     rule 2 instead: a process whose goroutines talk to different peers
//     sends each next to its own.
//   - the goroutine's own CPU and blocked time over a short window
//     (migrate_facts.hpp), when its process answers: what it spends its
//     time on, which the process's measures cannot tell apart from its
//     other goroutines'.
// The rules, in order; the first that picks a target decides, and its
// reason names the measure (and the goroutine's numbers, when known):
//   0. idle: the goroutine neither uses CPU nor waits on remote
//      operations: it stays (no target, `stays`), whatever the load.
//   1. load: the owner's host is over the threshold: the candidate on the
//      least-loaded host below the threshold (ties: fewest received).
//      Not for an idle goroutine (rule 0: moving it frees nothing); the
//      coordinator moves a request's goroutines busiest first, so those
//      that use the most CPU reach the least loaded hosts.
//   2. peer: the peer the goroutine (or, its share unknown, the owner)
//      exchanged the most bytes with, at least
//      peer_min_bytes and more than it exchanged with this weftd (for a
//      goroutine that waits mostly on xref calls, its own waits say so
//      instead of the process's bytes with this weftd): that
//      peer's process if it accepts migrations, else the accepting
//      process on its host that received the fewest when that host is not
//      the owner's (a move within a host brings it no nearer); never one
//      over the threshold.
//   3. traffic: the owner is on another host than this weftd and
//      exchanges at least near_min_rate bytes/s with it: an accepting
//      process next to this weftd, fewest received (one over the
//      threshold only if the owner's host is not known to be below it).
//   4. spread: of the candidates not over the threshold (all, if each
//      is), the one that has received the fewest goroutines.
// A rule that applied but could not pick (no less-loaded host; too little
// traffic to matter) says so in the reason of the rule that decided.
//
// Test hook: WEFT_TEST_MIGRATE_LOAD names a file of lines "HOST LOAD" or
// "pid:N LOAD" (load per CPU), read at each auto decision; it overrides
// the measured load of that host, or of process N's host, so that the
// load rule can be tested with processes of one host.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "server/migrate_facts.hpp"

namespace weft::server {

class cluster_view;

struct auto_process {
  std::uint64_t id = 0;  // process_id
  std::int64_t pid = 0;
  std::string host;  // as the process reported it
  std::string peer;  // its connection's other end
  bool near = false;  // on this weftd's host
  std::uint32_t placed = 0;  // goroutines moved to it
  double load = -1;  // its host's load per CPU; negative: unknown
  std::uint64_t bytes = 0;  // exchanged with this weftd since `seconds` ago
  double seconds = 0;
  std::vector<auto_peer> peers;  // the owner's only: its peer-link traffic
};

struct auto_policy {
  double load_threshold = 0.9;  // load per CPU
  std::uint64_t near_min_rate = 1024;  // bytes/s: above a heartbeat's
  std::uint64_t peer_min_bytes = 64 * 1024;  // below: a few calls, no reason to move
  // A goroutine's own facts (migrate_facts.hpp), as shares of the window:
  double cpu_share = 0.05;  // at least: it uses CPU (moving it frees some)
  double remote_share = 0.5;  // at least, waiting on remote operations: remote-bound
};

struct auto_choice {
  std::uint64_t target = 0;  // a candidate's id; 0: none (no candidates, or it stays)
  bool stays = false;  // rule 0: it is better where it is (target 0)
  std::string reason;  // "auto: ...", naming the measure that decided
};

// REQUIRES: candidates are processes that may receive the goroutine.
// g: the goroutine's own facts; unknown ones leave the process's measures
// to decide alone.
auto_choice choose_auto(const auto_process& owner, const std::vector<auto_process>& candidates,
                        const auto_policy& policy, const goroutine_facts& g = {});

// What auto weighs from outside, gathered before a decision (the cluster
// view may ask etcd, the owner is asked for its peers: never under a lock).
struct load_table {
  double own = -1;  // this weftd's host, per CPU
  std::map<std::string, double> hosts;  // by host name (cluster view, test hook)
  std::map<std::int64_t, double> pids;  // test hook: process N's host
  // The owner's peer-link traffic (ids 0: the decision resolves them).
  std::vector<auto_peer> peers;
  // p's host's load per CPU, or negative when unknown.
  double of(const auto_process& p) const;
};
// cluster: null on one host. Failures leave loads unknown (never throw).
load_table gather_loads(cluster_view* cluster);

}  // namespace weft::server
