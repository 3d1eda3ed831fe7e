// tools/weft/main.cpp: the weft command. One file per subcommand; this one
// only parses the command line (CLI11) and dispatches.
//
//   weft remote [--trace FILE] PROGRAM [ARGS...]   run PROGRAM attached to a
//                                                  passthrough runtime server
//   weft ps | stk | peek | kill | cpu | trace      act on the processes attached
//                                                  to a weftd (control_cmd.hpp)
//   weft top                                       a live table of them (top_cmd.hpp)
//   weft ls | kill | logs                          the circuit's workers (circuit_cmd.hpp)
//   weft ui [--port N]                             the circuit live in a browser (ui_cmd.hpp)
//   weft completion bash                           a bash completion script (completion_cmd.hpp)
//   weft migrate                                   move migratable goroutines (migrate_cmd.hpp)
//
// stk, peek, cpu and trace select workers too (anchors, subtrees, worker
// ids: targets.hpp), as kill does.
#include <CLI/CLI.hpp>

#include <cstdio>
#include <string>
#include <vector>

#include "circuit_cmd.hpp"
#include "completion_cmd.hpp"
#include "control_cmd.hpp"
#include "migrate_cmd.hpp"
#include "remote_cmd.hpp"
#include "top_cmd.hpp"
#include "ui_cmd.hpp"

