// src/server/migrate_facts.cpp: what a goroutine's CPU and blocked time
// make of it, and its numbers in words (migrate_facts.hpp).
#include "server/migrate_facts.hpp"

#include <cstdio>
#include <map>

#include "server/migrate_auto.hpp"
#include "wire/remote_wait.hpp"

namespace weft::server {

namespace {

std::string ms1(std::int64_t ns) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f ms", static_cast<double>(ns) / 1e6);
  return buf;
}

double share(std::int64_t ns, double window_s) { return window_s > 0 ? static_cast<double>(ns) / 1e9 / window_s : 0; }

}  // namespace

goroutine_kind kind_of(const goroutine_facts& f, const auto_policy& pol) {
  goroutine_kind k;
  k.uses_cpu = share(f.running_ns, f.window_s) >= pol.cpu_share;
  k.remote_bound = share(f.server_ns + f.xref_ns, f.window_s) >= pol.remote_share;
  k.on_peer = k.remote_bound && f.xref_ns > f.server_ns;
  return k;
}

goroutine_facts facts_between(const v1::MigratableStats* a, const v1::MigratableStats& b, double window_s) {
  goroutine_facts f;
  f.known = true;
  f.window_s = window_s;
  f.peers_counted = b.counts_peers();
  for (const v1::PeerTraffic& t : b.peers())
    f.peers.push_back(auto_peer{.id = 0, .pid = t.pid(), .host = t.host(), .bytes = t.bytes_out() + t.bytes_in()});
  auto since = [](std::int64_t later, std::int64_t earlier) { return later > earlier ? later - earlier : 0; };
  std::map<std::string, std::int64_t> before;
  if (a != nullptr) {
    for (const v1::BlockedTime& t : a->blocked_by()) before[t.reason()] = t.ns();
  }
  if (!b.recorded()) {
    // Parked since before the window and never woken: blocked throughout,
    // on a wait begun before instrumentation began (its reason unknown).
    f.blocked_ns = static_cast<std::int64_t>(window_s * 1e9);
    f.other_reason = "a wait begun before the window";
    f.other_ns = f.blocked_ns;
    return f;
  }
  f.running_ns = since(b.running_ns(), a != nullptr ? a->running_ns() : 0);
  f.blocked_ns = since(b.blocked_ns(), a != nullptr ? a->blocked_ns() : 0);
  for (const v1::BlockedTime& t : b.blocked_by()) {
    const std::int64_t ns = since(t.ns(), before[t.reason()]);
    switch (wire::remote_wait_of(t.reason())) {
      case wire::remote_wait::server: f.server_ns += ns; break;
      case wire::remote_wait::peer: f.xref_ns += ns; break;
      case wire::remote_wait::none:
        if (ns > f.other_ns) {
          f.other_ns = ns;
          f.other_reason = t.reason();
        }
        break;
    }
  }
  return f;
}

std::string describe(const goroutine_facts& f) {
  char head[64];
  std::snprintf(head, sizeof head, "over %.2f s it ran ", f.window_s);
  const int pct = static_cast<int>(share(f.running_ns, f.window_s) * 100 + 0.5);
  std::string s = head + ms1(f.running_ns) + " (" + std::to_string(pct) + "%), waited " + ms1(f.server_ns) +
                  " on the runtime server and " + ms1(f.xref_ns) + " on xref calls";
  if (!f.other_reason.empty()) s += ", " + ms1(f.other_ns) + " on " + f.other_reason;
  return s;
}

}  // namespace weft::server
