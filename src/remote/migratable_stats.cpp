// src/remote/migratable_stats.cpp: GOROUTINE_STATS's ControlReply.migratable
// (docs/protocol.md, "Goroutine statistics"): the counters of each
// migratable goroutine running here, named by its server id, so that weftd
// can weigh a goroutine's CPU and blocked time when it moves it (`weft
// migrate --to auto`, server/migrate_facts.hpp) without knowing the
// process's own goroutine ids.
//
// Every migratable goroutine is listed, whatever `code` lists in the text:
// the weftd asks about all of a process's, and an idle one is exactly the
// one a busiest-first list would leave out. One with no record in the
// snapshot (parked since before instrumentation began and never woken)
// is listed with recorded = false and zero times. Each also lists the
// bytes its own xref calls exchanged with each peer (counts_peers: a stub
// that counts them; wire/peer_tally.hpp).
#include <unordered_map>

#include "remote/migration.hpp"

namespace weft::remote::detail {

void add_migratable_stats(v1::ControlReply& r, const weft::detail::gstats_snapshot& snap) {
  const auto running = migratable_running();
  if (running.empty()) return;
  std::unordered_map<std::uint64_t, const weft::detail::goroutine_stats*> by_id;
  for (const auto& g : snap.goroutines) by_id[g.id] = &g;
  for (const auto& [gid, runtime_id] : running) {
    v1::MigratableStats* m = r.add_migratable();
    m->set_goroutine(gid);
    m->set_runtime_id(runtime_id);
    // Its own xref bytes, whatever instrumentation recorded: the tally
    // counts from the goroutine's start, as the process's peers do.
    m->set_counts_peers(true);
    if (auto tally = migratable_tally(gid)) {
      for (const wire::peer_bytes& b : tally->snapshot()) {
        v1::PeerTraffic* t = m->add_peers();
        t->set_pid(b.pid);
        t->set_host(b.host);
        t->set_bytes_out(b.out);
        t->set_bytes_in(b.in);
      }
    }
    auto it = by_id.find(runtime_id);
    if (it == by_id.end()) continue;
    const weft::detail::goroutine_stats& g = *it->second;
    m->set_recorded(true);
    m->set_running_ns(g.values.running_ns);
    m->set_runnable_ns(g.values.runnable_ns);
    m->set_blocked_ns(g.values.blocked_ns);
    for (const weft::detail::blocked_time& b : g.blocked) {
      v1::BlockedTime* t = m->add_blocked_by();
      t->set_reason(b.reason != nullptr ? b.reason : "blocked");
      t->set_ns(b.ns);
    }
  }
}

}  // namespace weft::remote::detail
