// tools/weft/ui_cli.cpp: `weft ui`'s command line (CLI11), apart from
// ui_cmd.cpp so that only this small file parses CLI11's headers.
#include <CLI/CLI.hpp>

#include "ui_cmd.hpp"

namespace weft::tool {

CLI::App* add_ui_command(CLI::App& app, ui_args* a) {
  CLI::App* ui = app.add_subcommand(
      "ui",
      "Serve a live view of the circuit on http://127.0.0.1:PORT: the anchor tree with its workers, each one's "
      "vitals, goroutines and stacks, a kill button and a 5 s trace; until Ctrl-C");
  ui->footer(
      "Examples:\n  weft ui                     prints the URL to open (with its token)\n"
      "  weft ui --port 8123\n  ssh -L 8123:127.0.0.1:8123 HOST weft ui --port 8123   (from another machine)\n\n"
      "Only 127.0.0.1 is listened on, and every request needs the token printed with the URL.");
  ui->add_option("--runtime", a->runtime,
                 "The weftd to ask: unix:PATH or tcp:HOST:PORT (default: WEFT_RUNTIME, else the default socket)");
  ui->add_option("--port", a->port, "The port on 127.0.0.1 (0: a free one)")->capture_default_str();
  return ui;
}

}  // namespace weft::tool
