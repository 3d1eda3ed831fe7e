// src/wire/peer_tally.hpp: the bytes one migratable goroutine's own xref
// calls exchanged with each peer process, for `weft migrate --to auto`
// (server/migrate_auto.hpp, rule 2; docs/migration.md).
//
// Why: peer_traffic.hpp counts a process's links, so a process whose
// goroutines talk to different peers sent each of them next to its
// busiest peer. A tally belongs to one goroutine's migration context
// (remote/migration.hpp) from when it started or arrived here; a peer
// link adds each x_call it sends for that goroutine and each final reply
// it gets for it (circuit/peer_link.cpp), frame bodies counted. Only
// migratable goroutines have one: another call costs the lookup of the
// caller's migration context (a goroutine-local slot; nothing when the
// program is not attached to a runtime server).
//
// Invariant: totals only grow; a reply counts for the tally its call was
// sent for, even if the goroutine moved away meanwhile (the link holds
// the tally, not the goroutine).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "platform/spinlock.hpp"
#include "platform/thread_annotations.hpp"
#include "wire/peer_traffic.hpp"

namespace weft::wire {

class peer_tally {
 public:
  void add(std::int64_t pid, const std::string& host, std::uint64_t out, std::uint64_t in);
  // Every peer so far, most bytes first.
  std::vector<peer_bytes> snapshot() const;

 private:
  // A spinlock: one map operation per call, from the caller and the
  // link's reader; never held across anything that parks.
  mutable weft::detail::spinlock lock_;
  std::map<std::pair<std::int64_t, std::string>, std::pair<std::uint64_t, std::uint64_t>> bytes_ GUARDED_BY(lock_);
};

}  // namespace weft::wire
