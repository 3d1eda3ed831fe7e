// tools/weft/ui_cmd.hpp: `weft ui`, the circuit in a browser (design in
// ui_cmd.cpp; its HTTP server in ui_http.hpp). main.cpp registers it
// through add_ui_command and runs it when parsed.
#pragma once

#include <string>

namespace CLI {
class App;
}

namespace weft::tool {

struct ui_args {
  std::string runtime;  // --runtime
  int port = 0;  // --port: 0 picks a free one
};

// Serves the page until SIGINT or SIGTERM (status 0); 1 when the weftd is
// unreachable or the port is taken, 2 for a usage error.
int run_ui(const ui_args& a);

// Adds the `ui` subcommand to app, its options into *a.
CLI::App* add_ui_command(CLI::App& app, ui_args* a);

}  // namespace weft::tool
