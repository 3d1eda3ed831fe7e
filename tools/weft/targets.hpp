// tools/weft/targets.hpp: which processes a command acts on, from the
// selectors the user typed. One place for every subcommand that selects:
// stk, peek, cpu and trace act on attached processes, kill on workers or
// processes, ls lists anchors (ls_cmd.cpp, list_anchors).
//
// A selector is one of
//   pid:N               a process attached to the weftd (weft ps lists them)
//   /db/shard           an anchor: the live workers listed under it
//   /db/...             a subtree: every worker under /db
//   R8efd95a09bcde325   a worker id (R and 16 hex digits)
//
// Workers are found in two steps. select_workers turns anchors and
// subtrees into worker ids through AnchorList (an id stands for itself);
// kill needs no more. resolve_targets then finds each worker among the
// processes attached to the weftd: a worker's stub attaches with the
// ticket its weftd gave it, and Control LIST names the worker id of such
// a process (ProcessEntry.worker_id), so the control request can address
// it by process_id, never by a pid that two hosts might share.
//
// Rejected: matching a worker to a process by pid. Pids repeat across
// hosts, and a weftd that lists workers of other hosts (etcd) would then
// send the request to the wrong program.
//
// A worker attached to another host's weftd (a circuit on etcd: its
// anchor entry names that weftd, AnchorEntry.runtime) is found there: the
// command dials that weftd too (target.runtime), with the same key.
//
// Failures are per selector: one that names nothing live, or a worker
// that is attached to no weftd the command can reach, is
// printed as "weft CMD: SELECTOR: WHY" and makes the status 1; the others
// are still acted on. Syntax errors are found before anything is dialled
// (check_selectors: status 2).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "connect.hpp"

namespace weft::tool {

// One process to act on.
struct target {
  std::string label;  // how output names it: "pid:4242", "/db/shard/R8efd95a09bcde325", "R8efd95a09bcde325"
  std::int64_t pid = 0;  // its pid (file names: weft-cpu-PID.pb.gz)
  std::uint64_t process_id = 0;  // the weftd's number for it; 0: address it by pid
  std::string worker_id;  // "" unless a circuit worker
  std::string path;  // the anchor path it was found under, if any
  std::string runtime;  // the weftd to ask: "" for the one the command dialled, else another host's
};

// A worker named by the selectors: its id, and the anchor path it was
// listed under ("" when the selector was its id).
struct selected_worker {
  std::string id;
  std::string path;
  std::string runtime;  // the weftd it is attached to, when its anchor entry says
};

// Whether every selector is pid:N, an anchor or subtree, or a worker id;
// prints the first bad one as "weft CMD: ..." and returns false otherwise.
bool check_selectors(const char* cmd, const std::vector<std::string>& selectors);

// The capabilities the weftd needs for these selectors: "control", and
// "circuit" when any names workers.
std::vector<std::string> capabilities_for(const std::vector<std::string>& selectors);

// The workers the anchor, subtree and id selectors name (pid:N ones are
// skipped), each once, in the order the selectors give them. An anchor or
// subtree with no live worker: "weft CMD: SEL: no live worker there",
// *status = 1.
std::vector<selected_worker> select_workers(const char* cmd, runtime_client& rc,
                                            const std::vector<std::string>& selectors, int* status);

// The processes the selectors name, each once: pid:N as typed (weftd
// checks it), workers found in the weftd's Control LIST. A worker not
// attached to this weftd: "weft CMD: LABEL: ...", *status = 1.
std::vector<target> resolve_targets(const char* cmd, runtime_client& rc, const std::vector<std::string>& selectors,
                                    int* status);

}  // namespace weft::tool
