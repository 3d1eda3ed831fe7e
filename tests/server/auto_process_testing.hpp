// tests/server/auto_process_testing.hpp: a made-up process for auto's rule
// tests (migrate_auto_test.cpp, migrate_facts_test.cpp): process `id`,
// near (this host) or far (a host of its own), with its host's load.
#pragma once

#include <cstdint>
#include <string>

#include "server/migrate_auto.hpp"

namespace weft_test {

inline weft::server::auto_process proc(std::uint64_t id, bool near, double load, std::uint32_t placed = 0) {
  weft::server::auto_process p;
  p.id = id;
  p.pid = static_cast<std::int64_t>(1000 + id);
  p.host = near ? "here" : "far" + std::to_string(id);
  p.peer = near ? "unix" : "10.0.0." + std::to_string(id) + ":5000";
  p.near = near;
  p.placed = placed;
  p.load = load;
  return p;
}

}  // namespace weft_test
