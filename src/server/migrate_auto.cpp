// src/server/migrate_auto.cpp: auto's rules and measures (migrate_auto.hpp).
#include "server/migrate_auto.hpp"

#include <sched.h>
#include <stdlib.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include "server/cluster_view.hpp"

namespace weft::server {

namespace {

std::string fixed2(double x) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2f", x);
  return buf;
}

std::string where(const auto_process& p) {
  return "pid " + std::to_string(p.pid) + (p.host.empty() ? "" : " on " + p.host);
}

bool over(const auto_process& p, const auto_policy& pol) { return p.load >= 0 && p.load > pol.load_threshold; }

// Fewest goroutines received, among those `ok` admits; 0 if none.
template <class Ok>
const auto_process* fewest(const std::vector<auto_process>& cs, Ok ok) {
  const auto_process* best = nullptr;
  for (const auto_process& c : cs)
    if (ok(c) && (best == nullptr || c.placed < best->placed)) best = &c;
  return best;
}

std::uint32_t own_cpus() {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (::sched_getaffinity(0, sizeof set, &set) == 0 && CPU_COUNT(&set) > 0) return CPU_COUNT(&set);
  long n = ::sysconf(_SC_NPROCESSORS_ONLN);
  return n > 0 ? static_cast<std::uint32_t>(n) : 1;
}

// Rule 2 (migrate_auto.hpp): a target, or none with why added to note.
// on_peer: the goroutine itself waits mostly on xref calls, which says
// more of it than its process's bytes with this weftd. g: the goroutine's
// own bytes per peer, when counted; else its process's decide.
auto_choice choose_peer(const auto_process& owner, const std::vector<auto_process>& candidates, const auto_policy& pol,
                        bool on_peer, const goroutine_facts& g, std::string& note) {
  auto_choice r;
  const bool own = g.known && g.peers_counted;
  const auto_peer* top = nullptr;
  for (const auto_peer& p : own ? g.peers : owner.peers)
    if (top == nullptr || p.bytes > top->bytes) top = &p;
  if (top == nullptr || top->bytes < pol.peer_min_bytes || (!on_peer && top->bytes <= owner.bytes)) return r;
  const std::string peer = "pid " + std::to_string(top->pid) + (top->host.empty() ? "" : " on " + top->host);
  const std::string text = where(owner) + (own ? " (the goroutine's own xref calls)" : "") + " exchanged " +
                           std::to_string(top->bytes) + " bytes with " + peer + " over peer links (xrefs), " +
                           (own ? "the goroutine's" : "its") + " busiest peer, and " + (own ? "its process " : "") +
                           std::to_string(owner.bytes) + " bytes with this weftd" +
                           (on_peer ? ", and the goroutine waits on xref calls more than on this weftd" : "");
  for (const auto_process& c : candidates)
    if (top->id != 0 && c.id == top->id && !over(c, pol)) {
      r.target = c.id;
      r.reason = "auto: peer: " + note + text + "; it goes to that process";
      return r;
    }
  if (top->host != owner.host) {
    if (const auto_process* best =
            fewest(candidates, [&](const auto_process& c) { return c.host == top->host && !over(c, pol); })) {
      r.target = best->id;
      r.reason = "auto: peer: " + note + text + "; " + where(*best) + " is on that host";
      return r;
    }
  }
  note += text + ", but " + peer + " accepts no migrations and no other accepting process is nearer to it; ";
  return r;
}

}  // namespace

double load_table::of(const auto_process& p) const {
  if (auto it = pids.find(p.pid); it != pids.end()) return it->second;
  if (auto it = hosts.find(p.host); it != hosts.end()) return it->second;
  return p.near ? own : -1;
}

load_table gather_loads(cluster_view* cluster) {
  load_table t;
  double load[1] = {0};
  if (::getloadavg(load, 1) == 1) t.own = load[0] / own_cpus();
  if (cluster != nullptr) {
    try {
      for (const auto& h : cluster->hosts()) t.hosts[h.name()] = h.load1() / (h.cpus() == 0 ? 1 : h.cpus());
    } catch (const std::exception&) {}  // etcd unreachable: other hosts' loads unknown
  }
  if (const char* hook = std::getenv("WEFT_TEST_MIGRATE_LOAD")) {
    std::ifstream in(hook);
    std::string line;
    while (std::getline(in, line)) {
      std::istringstream ls(line);
      std::string what;
      double v = 0;
      if (!(ls >> what >> v)) continue;
      if (what.rfind("pid:", 0) == 0) {
        t.pids[std::atoll(what.c_str() + 4)] = v;
      } else {
        t.hosts[what] = v;
      }
    }
  }
  return t;
}

