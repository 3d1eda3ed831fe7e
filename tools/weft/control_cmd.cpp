// tools/weft/control_cmd.cpp: what stk, peek and kill share (see
// control_cmd.hpp): selectors, and one Control per target.
#include "control_cmd.hpp"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>

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
  if (!s.empty() && s[0] == '/') {
    std::fprintf(stderr,
                 "weft %s: %s: only weft ls and weft kill take anchors so far; select a process with pid:N (weft "
                 "ls -l shows a worker's pid)\n",
                 cmd, s.c_str());
    return 0;
  }
  std::fprintf(stderr, "weft %s: %s is not a selector: write pid:N (weft ps lists the attached processes)\n", cmd,
               s.c_str());
  return 0;
}

int for_each_target(const char* cmd, const control_args& a, v1::Control::Action action,
                    const std::function<void(const std::string& selector, const std::string& text)>& print) {
  return for_each_reply(cmd, a, action, 0, nullptr,
                        [&print](const std::string& selector, std::int64_t, const v1::ControlReply& reply) {
                          print(selector, reply.text());
                          return true;
                        });
}

int for_each_reply(
    const char* cmd, const control_args& a, v1::Control::Action action, std::int64_t duration_ms,
    const std::function<void(const std::string& selector)>& before,
    const std::function<bool(const std::string& selector, std::int64_t pid, const v1::ControlReply& reply)>& handle) {
  std::vector<std::int64_t> pids;
  for (const std::string& s : a.selectors) {
    std::int64_t pid = parse_selector(cmd, s);
    if (pid == 0) return 2;
    pids.push_back(pid);
  }
  return run_tool(cmd, a.runtime, [&](const std::string& address) {
    runtime_client rc = runtime_client::connect(address, {"control"});
    int status = 0;
    for (std::size_t i = 0; i < pids.size(); ++i) {
      wire::frame req;
      v1::Control* c = req.mutable_control();
      c->set_action(action);
      c->set_pid(pids[i]);
      c->set_code(a.code);
      c->set_duration_ms(duration_ms);
      if (before) before(a.selectors[i]);
      // The target checks the duration (1 ms to 10 min); a bad one is
      // refused at once, so the wait only needs to cover a good one.
      const auto wait = std::chrono::milliseconds(std::clamp<std::int64_t>(duration_ms, 0, 10 * 60 * 1000));
      wire::frame r = rc.call(req, std::chrono::seconds(10) + wait);
      if (r.has_control_reply()) {
        if (!handle(a.selectors[i], pids[i], r.control_reply())) status = 1;
      } else {
        std::fprintf(stderr, "weft %s: %s: %s\n", cmd, a.selectors[i].c_str(),
                     r.has_error() ? r.error().message().c_str() : "weftd answered with something else");
        status = 1;
      }
    }
    std::fflush(stdout);
    return status;
  });
}

}  // namespace weft::tool
