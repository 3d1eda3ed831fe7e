// src/server/placement.hpp: which host runs a spawn: the circuit's
// "negotiated host" (docs/cluster.md, "Placement").
//
// Input: the spawn's requirements and the hosts known: this weftd's own
// alone on one host; with etcd, every live weftd's HostInfo. Rules:
//   1. A pinned host (Spawn.host) is that host if it is known, else
//      NOT_FOUND naming the hosts there are; it must still meet the
//      requirements, else REFUSED saying what it lacks.
//   2. Otherwise the candidates are the hosts that meet every requirement:
//      each label equal, mem_available >= min_memory, cpus >= min_cpus.
//      None: REFUSED, saying for each host (up to five) what it lacks.
//   3. Among the candidates, the least loaded: lowest load average per
//      CPU (loads within 0.05 per CPU count as equal), then fewest workers
//      per CPU, then most available memory; then this host; then the
//      name, so the choice is deterministic.
// The reason names the chosen host's figures and the runner-up's, for the
// log and `weft ls -l`. A pure function: no I/O, no locks.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "weft/runtime/v1/runtime.pb.h"

namespace weft::server {

namespace v1 = weft::runtime::v1;

struct requirements {
  std::string host;  // "": any
  std::map<std::string, std::string> labels;
  std::uint64_t min_memory = 0;
  std::uint32_t min_cpus = 0;
};

requirements requirements_of(const v1::Spawn& m);

struct placement {
  int chosen = -1;  // index into hosts, or -1 with `error`
  v1::Error::Code error = v1::Error::CODE_UNSPECIFIED;
  std::string reason;  // why this host, or why none
};

placement place(const requirements& req, const std::vector<v1::HostInfo>& hosts, const std::string& self);

// "b: load 0.10/4 CPUs, 3 workers, 7.2 GiB free"
std::string describe_host(const v1::HostInfo& h);

}  // namespace weft::server
