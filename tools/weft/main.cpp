// tools/weft/main.cpp: the weft command. One file per subcommand; this one
// only parses the command line (CLI11) and dispatches.
//
//   weft remote [--trace FILE] PROGRAM [ARGS...]   run PROGRAM attached to a
//                                                  passthrough runtime server
#include <CLI/CLI.hpp>

#include <cstdio>
#include <string>
#include <vector>

#include "remote_cmd.hpp"

int main(int argc, char** argv) {
  CLI::App app{"weft: operate weft programs, their runtime servers and workers"};
  app.require_subcommand(1);
  app.footer("Examples:\n  weft remote ./server --port 8080\n  weft remote --trace out.json ./batch-job");

  weft::tool::remote_args remote;
  CLI::App* rc = app.add_subcommand(
      "remote",
      "Run a program attached to a passthrough runtime server (a weftd of its own); same output and exit "
      "status as running it directly");
  rc->add_option("--trace", remote.trace_file,
                 "Also record the program's runtime events in FILE (Chrome/Perfetto JSON)");
  rc->add_option("--weftd", remote.weftd, "The weftd binary to start (default: next to weft, else on PATH)");
  // Everything from the first word that is not one of remote's options is
  // the program and its arguments (its own -c, --flags included).
  rc->prefix_command();

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }
  if (rc->parsed()) {
    remote.argv = rc->remaining();
    if (!remote.argv.empty() && remote.argv.front() == "--") remote.argv.erase(remote.argv.begin());
    if (remote.argv.empty()) {
      std::fprintf(stderr, "weft remote: name the program to run (weft remote --help)\n");
      return 2;
    }
    return weft::tool::run_remote(remote);
  }
  return 2;
}
