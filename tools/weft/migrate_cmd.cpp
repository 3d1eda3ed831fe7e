// tools/weft/migrate_cmd.cpp: `weft migrate [SELECTOR...] [--to T] [--list]
// [--json]`: moves migratable goroutines (weft/migrate.hpp) between the
// processes attached to one weftd, or lists them.
//
// A selector is a goroutine id (M + 16 hex digits, as --list shows) or
// pid:N (every migratable goroutine that process runs). --to: pid:N, a host
// name, auto (the default: the weftd chooses and says why), or new (a
// process of the binary that the weftd starts for it). One line per
// goroutine: where it went and how long it was stopped, or why it did not
// move (it then runs on where it was), or, with auto, why it is better
// where it is (it stays: an idle goroutine). Exit status 1 if any did not
// move for another reason.
#include <cstdio>
#include <string>
#include <vector>

#include "connect.hpp"
#include "control_cmd.hpp"
#include "migrate_cmd.hpp"
#include "wire/json.hpp"

namespace weft::tool {

namespace {

std::string place(std::int64_t pid, const std::string& host) {
  return "pid " + std::to_string(pid) + (host.empty() ? "" : " on " + host);
}

std::string json_of(const v1::MigrateReport::Move& m) {
  return "{\"goroutine\":" + wire::json_string(m.goroutine()) + ",\"function\":" + wire::json_string(m.function()) +
         ",\"from_pid\":" + std::to_string(m.from_pid()) + ",\"from_host\":" + wire::json_string(m.from_host()) +
         ",\"to_pid\":" + std::to_string(m.to_pid()) + ",\"to_host\":" + wire::json_string(m.to_host()) +
         ",\"epoch\":" + std::to_string(m.epoch()) + ",\"moves\":" + std::to_string(m.moves()) +
         ",\"pause_us\":" + std::to_string(m.pause_us()) + ",\"state_bytes\":" + std::to_string(m.state_bytes()) +
         ",\"reason\":" + wire::json_string(m.reason()) + ",\"error\":" + wire::json_string(m.error()) +
         ",\"phase\":" + wire::json_string(m.phase()) + "}";
}

}  // namespace

CLI::App* add_migrate_command(CLI::App& app, migrate_args& a) {
  CLI::App* c = app.add_subcommand(
      "migrate",
      "Move migratable goroutines (weft::go_migratable) to another process of their binary attached to the same "
      "weftd, or list them");
  c->footer(
      "Examples:\n  weft migrate --list\n  weft migrate M1f2e3d4c5b6a7980 --to pid:4243\n"
      "  weft migrate pid:4242 --to h2        every one pid 4242 runs, to a process on host h2\n"
      "  weft migrate pid:4242                auto: the weftd picks the target and says why\n"
      "  weft migrate M1f2e3d4c5b6a7980 --to new   a fresh process of its binary, started by the weftd\n\n"
      "A goroutine stops at its next safe point (checkpoint(), or waiting on a remote channel or variable); one that\n"
      "reaches none within 10 s runs on where it was. Targets: processes that called weft::accept_migrations, or new.\n"
      "auto: watches each goroutine's CPU and blocked time for 0.3 s; an idle one stays; off a host over weftd's load\n"
      "threshold (busiest first), else next to the peer or the weftd it waits on, else spread (docs/migration.md). "
      "Exit\n"
      "status: 0 every goroutine moved (or auto left an idle one where it is, and says why), 1 one did not (the line\n"
      "says why), 2 usage.");
  c->add_option("--runtime", a.runtime,
                "The weftd to ask: unix:PATH or tcp:HOST:PORT (default: WEFT_RUNTIME, else the default socket)");
  c->add_option("selectors", a.selectors, "Goroutine ids (M + 16 hex digits) or processes (pid:N)");
  c->add_option("--to", a.to,
                "pid:N, a host name, auto (among the processes that accept), or new (a process of its binary that "
                "the weftd starts for it, which ends when the goroutines it received have)")
      ->capture_default_str();
  c->add_flag("--list", a.list, "List the migratable goroutines (those selected; none: all) and move nothing");
  c->add_flag("--json", a.json, "Print a JSON array, one object per goroutine");
  return c;
}

int run_migrate(const migrate_args& a) {
  std::vector<std::string> ids;
  std::vector<long long> pids;
  for (const std::string& s : a.selectors) {
    if (s.rfind("pid:", 0) == 0) {
      const std::int64_t pid = parse_selector("migrate", s);  // the other commands' reading, and message
      if (pid == 0) return 2;
      pids.push_back(pid);
    } else if (s.size() == 17 && s[0] == 'M') {
      ids.push_back(s);
    } else {
      std::fprintf(stderr,
                   "weft migrate: %s is neither a goroutine id (M + 16 hex digits: weft migrate --list) nor pid:N\n",
                   s.c_str());
      return 2;
    }
  }
  if (!a.list && a.selectors.empty()) {
    std::fprintf(stderr, "weft migrate: which goroutines? Name them (M..., pid:N; weft migrate --list shows them)\n");
    return 2;
  }
  return run_tool("migrate", a.runtime, [&](const std::string& address) {
    runtime_client rc = runtime_client::connect(address, {"migrate"});
    std::vector<v1::MigrateReport::Move> moves;
    auto ask = [&](v1::Migrate m) {
      m.set_to(a.to);
      m.set_list_only(a.list);
      wire::frame req;
      *req.mutable_migrate() = std::move(m);
      // A goroutine may take the weftd's safe-point timeout (10 s) to stop.
      wire::frame r = rc.call(req, std::chrono::seconds(15 + 12 * (ids.size() + 1)));
      if (!r.has_migrate_report())
        throw tool_error("weftd at " + address + ": " +
                         (r.has_error() ? r.error().message() : std::string("answered Migrate with something else")));
      for (const auto& mv : r.migrate_report().moves()) moves.push_back(mv);
    };
    if (!ids.empty() || pids.empty()) {
      v1::Migrate m;
      for (const std::string& id : ids) m.add_goroutine(id);
      ask(m);
    }
    for (long long pid : pids) {
      v1::Migrate m;
      m.set_pid(pid);
      ask(m);
    }
    int status = 0;
    if (a.json) std::printf("[");
    bool first = true;
    for (const auto& m : moves) {
      // auto's "stays": a decision, not a failure (a reason, no error).
      const bool stays = !a.list && m.to_pid() == 0 && m.error().empty() && !m.reason().empty();
      if (!a.list && m.to_pid() == 0 && !stays) status = 1;
      if (a.json) {
        std::printf("%s%s", first ? "" : ",\n ", json_of(m).c_str());
      } else if (a.list) {
        if (!m.error().empty()) {
          std::printf("%s: %s\n", m.goroutine().c_str(), m.error().c_str());
        } else {
          const std::string where =
              m.phase() == "parked" ? "parked at the weftd (until a process of its binary accepts migrations)"
                                    : place(m.from_pid(), m.from_host()) +
                                          (m.phase() == "running" || m.phase().empty() ? "" : " (" + m.phase() + ")");
          std::printf("%s  %-24s %s, epoch %llu, moved %u times\n", m.goroutine().c_str(), m.function().c_str(),
                      where.c_str(), static_cast<unsigned long long>(m.epoch()), m.moves());
        }
      } else if (stays) {
        std::printf("%s: stays in %s (%s)\n", m.goroutine().c_str(), place(m.from_pid(), m.from_host()).c_str(),
                    m.reason().c_str());
      } else if (m.to_pid() != 0) {
        std::printf("%s: %s -> %s, stopped %.3f ms, %llu bytes of state (%s)\n", m.goroutine().c_str(),
                    place(m.from_pid(), m.from_host()).c_str(), place(m.to_pid(), m.to_host()).c_str(),
                    static_cast<double>(m.pause_us()) / 1000.0, static_cast<unsigned long long>(m.state_bytes()),
                    m.reason().c_str());
      } else {
        std::fprintf(stderr, "weft migrate: %s did not move: %s\n",
                     m.goroutine().empty() ? place(m.from_pid(), "").c_str() : m.goroutine().c_str(),
                     m.error().c_str());
      }
      first = false;
    }
    if (a.json) std::printf("]\n");
    return status;
  });
}

}  // namespace weft::tool
