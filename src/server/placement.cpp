// src/server/placement.cpp: the negotiated host (placement.hpp).
#include "server/placement.hpp"

#include <cmath>
#include <cstdio>

namespace weft::server {

namespace {

std::string gib(std::uint64_t bytes) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f GiB", static_cast<double>(bytes) / (1024.0 * 1024 * 1024));
  return buf;
}

// What h lacks of req, "" when nothing.
std::string lacks(const requirements& req, const v1::HostInfo& h) {
  std::string out;
  auto add = [&](const std::string& s) { out += (out.empty() ? "" : ", ") + s; };
  for (const auto& [k, v] : req.labels) {
    auto it = h.labels().find(k);
    if (it == h.labels().end())
      add("no label " + k);
    else if (it->second != v)
      add("label " + k + "=" + it->second + ", not " + v);
  }
  if (h.mem_available() < req.min_memory)
    add(gib(h.mem_available()) + " available, under the " + gib(req.min_memory) + " asked");
  if (h.cpus() < req.min_cpus)
    add(std::to_string(h.cpus()) + " CPUs, under the " + std::to_string(req.min_cpus) + " asked");
  return out;
}

double per_cpu(double x, std::uint32_t cpus) { return x / (cpus == 0 ? 1 : cpus); }

// Whether a is less loaded than b (rule 3).
bool lighter(const v1::HostInfo& a, const v1::HostInfo& b, const std::string& self) {
  double la = per_cpu(a.load1(), a.cpus()), lb = per_cpu(b.load1(), b.cpus());
  if (std::fabs(la - lb) >= 0.05) return la < lb;
  double wa = per_cpu(a.workers(), a.cpus()), wb = per_cpu(b.workers(), b.cpus());
  if (wa != wb) return wa < wb;
  if (a.mem_available() != b.mem_available()) return a.mem_available() > b.mem_available();
  if ((a.name() == self) != (b.name() == self)) return a.name() == self;
  return a.name() < b.name();
}

}  // namespace

requirements requirements_of(const v1::Spawn& m) {
  requirements r;
  r.host = m.host();
  for (const auto& [k, v] : m.labels()) r.labels[k] = v;
  r.min_memory = m.min_memory();
  r.min_cpus = m.min_cpus();
  return r;
}

std::string describe_host(const v1::HostInfo& h) {
  char load[32];
  std::snprintf(load, sizeof load, "%.2f", h.load1());
  return h.name() + ": load " + load + "/" + std::to_string(h.cpus()) + " CPUs, " + std::to_string(h.workers()) +
         " workers, " + gib(h.mem_available()) + " free";
}

placement place(const requirements& req, const std::vector<v1::HostInfo>& hosts, const std::string& self) {
  placement p;
  if (!req.host.empty()) {
    for (std::size_t i = 0; i < hosts.size(); ++i) {
      if (hosts[i].name() != req.host) continue;
      std::string missing = lacks(req, hosts[i]);
      if (!missing.empty()) {
        p.error = v1::Error::REFUSED;
        p.reason = "host " + req.host + " does not meet the spawn's requirements: " + missing;
        return p;
      }
      p.chosen = static_cast<int>(i);
      p.reason = describe_host(hosts[i]) + " (pinned)";
      return p;
    }
    std::string known;
    for (const v1::HostInfo& h : hosts) known += (known.empty() ? "" : ", ") + h.name();
    p.error = v1::Error::NOT_FOUND;
    p.reason =
        "no host \"" + req.host.substr(0, 100) + "\" in this circuit; its hosts: " + (known.empty() ? "none" : known);
    return p;
  }
  int best = -1, second = -1;
  std::string refusals;
  int refused = 0;
  for (std::size_t i = 0; i < hosts.size(); ++i) {
    std::string missing = lacks(req, hosts[i]);
    if (!missing.empty()) {
      if (refused++ < 5) refusals += (refusals.empty() ? "" : "; ") + hosts[i].name() + ": " + missing;
      continue;
    }
    int c = static_cast<int>(i);
    if (best < 0 || lighter(hosts[i], hosts[best], self)) {
      second = best;
      best = c;
    } else if (second < 0 || lighter(hosts[i], hosts[second], self)) {
      second = c;
    }
  }
  if (best < 0) {
    p.error = v1::Error::REFUSED;
    p.reason = hosts.empty() ? "no host is known (is etcd reachable?)"
                             : "no host meets the spawn's requirements: " + refusals +
                                   (refused > 5 ? "; and " + std::to_string(refused - 5) + " more" : "");
    return p;
  }
  p.chosen = best;
  p.reason = describe_host(hosts[best]);
  if (second >= 0) p.reason += "; over " + describe_host(hosts[second]);
  return p;
}

}  // namespace weft::server
