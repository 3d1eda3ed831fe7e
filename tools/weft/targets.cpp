// tools/weft/targets.cpp: selectors to workers and attached processes
// (design in targets.hpp).
#include "targets.hpp"

#include <cstdio>
#include <map>
#include <set>

#include "circuit_cmd.hpp"
#include "control_cmd.hpp"
#include "wire/worker_id.hpp"

namespace weft::tool {

bool check_selectors(const char* cmd, const std::vector<std::string>& selectors) {
  for (const std::string& s : selectors) {
    if (s.rfind("pid:", 0) == 0) {
      if (parse_selector(cmd, s) == 0) return false;
    } else if (!s.empty() && s[0] == '/') {
      const std::string why = anchor_path_not_utf8(s);
      if (why.empty()) continue;  // weftd's AnchorList judges the path
      std::fprintf(stderr, "weft %s: %s\n", cmd, why.c_str());
      return false;
    } else if (!s.empty() && s[0] == 'R' && !wire::is_worker_id(s)) {
      std::fprintf(stderr, "weft %s: %s is not a worker id (R and 16 hex digits; weft ls -l lists them)\n", cmd,
                   s.c_str());
      return false;
    } else if (!worker_selector(s)) {
      std::fprintf(stderr,
                   "weft %s: %s is not a selector: write pid:N (weft ps), an anchor /path, a subtree /path/... or "
                   "a worker id R<16 hex> (weft ls -l)\n",
                   cmd, s.c_str());
      return false;
    }
  }
  return true;
}

std::vector<std::string> capabilities_for(const std::vector<std::string>& selectors) {
  for (const std::string& s : selectors)
    if (worker_selector(s)) return {"control", "circuit"};
  return {"control"};
}

std::vector<selected_worker> select_workers(const char* cmd, runtime_client& rc,
                                            const std::vector<std::string>& selectors, int* status) {
  std::vector<selected_worker> out;
  std::set<std::string> seen;
  for (const std::string& s : selectors) {
    if (!worker_selector(s)) continue;
    if (s[0] == 'R') {
      if (seen.insert(s).second) out.push_back({s, "", ""});
      continue;
    }
    std::vector<v1::AnchorEntry> found = list_anchors(rc, {s});
    if (found.empty()) {
      std::fprintf(stderr, "weft %s: %s: no live worker there (weft ls %s)\n", cmd, s.c_str(), s.c_str());
      *status = 1;
    }
    for (const v1::AnchorEntry& e : found)
      if (seen.insert(e.worker_id()).second) out.push_back({e.worker_id(), e.path(), e.runtime()});
  }
  return out;
}

namespace {

// worker id -> its attached process, from the weftd's Control LIST.
std::map<std::string, v1::ProcessEntry> attached_workers(runtime_client& rc) {
  wire::frame req;
  req.mutable_control()->set_action(v1::Control::LIST);
  wire::frame r = rc.call(req);
  if (!r.has_control_reply())
    throw tool_error("weftd at " + rc.address() + ": " +
                     (r.has_error() ? r.error().message() : std::string("answered LIST with something else")));
  std::map<std::string, v1::ProcessEntry> by_id;
  for (const v1::ProcessEntry& e : r.control_reply().processes())
    if (!e.worker_id().empty()) by_id.emplace(e.worker_id(), e);
  return by_id;
}

// The weftd a worker is attached to, from its anchor entries ("" if it
// has none, or none says).
std::string runtime_of(runtime_client& rc, const std::string& worker_id) {
  for (const v1::AnchorEntry& e : list_anchors(rc, {"/..."}))
    if (e.worker_id() == worker_id) return e.runtime();
  return "";
}

}  // namespace

std::vector<target> resolve_targets(const char* cmd, runtime_client& rc, const std::vector<std::string>& selectors,
                                    int* status) {
  std::vector<target> out;
  std::set<std::string> seen;  // pid:N as typed, and worker ids
  std::map<std::string, v1::ProcessEntry> attached;
  std::map<std::string, std::map<std::string, v1::ProcessEntry>> elsewhere;  // other weftds' LISTs, by address
  bool listed = false;  // LIST is asked once, and only when a worker is selected
  for (const std::string& s : selectors) {
    if (!worker_selector(s)) {
      if (seen.insert(s).second) out.push_back({s, parse_selector(cmd, s), 0, "", "", ""});
      continue;
    }
    for (const selected_worker& w : select_workers(cmd, rc, {s}, status)) {
      if (!seen.insert(w.id).second) continue;
      if (!listed) {
        attached = attached_workers(rc);
        listed = true;
      }
      const std::string label = w.path.empty() ? w.id : w.path;
      auto it = attached.find(w.id);
      if (it == attached.end()) {
        // Another host's weftd has it (a circuit on etcd): ask that one.
        std::string runtime = w.runtime.empty() ? runtime_of(rc, w.id) : w.runtime;
        if (!runtime.empty() && runtime != rc.address()) {
          try {
            if (!elsewhere.count(runtime)) {
              runtime_client other = runtime_client::connect(runtime, {"control"});
              elsewhere[runtime] = attached_workers(other);
            }
            auto there = elsewhere[runtime].find(w.id);
            if (there != elsewhere[runtime].end()) {
              out.push_back({label, there->second.process().pid(), there->second.process_id(), w.id, w.path, runtime});
              continue;
            }
          } catch (const tool_error& e) {
            std::fprintf(stderr, "weft %s: %s: worker %s is attached to another host's weftd: %s\n", cmd, label.c_str(),
                         w.id.c_str(), e.what());
            *status = 1;
            continue;
          }
        }
        std::fprintf(stderr,
                     "weft %s: %s: worker %s is not attached to the weftd at %s: it has ended, or it runs on "
                     "another host (weft ls -l names it; ask that host's weftd with --runtime)\n",
                     cmd, label.c_str(), w.id.c_str(), rc.address().c_str());
        *status = 1;
        continue;
      }
      out.push_back({label, it->second.process().pid(), it->second.process_id(), w.id, w.path, ""});
    }
  }
  return out;
}

}  // namespace weft::tool
