// tools/weft/peek_cmd.cpp: `weft peek SELECTOR...`: each selected process's
// runtime counters, one JSON object per line (pid, uptime_s, procs,
// goroutines, threads, rss_bytes, ...: docs/protocol.md, "Control"); with
// --goroutines, its per-goroutine statistics ("Goroutine statistics").
#include <cstdio>

#include "control_cmd.hpp"

namespace weft::tool {

int run_peek(const control_args& a) {
  return for_each_target("peek", a, a.goroutines ? v1::Control::GOROUTINE_STATS : v1::Control::STATS,
                         [](const std::string&, const std::string& text) { std::printf("%s\n", text.c_str()); });
}

}  // namespace weft::tool