int main(int argc, char** argv) {
  CLI::App app{"weft: operate weft programs, their runtime servers and workers"};
  app.require_subcommand(1);
  app.footer(
      "Examples:\n  weft remote ./server --port 8080\n  weft remote --trace out.json ./batch-job\n  weft ps\n"
      "  weft stk pid:4242\n  weft stk /db/...\n  weft kill pid:4242 --code 3\n  weft cpu pid:4242 --seconds 10\n"
      "  weft trace /db/shard --seconds 2\n  weft top /db/...\n  weft ls /db/...\n  weft kill "
      "/db/shard/R8efd95a09bcde325\n"
      "  weft logs R8efd95a09bcde325\n  weft ui\n  source <(weft completion bash)\n\n"
      "ps, stk, peek, kill, cpu and trace talk to the weftd named by --runtime ADDR, else WEFT_RUNTIME, else the\n"
      "default "
      "socket ($XDG_RUNTIME_DIR/weft/weftd.sock, else /tmp/weft-<uid>/weftd.sock). A SELECTOR is pid:N (an\n"
      "attached process), /anchor (its workers), /subtree/... or a worker id R<16 hex>. Exit status: 0 ok, 1 a\n"
      "target or weftd failed (no live worker under an anchor included), 2 usage.");

  weft::tool::remote_args remote;
  CLI::App* rc = app.add_subcommand(
      "remote",
      "Run a program attached to a passthrough runtime server (a weftd of its own); same output and exit "
      "status as running it directly");
  rc->add_option("--trace", remote.trace_file,
                 "Also record the program's runtime events in FILE (Chrome/Perfetto JSON)");
  rc->add_option("--weftd", remote.weftd,
                 "The weftd binary to start (default: $WEFT_WEFTD, else next to weft, else the one this build made, "
                 "else on PATH)");
  // Everything from the first word that is not one of remote's options is
  // the program and its arguments (its own -c, --flags included).
  rc->prefix_command();

  // The control subcommands (control_cmd.hpp): one set of arguments.
  weft::tool::control_args control;
  auto runtime_option = [&](CLI::App* c) {
    c->add_option("--runtime", control.runtime,
                  "The weftd to ask: unix:PATH or tcp:HOST:PORT (default: WEFT_RUNTIME, else the default socket)");
  };
  auto selectors = [&](CLI::App* c) {
    c->add_option("selectors", control.selectors,
                  "Processes (pid:N: weft ps) or workers (/anchor, /subtree/..., R<id>: weft ls -l)")
        ->required();
  };
  CLI::App* ps = app.add_subcommand("ps", "List the processes attached to the weftd");
  ps->footer("Examples:\n  weft ps\n  weft ps --json\n  weft ps --runtime unix:/tmp/w.sock");
  runtime_option(ps);
  ps->add_flag("--json", control.json, "Print a JSON array instead of a table");
  CLI::App* stk = app.add_subcommand(
      "stk",
      "Print the goroutines of each selected process or worker, those with the same stack grouped with their "
      "count (as Go's goroutine profile, debug=1)");
  stk->footer(
      "Examples:\n  weft stk pid:4242\n  weft stk pid:4242 pid:4243\n  weft stk /db/shard        each worker there\n"
      "  weft stk /db/...          every worker under /db\n  weft stk --all R8efd95a09bcde325\n"
      "  weft stk --json /db/...\n\n"
      "Grouped: \"N goroutines: [state]\", a \"#\" line naming up to ten (id \"name\"), then the stack once;\n"
      "largest group first. --all prints every goroutine as SIGQUIT's dump does.");
  runtime_option(stk);
  selectors(stk);
  stk->add_flag("--all", control.all, "Every goroutine on its own, as the SIGQUIT dump prints them");
  stk->add_flag("--json", control.json,
                "Print a JSON array: one object per process (target, pid, worker, anchor, dump)");
  CLI::App* peek = app.add_subcommand(
      "peek",
      "Print each selected process's runtime counters as JSON (pid, uptime_s, procs, goroutines, threads, "
      "rss_bytes, ...)");
  peek->footer(
      "Examples:\n  weft peek pid:4242\n  weft peek R8efd95a09bcde325\n  weft peek /db/...\n  weft peek --goroutines "
      "pid:4242\n"
      "  weft peek --goroutines --top 10 pid:4242\n\n"
      "One JSON object per line; a worker's begins with \"worker\" (its id) and \"anchor\" (when selected by one).");
  runtime_option(peek);
  selectors(peek);
  peek->add_flag("--goroutines", control.goroutines,
                 "Per-goroutine statistics instead (time running, runnable, blocked by reason; channel operations; "
                 "bytes): the first ask starts the program's instrumentation, counters begin then");
  peek->add_option("--top", control.code, "With --goroutines: how many goroutines to list, busiest first (0: 100)")
      ->check(CLI::Range(0, 1000000));
  CLI::App* kill = app.add_subcommand(
      "kill",
      "End workers (an anchor, a subtree /db/..., or a worker id: SIGTERM, their weft::on_shutdown hooks run, "
      "SIGKILL after 5 s; each one's end is printed), or attached processes (pid:N: it answers, flushes its stdio and "
      "exits with --code)");
  kill->footer(
      "Examples:\n  weft kill /db/shard/R8efd95a09bcde325\n  weft kill /db/... --hard\n"
      "  weft kill /db/... --grace 30\n  weft kill pid:4242\n  weft kill pid:4242 --code 7\n"
      "  weft kill --json /db/...\n\n"
      "--json: one object per target and line: {\"target\",\"pid\" (pid:N only),\"worker\",\"anchor\",\"ok\":true,\n"
      "\"outcome\":TEXT,\"status\" (a worker's exit status)} or {...,\"ok\":false,\"error\":WHY}.");
  runtime_option(kill);
  kill->add_option("selectors", control.selectors, "Workers (/anchor, /subtree/..., R<id>) or processes (pid:N)")
      ->required();
  kill->add_option("--code", control.code, "pid:N: the exit status (0-255)")
      ->check(CLI::Range(0, 255))
      ->capture_default_str();
  bool kill_hard = false;
  kill->add_flag("--hard", kill_hard, "Workers: SIGKILL at once (no shutdown hooks run)");
  double kill_grace = 0;
  kill->add_option("--grace", kill_grace, "Workers: seconds from SIGTERM to SIGKILL (default 5)")
      ->check(CLI::Range(0.001, 3600.0));
  kill->add_flag("--json", control.json, "Print one JSON object per target (the footer lists the fields)");
  weft::tool::circuit_args circuit;
  CLI::App* ls = app.add_subcommand("ls", "List the live workers under anchors, one ANCHOR/ID per line, sorted");
  ls->footer(
      "Examples:\n  weft ls                  every anchor\n  weft ls /db/shard        its workers\n"
      "  weft ls /db/...          everything under /db\n  weft ls -l /db/...       with pid, host, uptime, "
      "function\n  weft ls --json\n  weft ls --watch /db/...  then '+ PATH' as workers join, '- PATH' as they "
      "leave,\n                           until Ctrl-C\n\nNothing matching: no output, status 0.");
  runtime_option(ls);
  ls->add_option("selectors", circuit.selectors, "Anchors (/db/shard) or subtrees (/db/...); none: all");
  ls->add_flag("-l", circuit.long_format, "Add each worker's pid, host, uptime and function");
  ls->add_flag("--json", circuit.json, "Print a JSON array instead (with --watch: one object per line)");
  ls->add_flag("-w,--watch", circuit.watch,
               "Then print each change as it happens ('+ PATH' joined, '- PATH' left) until SIGINT or SIGTERM");
  CLI::App* logs = app.add_subcommand("logs", "Print what a worker wrote to stdout and stderr (its last MiB)");
  logs->footer(
      "Examples:\n  weft logs R8efd95a09bcde325\n  weft logs --json R8efd95a09bcde325\n\n"
      "--json: one object, {\"target\",\"worker\",\"anchor\",\"ok\":true,\"logs\":TEXT} or "
      "{...,\"ok\":false,\"error\":WHY}.");
  runtime_option(logs);
  logs->add_flag("--json", circuit.json, "Print one JSON object (the footer lists the fields)");
  logs->add_option("worker", circuit.selectors, "The worker's id (weft ls -l)")->required();
  double cpu_seconds = 30;  // Go's default
  CLI::App* cpu = app.add_subcommand(
      "cpu",
      "Record a CPU profile of each selected process (100 samples per second of each thread's CPU time) and "
      "write it as a gzip-compressed pprof file, which `go tool pprof` reads");
  cpu->footer(
      "Examples:\n  weft cpu pid:4242                     30 s, to weft-cpu-4242.pb.gz\n"
      "  weft cpu /db/shard --seconds 5        each worker there, to weft-cpu-PID.pb.gz\n"
      "  weft cpu pid:4242 --seconds 5 -o p.pb.gz\n  go tool pprof -top p.pb.gz\n"
      "  go tool pprof -tagfocus goroutine_name=worker -top p.pb.gz\n\n"
      "Samples are labelled with their goroutine (goroutine, goroutine_name). One profile at a time per process.\n"
      "--json: one object per process and line instead of the file's path: {\"target\",\"pid\",\"worker\",\"anchor\",\n"
      "\"ok\":true,\"file\",\"bytes\",\"seconds\"} or {...,\"ok\":false,\"error\":WHY}.");
  runtime_option(cpu);
  selectors(cpu);
  cpu->add_option("--seconds", cpu_seconds, "How long to record (0.001 to 600)")->capture_default_str();
  cpu->add_flag("--json", control.json, "Print one JSON object per process (the footer lists the fields)");
  cpu->add_option("-o,--output", control.output,
                  "The file to write (default: weft-cpu-PID.pb.gz in the current directory); one process only");
  double trace_seconds = 5;
  CLI::App* trace = app.add_subcommand(
      "trace",
      "Record each selected process's runtime events for a while (goroutines, blocks and their reasons, channel "
      "operations, blocking calls, steals, remote calls, xref calls) as a Chrome/Perfetto trace; its summary goes to "
      "stderr");
  trace->footer(
      "Examples:\n  weft trace pid:4242\n  weft trace pid:4242 --seconds 2 -o slow-start.json\n"
      "  weft trace pid:4242 pid:4243   (each to weft-trace-PID.json)\n  weft trace /db/...   (every worker under /db, "
      "at once)\n  weft trace /db/... -o db.json   (all in one file: xref calls drawn as arrows between workers)\n\n"
      "Open the file in https://ui.perfetto.dev. A trace holds 12 MiB at most: past that, events are counted as\n"
      "dropped (the summary says how many). A process traced already (weft remote --trace, or another weft trace)\n"
      "refuses.\n--json: one object per process and line on stdout: "
      "{\"target\",\"pid\",\"worker\",\"anchor\",\"ok\":true,\n"
      "\"file\",\"seconds\",\"summary\"} or {...,\"ok\":false,\"error\":WHY}.");
  runtime_option(trace);
  trace->add_flag("--json", control.json, "Print one JSON object per process (the footer lists the fields)");
  selectors(trace);
  trace->add_option("--seconds", trace_seconds, "How long to record (at most 600)")
      ->check(CLI::Range(0.001, 600.0))
      ->capture_default_str();
  trace->add_option("-o,--output", control.output,
                    "The file to write (several processes: one merged file; default: weft-trace-PID.json here)");

  weft::tool::migrate_args migrate;
  CLI::App* migrate_cmd = weft::tool::add_migrate_command(app, migrate);
  weft::tool::ui_args ui;
  CLI::App* ui_cmd = weft::tool::add_ui_command(app, &ui);
  weft::tool::top_args top_args;
  CLI::App* top = weft::tool::add_top_command(app, top_args);

  CLI::App* completion = app.add_subcommand("completion", "Print a shell completion script (bash)");
  completion->footer(
      "Examples:\n  source <(weft completion bash)\n"
      "  weft completion bash > ~/.local/share/bash-completion/completions/weft");
  std::string shell;
  completion->add_option("shell", shell, "The shell: bash")->required()->check(CLI::IsMember({"bash"}));

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
  if (completion->parsed()) {
    std::fputs(weft::tool::bash_completion(app).c_str(), stdout);
    return 0;
  }
  if (top->parsed()) return weft::tool::run_top(top_args);
  if (migrate_cmd->parsed()) return weft::tool::run_migrate(migrate);
  if (ui_cmd->parsed()) return weft::tool::run_ui(ui);
  if (ps->parsed()) return weft::tool::run_ps(control);
  if (stk->parsed()) return weft::tool::run_stk(control);
  if (peek->parsed()) return weft::tool::run_peek(control);
  if (kill->parsed()) {
    std::size_t workers = 0;
    for (const std::string& sel : control.selectors) workers += weft::tool::worker_selector(sel) ? 1 : 0;
    if (workers == 0) return weft::tool::run_kill(control);
    if (workers != control.selectors.size()) {
      std::fprintf(stderr, "weft kill: select workers (/anchor, R<id>) or processes (pid:N), not both at once\n");
      return 2;
    }
    circuit.runtime = control.runtime;
    circuit.selectors = control.selectors;
    circuit.hard = kill_hard;
    circuit.json = control.json;
    circuit.grace_seconds = kill_grace;
    return weft::tool::run_kill_workers(circuit);
  }
  if (ls->parsed()) {
    circuit.runtime = control.runtime;
    return weft::tool::run_ls(circuit);
  }
  if (logs->parsed()) {
    circuit.runtime = control.runtime;
    return weft::tool::run_logs(circuit);
  }
  if (cpu->parsed()) {
    control.seconds = cpu_seconds;
    return weft::tool::run_cpu(control);
  }
  if (trace->parsed()) {
    control.seconds = trace_seconds;
    return weft::tool::run_trace(control);
  }
  return 2;
}
