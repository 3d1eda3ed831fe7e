// tools/weft/circuit_cmd.hpp: the subcommands that act on the circuit's
// workers through weftd's "circuit" capability (docs/protocol.md,
// "Workers"):
//
//   weft ls [-l] [--json] [SELECTOR...]   live workers under anchors
//   weft kill SELECTOR... [--hard]        end workers (anchor paths, subtrees, ids)
//   weft logs ID                          what a worker wrote to stdout and stderr
//
// A selector is an anchor ("/db/shard": its entries), a subtree
// ("/db/...": everything under /db) or a worker id (R + 16 hex digits).
// weft kill also takes pid:N for any attached process (control_cmd.hpp).
// Exit status: 0 ok (ls: also when nothing matches), 1 a target or weftd
// failed, 2 usage.
#pragma once

#include <string>
#include <vector>

#include "control_cmd.hpp"

namespace weft::tool {

struct circuit_args {
  std::string runtime;
  std::vector<std::string> selectors;
  bool json = false;
  bool long_format = false;  // ls -l
  bool hard = false;  // kill --hard
};

int run_ls(const circuit_args& a);
int run_logs(const circuit_args& a);
// Kills the workers the selectors name; pid:N selectors are left to the
// Control EXIT path (run_kill).
int run_kill_workers(const circuit_args& a);

// The live workers under the selectors (all: none given), deduplicated
// by path and sorted. Throws tool_error.
std::vector<v1::AnchorEntry> list_anchors(runtime_client& rc, const std::vector<std::string>& selectors);

// Whether s names workers (an anchor, a subtree or an id), not pid:N.
bool worker_selector(const std::string& s);

}  // namespace weft::tool
