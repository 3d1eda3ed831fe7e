// tools/weft/circuit_cmd.hpp: the subcommands that act on the circuit's
// workers through weftd's "circuit" capability (docs/protocol.md,
// "Workers"):
//
//   weft ls [-l] [--json] [SELECTOR...]   live workers under anchors
//   weft ls --watch [-l] [--json] [SEL...]  then their joins and leaves
//   weft kill SELECTOR... [--hard|--grace S]  end workers (anchor paths, subtrees, ids)
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
  double grace_seconds = 0;  // kill --grace: SIGTERM to SIGKILL (0: weftd's, 5 s)
  bool watch = false;  // ls --watch
};

int run_ls(const circuit_args& a);
int run_logs(const circuit_args& a);
// Kills the workers the selectors name; pid:N selectors are left to the
// Control EXIT path (run_kill).
int run_kill_workers(const circuit_args& a);

// The live workers under the selectors (all: none given), deduplicated
// by path and sorted. Throws tool_error.
std::vector<v1::AnchorEntry> list_anchors(runtime_client& rc, const std::vector<std::string>& selectors);

// One entry as weft ls prints it: the path, or with long_format its
// pid, host, uptime, function and placement too.
std::string entry_text(const v1::AnchorEntry& e, bool long_format);
// Its fields as JSON members ("path":...,"id":...), without braces.
std::string entry_json_fields(const v1::AnchorEntry& e);

// weft ls --watch (ls_watch_cmd.cpp): blocks SIGINT, SIGTERM and SIGUSR2
// in this thread, before weft::run, whose threads inherit the mask; then
// watch_anchors prints the entries and their changes until a signal
// (status 0) or until weftd goes or ends the watch (tool_error).
void block_watch_signals();
int watch_anchors(runtime_client& rc, const circuit_args& a);

// Whether s names workers (an anchor, a subtree or an id), not pid:N.
bool worker_selector(const std::string& s);
// Empty for an anchor path that is UTF-8, as anchors are; else what to
// tell the user (weftd could not even parse a request that names it).
std::string anchor_path_not_utf8(const std::string& path);

}  // namespace weft::tool