namespace {

// Rules 1-4 (migrate_auto.hpp); rule 0 and the goroutine's numbers are
// choose_auto's.
auto_choice decide(const auto_process& owner, const std::vector<auto_process>& candidates, const auto_policy& pol,
                   const goroutine_facts& g) {
  auto_choice r;
  const goroutine_kind k = g.known ? kind_of(g, pol) : goroutine_kind{};
  std::string note;  // a rule that applied without deciding
  // 1. load: off an overloaded host, to the least loaded one below the
  // threshold (an idle goroutine, which would free nothing, stayed by
  // rule 0; the coordinator moves the busiest first).
  if (over(owner, pol)) {
    const auto_process* best = nullptr;
    for (const auto_process& c : candidates) {
      if (c.load < 0 || c.load > pol.load_threshold || c.load >= owner.load) continue;
      if (best == nullptr || c.load < best->load || (c.load == best->load && c.placed < best->placed)) best = &c;
    }
    const std::string load_text = "its host's load is " + fixed2(owner.load) + " per CPU, over the threshold " +
                                  fixed2(pol.load_threshold) + " (" + where(owner) + ")";
    if (best != nullptr) {
      r.target = best->id;
      r.reason = "auto: load: " + load_text + "; " + where(*best) + " is on the least loaded host (" +
                 fixed2(best->load) + " per CPU)";
      return r;
    }
    note = load_text + ", but no accepting process is on a host below it; ";
  }
  // 2. peer: next to the process it talks to most over peer links.
  if (auto_choice pc = choose_peer(owner, candidates, pol, g.known && k.on_peer, g, note); pc.target != 0) return pc;
  // 3. traffic: next to this weftd, which holds its channels and variables.
  if (!owner.near) {
    const double rate = owner.seconds > 0 ? static_cast<double>(owner.bytes) / owner.seconds : 0;
    const std::string traffic = std::to_string(owner.bytes) + " bytes in " + fixed2(owner.seconds) + " s (" +
                                std::to_string(static_cast<std::uint64_t>(rate)) + " bytes/s)";
    if (rate >= static_cast<double>(pol.near_min_rate)) {
      // A loaded host next to this weftd is no reason to stay on a host
      // whose load is unknown or as bad; only one known to be below the
      // threshold keeps it away.
      const bool owner_fine = owner.load >= 0 && !over(owner, pol);
      const auto_process* best =
          fewest(candidates, [&](const auto_process& c) { return c.near && !(owner_fine && over(c, pol)); });
      if (best != nullptr) {
        r.target = best->id;
        r.reason = "auto: next to this weftd, which holds its channels and variables: " + note + "pid " +
                   std::to_string(owner.pid) + ", attached from " + owner.peer + " (another host), exchanged " +
                   traffic + " with it";
        return r;
      }
    } else {
      note += "pid " + std::to_string(owner.pid) + " is on another host but exchanged only " + traffic +
              " with this weftd, below " + std::to_string(pol.near_min_rate) + " bytes/s; ";
    }
  }
  // 4. spread.
  const auto_process* best = fewest(candidates, [&](const auto_process& c) { return !over(c, pol); });
  const bool all_over = best == nullptr;
  if (all_over) best = fewest(candidates, [](const auto_process&) { return true; });
  r.target = best->id;
  r.reason = "auto: " + note + "of " + std::to_string(candidates.size()) + " accepting processes" +
             (all_over ? " (each on a host over the load threshold)" : "") + ", the one given the fewest goroutines (" +
             std::to_string(best->placed) + ")";
  return r;
}

}  // namespace

auto_choice choose_auto(const auto_process& owner, const std::vector<auto_process>& candidates, const auto_policy& pol,
                        const goroutine_facts& g) {
  if (candidates.empty()) return auto_choice{};
  if (!g.known) return decide(owner, candidates, pol, g);
  // 0. idle: no host is better for it.
  if (kind_of(g, pol).idle()) {
    auto_choice r;
    r.stays = true;
    r.reason = "auto: stays: the goroutine is idle (" + describe(g) + "): ";
    r.reason += over(owner, pol) ? "its host's load is " + fixed2(owner.load) + " per CPU, over the threshold " +
                                       fixed2(pol.load_threshold) + ", but moving an idle goroutine frees nothing"
                                 : "it neither uses CPU nor waits on remote operations, so no process is better for it";
    return r;
  }
  auto_choice r = decide(owner, candidates, pol, g);
  r.reason += "; the goroutine: " + describe(g);
  return r;
}

}  // namespace weft::server
