// src/server/host_info.hpp: what a weftd says about its host: CPUs,
// memory, load, labels (v1::HostInfo). Placement weighs spawns against it
// (placement.hpp), and with etcd every weftd publishes its own
// (docs/cluster.md). Read from the kernel (sched affinity, /proc/meminfo,
// getloadavg) at most every 50 ms: a burst of spawns, each on weftd's path
// to the fork, shares one reading (the kernel's text of /proc/meminfo and
// its parse: 15 us in a warm loop here); figures that move slower than
// that (the load is a 1-minute average) lose nothing.
#pragma once

#include <cstdint>
#include <map>
#include <string>

#include "weft/runtime/v1/runtime.pb.h"

namespace weft::server {

namespace v1 = weft::runtime::v1;

// What does not change while weftd runs.
struct host_identity {
  std::string name;  // weftd --name, else the host name
  std::string address;  // where weftd listens
  std::map<std::string, std::string> labels;
  std::int64_t started_unix_ms = 0;
};

// The host as of now (its kernel figures at most 50 ms old); `workers` running.
v1::HostInfo collect_host_info(const host_identity& id, std::uint32_t workers);

// Parses "NAME=VALUE" (weftd --label): NAME of letters, digits, '.', '-',
// '_' and '/', at most 63 bytes; VALUE printable, without spaces, at most
// 255. Returns false with a reason in `why`.
bool parse_label(const std::string& text, std::string& name, std::string& value, std::string& why);

// Whether s may name a host (weftd --name): 1 to 63 letters, digits, '.',
// '-' and '_'.
bool valid_host_name(const std::string& s) noexcept;

}  // namespace weft::server
