// tools/weft/top_cli.cpp: weft top's options (CLI11; compiled at -O1 with
// the other files that include it, tools/CMakeLists.txt).
#include <CLI/CLI.hpp>

#include "top_cmd.hpp"
#include "top_sample.hpp"

namespace weft::tool {

CLI::App* add_top_command(CLI::App& app, top_args& a) {
  CLI::App* top = app.add_subcommand(
      "top",
      "A live table of the selected processes or workers (CPU %, memory, goroutines, runnable, blocked by reason, "
      "channel operations/s, bytes/s), refreshed in place; with --goroutines, one process's busiest goroutines");
  top->footer(
      "Examples:\n  weft top                        every process attached to the weftd\n"
      "  weft top /db/...                every worker under /db\n"
      "  weft top --once --interval 1 pid:4242\n  weft top --sort mem pid:4242 pid:4243\n"
      "  weft top --goroutines R8efd95a09bcde325   its busiest goroutines, with their creation sites\n"
      "  weft top --once --json /db/...\n\n"
      "Rates are differences of two samples --interval apart: the first screen comes after one interval.\n"
      "The targets are chosen when top starts. On a terminal the table refreshes in place until Ctrl-C or q, and\n"
      "keys sort it: c cpu, m mem, g goroutines, r runnable, b blocked, o chan, y bytes, n name. Else\n"
      "(or with --once) it is printed once per refresh (--once: once, after two samples). --json: one object per\n"
      "refresh, {\"interval_s\",\"sort\",\"processes\":[{target,pid,worker,anchor,cpu_pct,rss_bytes,goroutines,\n"
      "running,runnable,blocked,blocked_by:[{reason,goroutines}],chan_ops_per_s,bytes_per_s}]} (a target that\n"
      "failed: {target,...,error}); with --goroutines "
      "{\"interval_s\",\"sort\",\"target\",\"pid\",\"worker\",\"anchor\",\n"
      "\"goroutines\":[{id,name,state,reason,cpu_pct,chan_ops_per_s,bytes_per_s,created_by,created_at}]}.\n"
      "BLOCKED ON: where the blocked time went, as the average number of goroutines blocked there.\n"
      "top starts each process's goroutine instrumentation and stops it when it ends, Ctrl-C included.\n"
      "Exit status: 0 ok (Ctrl-C included), 1 a target or the weftd failed, 2 usage.");
  top->add_option("--runtime", a.runtime,
                  "The weftd to ask: unix:PATH or tcp:HOST:PORT (default: WEFT_RUNTIME, else the default socket)");
  top->add_option("selectors", a.selectors,
                  "Processes (pid:N: weft ps) or workers (/anchor, /subtree/..., R<id>); none: every attached process");
  top->add_option("-i,--interval", a.interval, "Seconds between samples (0.1 to 3600)")
      ->check(CLI::Range(0.1, 3600.0))
      ->capture_default_str();
  top->add_option("-s,--sort", a.sort, "Sort by cpu, mem, goroutines, runnable, blocked, chan, bytes or name")
      ->check(CLI::IsMember(sort_keys()))
      ->capture_default_str();
  top->add_flag("--once", a.once, "Print one snapshot (two samples --interval apart) and exit");
  top->add_flag("--json", a.json, "Print each snapshot as one JSON object (one line)");
  top->add_flag("-g,--goroutines", a.goroutines,
                "The goroutines of one process, busiest first, with their names and creation sites");
  top->add_option("-n,--rows", a.rows, "At most N rows (default: every process; 20 goroutines)")
      ->check(CLI::Range(0, 1000000));
  return top;
}

}  // namespace weft::tool
