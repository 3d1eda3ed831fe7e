// tools/weft/peek_cmd.cpp: `weft peek SELECTOR...`: each selected process's
// runtime counters, one JSON object per line (pid, uptime_s, procs,
// goroutines, threads, rss_bytes, ...: docs/protocol.md, "Control"); with
// --goroutines, its per-goroutine statistics ("Goroutine statistics").
//
// A circuit worker's object begins with "worker" (its id) and "anchor"
// (the path it was selected under, if any): the lines stay one JSON
// object each, which a script reads as they come, and still say which
// worker each is, where a "== NAME ==" header would break them.
#include <cstdio>

#include "control_cmd.hpp"
#include "wire/json.hpp"

namespace weft::tool {

namespace {

std::string with_worker(const target& t, const std::string& text) {
  if (t.worker_id.empty() || text.empty() || text[0] != '{') return text;
  std::string head = "{\"worker\":" + wire::json_string(t.worker_id);
  if (!t.path.empty()) head += ",\"anchor\":" + wire::json_string(t.path);
  return head + (text.size() > 2 ? "," : "") + text.substr(1);
}

}  // namespace

int run_peek(const control_args& a) {
  return for_each_target(
      "peek", a, a.goroutines ? v1::Control::GOROUTINE_STATS : v1::Control::STATS,
      [](const target& t, const std::string& text) { std::printf("%s\n", with_worker(t, text).c_str()); });
}

}  // namespace weft::tool
