// tools/weft/control_cmd.cpp: what stk, peek, kill and cpu share (see
// control_cmd.hpp): one Control per target (targets.hpp finds them).
#include "control_cmd.hpp"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <optional>

#include "progress.hpp"
#include "wire/json.hpp"

namespace weft::tool {

std::int64_t parse_selector(const char* cmd, const std::string& s) {
  if (s.rfind("pid:", 0) == 0) {
    const std::string n = s.substr(4);
    char* end = nullptr;
    long long v = n.empty() ? 0 : std::strtoll(n.c_str(), &end, 10);
    if (!n.empty() && end && *end == '\0' && v > 0) return v;
    std::fprintf(stderr, "weft %s: %s: write pid:N with N a process id (weft ps lists them)\n", cmd, s.c_str());
    return 0;
  }
  std::fprintf(stderr, "weft %s: %s is not a selector: write pid:N (weft ps lists the attached processes)\n", cmd,
               s.c_str());
  return 0;
}

std::string target_json_fields(const target& t) {
  return "\"target\":" + wire::json_string(t.label) + ",\"pid\":" + std::to_string(t.pid) +
         ",\"worker\":" + wire::json_string(t.worker_id) + ",\"anchor\":" + wire::json_string(t.path);
}

void address_control(v1::Control* c, const target& t) {
  if (t.process_id != 0) {
    c->set_process_id(t.process_id);
  } else {
    c->set_pid(t.pid);
  }
}

int for_each_target(const char* cmd, const control_args& a, v1::Control::Action action,
                    const std::function<void(const target& t, const std::string& text)>& print) {
  return for_each_reply(cmd, a, action, 0, nullptr, [&print](const target& t, const v1::ControlReply& reply) {
    print(t, reply.text());
    return true;
  });
}

int for_each_reply(const char* cmd, const control_args& a, v1::Control::Action action, std::int64_t duration_ms,
                   const std::function<void(const target& t)>& before,
                   const std::function<bool(const target& t, const v1::ControlReply& reply)>& handle,
                   const std::function<void(const target& t, const std::string& why)>& failed) {
  if (!check_selectors(cmd, a.selectors)) return 2;
  return run_tool(cmd, a.runtime, [&](const std::string& address) {
    runtime_client rc = runtime_client::connect(address, capabilities_for(a.selectors));
    int status = 0;
    const std::vector<target> targets = resolve_targets(cmd, rc, a.selectors, &status);
    if (!a.output.empty() && targets.size() > 1) {
      std::fprintf(stderr,
                   "weft %s: -o names one file, and the selectors name %zu processes; leave -o out (each gets a "
                   "file of its own) or select one\n",
                   cmd, targets.size());
      return 2;
    }
    std::map<std::string, runtime_client> others;  // other hosts' weftds, by address
    // stk, peek and kill (no `before` of their own): "3/40 targets
    // answered" on a terminal's stderr once they take over a second.
    std::optional<progress_line> progress;
    if (!before) progress.emplace(cmd);
    std::size_t answered = 0;
    for (const target& t : targets) {
      if (progress)
        progress->update(std::to_string(answered++) + "/" + std::to_string(targets.size()) + " targets answered");
      wire::frame req;
      v1::Control* c = req.mutable_control();
      c->set_action(action);
      address_control(c, t);
      c->set_code(a.code);
      c->set_duration_ms(duration_ms);
      if (before) before(t);
      // The target checks the duration (1 ms to 10 min); a bad one is
      // refused at once, so the wait only needs to cover a good one.
      const auto wait = std::chrono::milliseconds(std::clamp<std::int64_t>(duration_ms, 0, 10 * 60 * 1000));
      wire::frame r;
      try {
        // A worker of another host's weftd is asked there (targets.hpp).
        runtime_client* to = &rc;
        if (!t.runtime.empty()) {
          auto it = others.find(t.runtime);
          if (it == others.end()) it = others.emplace(t.runtime, runtime_client::connect(t.runtime, {"control"})).first;
          to = &it->second;
        }
        r = to->call(req, std::chrono::seconds(10) + wait);
        if (progress) progress->clear();  // what follows prints; the next tick draws the line again
      } catch (const tool_error& e) {
        if (progress) progress->clear();
        if (t.runtime.empty()) throw;
        std::fprintf(stderr, "weft %s: %s: %s\n", cmd, t.label.c_str(), e.what());
        if (failed) failed(t, e.what());
        status = 1;
        continue;
      }
      if (r.has_control_reply()) {
        if (!handle(t, r.control_reply())) status = 1;
      } else {
        const std::string why = r.has_error() ? r.error().message() : "weftd answered with something else";
        std::fprintf(stderr, "weft %s: %s: %s\n", cmd, t.label.c_str(), why.c_str());
        if (failed) failed(t, why);
        status = 1;
      }
    }
    std::fflush(stdout);
    return status;
  });
}

}  // namespace weft::tool
