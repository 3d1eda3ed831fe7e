// tools/weft/ls_cmd.cpp: `weft ls [-l] [--json] [SELECTOR...]`: the live
// workers under the selected anchors, one ANCHOR/ID per line, sorted
// (DESIGN.md, "Anchors"). No selector: every anchor. -l adds the pid,
// host, uptime, function and why the host was chosen (placement); --json
// prints an array of objects. Nothing
// matching, or no weftd at the default socket (then no worker runs):
// no output, status 0. --watch goes on with the changes (ls_watch_cmd.cpp).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <set>

#include "circuit_cmd.hpp"
#include "wire/json.hpp"

namespace weft::tool {

namespace {

std::string uptime(std::int64_t started_unix_ms) {
  auto now = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
                 .count();
  std::int64_t s = std::max<std::int64_t>(0, (now - started_unix_ms) / 1000);
  char buf[32];
  if (s < 3600) {
    std::snprintf(buf, sizeof buf, "%lldm%02llds", static_cast<long long>(s / 60), static_cast<long long>(s % 60));
  } else {
    std::snprintf(buf, sizeof buf, "%lldh%02lldm", static_cast<long long>(s / 3600),
                  static_cast<long long>(s / 60 % 60));
  }
  return buf;
}

}  // namespace

std::string entry_text(const v1::AnchorEntry& e, bool long_format) {
  if (!long_format) return e.path();
  const char* fmt = "%-44s %8lld %-16s %9s %-20s %s";
  const std::string up = uptime(e.started_unix_ms());
  const auto pid = static_cast<long long>(e.pid());
  int n = std::snprintf(nullptr, 0, fmt, e.path().c_str(), pid, e.host().c_str(), up.c_str(), e.function().c_str(),
                        e.placement().c_str());
  std::string line(static_cast<std::size_t>(std::max(n, 0)) + 1, '\0');
  std::snprintf(line.data(), line.size(), fmt, e.path().c_str(), pid, e.host().c_str(), up.c_str(),
                e.function().c_str(), e.placement().c_str());
  line.pop_back();
  return line;
}

std::string entry_json_fields(const v1::AnchorEntry& e) {
  return "\"path\":" + wire::json_string(e.path()) + ",\"id\":" + wire::json_string(e.worker_id()) +
         ",\"pid\":" + std::to_string(e.pid()) + ",\"host\":" + wire::json_string(e.host()) +
         ",\"function\":" + wire::json_string(e.function()) +
         ",\"started_unix_ms\":" + std::to_string(e.started_unix_ms()) +
         ",\"placement\":" + wire::json_string(e.placement());
}

std::vector<v1::AnchorEntry> list_anchors(runtime_client& rc, const std::vector<std::string>& selectors) {
  std::vector<v1::AnchorEntry> all;
  std::set<std::string> seen, warned;
  std::vector<std::string> sels = selectors.empty() ? std::vector<std::string>{"/..."} : selectors;
  for (const std::string& s : sels) {
    if (std::string why = anchor_path_not_utf8(s); !why.empty()) throw tool_error(why);
    wire::frame req;
    req.mutable_anchor_list()->set_selector(s);
    wire::frame r = rc.call(req);
    if (!r.has_anchors())
      throw tool_error("weftd at " + rc.address() + ": " +
                       (r.has_error() ? r.error().message() : std::string("answered AnchorList with something else")));
    for (const v1::AnchorEntry& e : r.anchors().entries())
      if (seen.insert(e.path()).second) all.push_back(e);
    // The list may be short (etcd out of reach): say so, once.
    if (!r.anchors().warning().empty() && warned.insert(r.anchors().warning()).second)
      std::fprintf(stderr, "weft: warning: %s\n", r.anchors().warning().c_str());
  }
  std::sort(all.begin(), all.end(), [](const auto& x, const auto& y) { return x.path() < y.path(); });
  return all;
}

int run_ls(const circuit_args& a) {
  for (const std::string& s : a.selectors) {
    if (s.empty() || s[0] != '/') {
      std::fprintf(stderr, "weft ls: %s is not an anchor: write /path or /path/... (a subtree)\n", s.c_str());
      return 2;
    }
  }
  if (a.watch) {
    // Before weft::run starts its threads, so that they inherit the mask.
    block_watch_signals();
    return run_tool("ls", a.runtime, [&](const std::string& address) {
      runtime_client rc = runtime_client::connect(address, {"circuit"});
      return watch_anchors(rc, a);
    });
  }
  return run_tool("ls", a.runtime, [&](const std::string& address) {
    std::vector<v1::AnchorEntry> entries;
    if (!default_runtime_absent(address)) {
      runtime_client rc = runtime_client::connect(address, {"circuit"});
      entries = list_anchors(rc, a.selectors);
    }
    if (a.json) {
      std::string out = "[";
      for (const v1::AnchorEntry& e : entries) {
        out += out.size() > 1 ? ",\n " : "";
        out += "{" + entry_json_fields(e) + "}";
      }
      std::printf("%s]\n", out.c_str());
      return 0;
    }
    for (const v1::AnchorEntry& e : entries) std::printf("%s\n", entry_text(e, a.long_format).c_str());
    return 0;
  });
}

}  // namespace weft::tool
