// tools/weft/top_cmd.hpp: `weft top [SELECTOR...]`: a live table of the
// selected processes (top_cmd.cpp has the design; top_sample.hpp the
// numbers). Registered by add_top_command so that main.cpp keeps one line
// for it.
#pragma once

#include <string>
#include <vector>

namespace CLI {
class App;
}

namespace weft::tool {

struct top_args {
  std::string runtime;  // --runtime
  std::vector<std::string> selectors;  // none: every process attached to the weftd
  double interval = 2;  // --interval, seconds between samples
  std::string sort = "cpu";  // --sort, one of sort_keys()
  bool once = false;  // --once
  bool json = false;  // --json
  bool goroutines = false;  // --goroutines: one process's goroutines
  int rows = 0;  // -n: at most this many rows (0: every process; 20 goroutines)
};

// Adds the subcommand and its options to app; returns it (main.cpp asks
// it parsed()).
CLI::App* add_top_command(CLI::App& app, top_args& a);

int run_top(const top_args& a);

}  // namespace weft::tool
