// tools/weft/stk_cmd.cpp: `weft stk [--all] [--json] SELECTOR...`: each
// selected process's goroutines, under a header naming it ("== pid:4242 ==",
// "== /db/shard/R8efd95a09bcde325 (pid 4242) ==" for a worker).
//
// By default goroutines with the same stack are grouped, with their count
// (src/trace/dump_group.hpp): what an operator of a server with thousands of
// goroutines wants first is where they are. --all prints weft::dump_goroutines's
// text as it is, every goroutine, as SIGQUIT does. --json prints one array
// of {"target","pid","worker","anchor","dump"} objects (dump: the text, grouped
// or not as asked), for scripts. A dump too large for one protocol frame
// comes grouped by the process itself, saying so on its first line; it is
// printed as it came, with or without --all.
#include <cstdio>

#include "control_cmd.hpp"
#include "trace/dump_group.hpp"
#include "wire/json.hpp"

namespace weft::tool {

int run_stk(const control_args& a) {
  bool first = true;
  std::string json = "[";
  int status = for_each_target("stk", a, v1::Control::DUMP_GOROUTINES, [&](const target& t, const std::string& text) {
    const std::string dump =
        a.all || weft::detail::trace::dump_is_grouped(text) ? text : weft::detail::trace::group_goroutines(text);
    if (a.json) {
      json += first ? "" : ",\n ";
      json += "{\"target\":" + wire::json_string(t.label) + ",\"pid\":" + std::to_string(t.pid) +
              ",\"worker\":" + wire::json_string(t.worker_id) + ",\"anchor\":" + wire::json_string(t.path) +
              ",\"dump\":" + wire::json_string(dump) + "}";
    } else {
      std::string header = t.label;
      if (!t.worker_id.empty()) header += " (pid " + std::to_string(t.pid) + ")";
      std::printf("%s== %s ==\n%s", first ? "" : "\n", header.c_str(), dump.c_str());
      if (!dump.empty() && dump.back() != '\n') std::printf("\n");
    }
    first = false;
  });
  if (a.json && status != 2) {
    std::printf("%s]\n", json.c_str());
    std::fflush(stdout);
  }
  return status;
}

}  // namespace weft::tool
