// `weft top` against a real weftd and a real attached program
// (tests/tools/cpu_prog.cpp: a goroutine named "spinner" burns CPU):
// --once prints the program's row with its goroutines and the spinner's
// CPU; --json parses (python3's json) and has the documented fields; the
// per-goroutine view puts the spinner first, with its creation site; the
// instrumentation top started is off once top ends, by --once or by
// SIGINT in the live view; the usage errors and failures give their
// status; the progress line goes to a terminal's stderr only; on a
// terminal, keys sort the table and q quits. And the --json of kill, cpu, trace and logs parses, with the
// documented fields.
#include <gtest/gtest.h>

#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <string>

#include "remote/weftd_fixture.hpp"
#include "weft_cli_util.hpp"

#if !defined(WEFT_TEST_WEFT) || !defined(WEFT_TEST_CPU_PROG)
#error "tests/CMakeLists.txt defines WEFT_TEST_WEFT and WEFT_TEST_CPU_PROG for this test"
#endif

namespace {

using namespace std::chrono_literals;
using weft_test::command;
using weft_test::pid_selector;

// The spinner burns a whole CPU when it has one. The test machine shares
// its cores among parallel tests and builds, so a spinner may get a fifth
// of one; an idle weft program uses about 1% (its heartbeat, answering
// top), so this still tells a spinner from an idle program.
constexpr double spinner_min_cpu = 5;

class WeftTop : public weft_test::weftd_test {
 protected:
  std::unique_ptr<command> start(std::vector<std::string> args, bool with_runtime = true) {
    return weft_test::start_weft(WEFT_TEST_WEFT, std::move(args), with_runtime ? address() : "");
  }
  std::unique_ptr<command> weft(std::vector<std::string> args, bool with_runtime = true) {
    return weft_test::run_weft(WEFT_TEST_WEFT, std::move(args), with_runtime ? address() : "", 30s);
  }
  // cpu_prog attached to the fixture's weftd, once weft ps lists it.
  std::unique_ptr<command> program() {
    return weft_test::start_listed(WEFT_TEST_WEFT, {WEFT_TEST_CPU_PROG}, address(), 30s);
  }

  // Runs python3 on `check` with the JSON text as sys.argv[1]'s file and
  // the extra arguments after it; its output ("ok" when the checks hold).
  static std::string py(const std::string& check, const std::string& json, std::vector<std::string> extra = {}) {
    const std::string file = "/tmp/weft-top-test-" + std::to_string(::getpid()) + ".json";
    std::ofstream(file) << json;
    std::vector<std::string> argv{"/usr/bin/env", "python3", "-c", "import json, sys\n" + check, file};
    argv.insert(argv.end(), extra.begin(), extra.end());
    command c(argv);
    c.wait(30s);
    ::unlink(file.c_str());
    return c.out() + c.err();
  }
  // The program's STATS "instrumenting" (peek), as "true" or "false".
  std::string instrumenting(const command& p) {
    const std::string out = weft({"peek", pid_selector(p)})->out();
    const std::size_t at = out.find("\"instrumenting\":");
    if (at == std::string::npos) return "missing from " + out;
    return out.substr(at + 16, out.compare(at + 16, 4, "true") == 0 ? 4 : 5);
  }
};

TEST_F(WeftTop, OnceShowsTheProgramsRowWithItsGoroutinesAndTheSpinnersCpu) {
  auto p = program();
  auto top = weft({"top", "--once", "--interval", "1", pid_selector(*p)});
  ASSERT_EQ(top->wait(), 0) << top->err();
  const std::string out = top->out();
  ASSERT_EQ(out.rfind("TARGET ", 0), 0u) << out;  // the header first: no screen control off a terminal
  const std::size_t at = out.find("\n" + pid_selector(*p) + " ");
  ASSERT_NE(at, std::string::npos) << out;
  char label[64];
  long long pid = 0;
  double cpu = 0;
  char rss[32];
  long goroutines = 0;
  ASSERT_EQ(std::sscanf(out.c_str() + at + 1, "%63s %lld %lf %31s %ld", label, &pid, &cpu, rss, &goroutines), 5)
      << out;
  EXPECT_EQ(pid, p->pid());
  EXPECT_GT(cpu, spinner_min_cpu) << out;
  EXPECT_GE(goroutines, 2) << out;  // main and the spinner, at least
  EXPECT_EQ(instrumenting(*p), "false") << "top --once turns the instrumentation it started off";
}

TEST_F(WeftTop, JsonHasEachProcesssFields) {
  auto p = program();
  auto top = weft({"top", "--once", "--json", "--interval", "1"});  // no selector: every attached process
  ASSERT_EQ(top->wait(), 0) << top->err();
  const std::string check = R"(
doc = json.load(open(sys.argv[1]))
assert doc["interval_s"] == 1 and doc["sort"] == "cpu", doc
rows = [r for r in doc["processes"] if r["pid"] == int(sys.argv[2])]
assert len(rows) == 1, doc
r = rows[0]
for k in ("target", "worker", "anchor", "cpu_pct", "rss_bytes", "goroutines", "running", "runnable", "blocked",
          "blocked_by", "chan_ops_per_s", "bytes_per_s"):
    assert k in r, (k, r)
assert r["target"] == "pid:" + sys.argv[2], r
assert r["goroutines"] >= 2 and r["rss_bytes"] > 0, r
assert r["cpu_pct"] > float(sys.argv[3]), r
# main and the heartbeat sleep: their blocked time is there, by reason
assert any(b["reason"] == "sleep" and b["goroutines"] > 0 for b in r["blocked_by"]), r
print("ok")
)";
  EXPECT_EQ(py(check, top->out(), {std::to_string(p->pid()), std::to_string(spinner_min_cpu)}), "ok\n")
      << top->out();
}

TEST_F(WeftTop, TheGoroutineViewPutsTheSpinnerFirstWithItsCreationSite) {
  auto p = program();
  auto top = weft({"top", "--once", "--json", "--goroutines", "--interval", "1", pid_selector(*p)});
  ASSERT_EQ(top->wait(), 0) << top->err();
  const std::string check = R"(
doc = json.load(open(sys.argv[1]))
assert doc["target"] == "pid:" + sys.argv[2] and doc["pid"] == int(sys.argv[2]), doc
g = doc["goroutines"]
assert len(g) >= 2, doc
first = g[0]
assert first["name"] == "spinner", g
assert first["cpu_pct"] > float(sys.argv[3]), first
assert "main" in first["created_by"], first
import re
assert re.search(r"cpu_prog\.cpp:[0-9]+$", first["created_at"]), first
for k in ("id", "state", "chan_ops_per_s", "bytes_per_s"):
    assert k in first, (k, first)
print("ok")
)";
  EXPECT_EQ(py(check, top->out(), {std::to_string(p->pid()), std::to_string(spinner_min_cpu)}), "ok\n")
      << top->out();
  // The table too: the first row after the header is the spinner's.
  auto table = weft({"top", "--once", "-g", "--interval", "1", pid_selector(*p)});
  ASSERT_EQ(table->wait(), 0) << table->err();
  const std::string out = table->out();
  const std::size_t header = out.find("ID ");
  ASSERT_NE(header, std::string::npos) << out;
  const std::size_t row = out.find('\n', header) + 1;
  EXPECT_NE(out.substr(row, out.find('\n', row) - row).find(" spinner "), std::string::npos) << out;
  EXPECT_NE(out.find("CREATED BY"), std::string::npos) << out;
  EXPECT_EQ(instrumenting(*p), "false");
}

TEST_F(WeftTop, TheLiveViewRefreshesUntilSigintThenTurnsInstrumentationOff) {
  auto p = program();
  auto top = start({"top", "--interval", "0.3", pid_selector(*p)});
  // Not a terminal: each refresh is printed as "== HH:MM:SS ==" and a table.
  std::string out;
  for (int i = 0; i < 200 && out.find("== ", out.find("== ") + 1) == std::string::npos; ++i) {
    std::this_thread::sleep_for(50ms);
    out = top->out();
  }
  ASSERT_NE(out.find("== ", out.find("== ") + 1), std::string::npos) << "two refreshes: " << out << top->err();
  EXPECT_NE(out.find("\n" + pid_selector(*p) + " "), std::string::npos) << out;
  EXPECT_EQ(instrumenting(*p), "true") << "top is running: it instruments";
  ::kill(top->pid(), SIGINT);
  EXPECT_EQ(top->wait(10s), 0) << top->err();
  EXPECT_EQ(instrumenting(*p), "false") << "off once top ended by SIGINT";
}

TEST_F(WeftTop, UsageErrorsAndFailures) {
  auto p = program();
  auto q = program();
  auto two = weft({"top", "--once", "-g", pid_selector(*p), pid_selector(*q)});
  EXPECT_EQ(two->wait(), 2);
  EXPECT_NE(two->err().find("--goroutines shows one process"), std::string::npos) << two->err();
  auto bad_sort = weft({"top", "--once", "--sort", "colour", pid_selector(*p)});
  EXPECT_EQ(bad_sort->wait(), 2);
  auto bad_sel = weft({"top", "--once", "4242"});
  EXPECT_EQ(bad_sel->wait(), 2);
  EXPECT_NE(bad_sel->err().find("is not a selector"), std::string::npos) << bad_sel->err();
  // An unknown pid: its row says why, the others still show, status 1.
  auto gone = weft({"top", "--once", "--json", "--interval", "0.2", "pid:1", pid_selector(*p)});
  EXPECT_EQ(gone->wait(), 1) << gone->out();
  const std::string check = R"(
doc = json.load(open(sys.argv[1]))
rows = {r["target"]: r for r in doc["processes"]}
assert rows["pid:1"]["error"], rows
assert rows[sys.argv[2]]["goroutines"] >= 2, rows
print("ok")
)";
  EXPECT_EQ(py(check, gone->out(), {pid_selector(*p)}), "ok\n") << gone->out();
  // No weftd there.
  auto none = weft({"top", "--once", "--runtime", "unix:/tmp/weft-top-test-nothing.sock"}, false);
  EXPECT_EQ(none->wait(), 1);
  EXPECT_NE(none->err().find("weft top: "), std::string::npos) << none->err();
  EXPECT_EQ(none->out(), "");
}

TEST_F(WeftTop, TheProgressLineIsDrawnOnATerminalsStderrOnly) {
  if (::access("/usr/bin/script", X_OK) != 0) GTEST_SKIP() << "script (util-linux) is missing: no terminal to test on";
  auto p = program();
  // Off a terminal: nothing on stderr, however long it takes.
  auto plain = weft({"top", "--once", "--interval", "1.5", pid_selector(*p)});
  EXPECT_EQ(plain->wait(), 0) << plain->err();
  EXPECT_EQ(plain->err(), "");
  // On one (script gives the command a pseudo-terminal): stdout goes to
  // /dev/null, so what script shows is stderr's line alone.
  const std::string line = std::string(WEFT_TEST_WEFT) + " top --once --interval 1.5 --runtime " + address() + " " +
                           pid_selector(*p) + " >/dev/null";
  command tty({"/usr/bin/script", "-qec", line, "/dev/null"});
  EXPECT_EQ(tty.wait(30s), 0) << tty.out() << tty.err();
  EXPECT_NE(tty.out().find("weft top: waiting 1.5 s for the second sample..."), std::string::npos) << tty.out();
  EXPECT_NE(tty.out().find("\r\033[K"), std::string::npos) << "drawn in place: " << tty.out();
}

TEST_F(WeftTop, OnATerminalKeysSortTheTableAndQQuits) {
  if (::access("/usr/bin/script", X_OK) != 0) GTEST_SKIP() << "script (util-linux) is missing: no terminal to test on";
  auto p = program();
  // script gives top a pseudo-terminal and passes it what the pipe types:
  // m after the first screen, then q.
  const std::string line =
      std::string(WEFT_TEST_WEFT) + " top --interval 0.5 --runtime " + address() + " " + pid_selector(*p);
  command tty({"/bin/bash", "-c",
               "(sleep 1.5; printf m; sleep 1; printf q; sleep 5) | /usr/bin/script -qec '" + line + "' /dev/null"});
  EXPECT_EQ(tty.wait(30s), 0) << tty.out() << tty.err();
  const std::string out = tty.out();
  EXPECT_NE(out.find("\033[H\033[2Jweft top: sampling..."), std::string::npos) << out;
  EXPECT_NE(out.find("sorted by cpu"), std::string::npos) << out;
  EXPECT_NE(out.find("sorted by mem"), std::string::npos) << "m sorts by memory: " << out;
  EXPECT_EQ(instrumenting(*p), "false") << "off once q ended top";
}

TEST_F(WeftTop, KillCpuTraceAndLogsPrintJson) {
  auto p = program();
  const std::string dir = "/tmp/weft-top-test-" + std::to_string(::getpid());
  ::mkdir(dir.c_str(), 0700);
  const std::string fields = R"(
doc = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
assert len(doc) == 1, doc
o = doc[0]
for k in sys.argv[3].split(","):
    assert k in o, (k, o)
assert o["target"] == sys.argv[2], o
print("ok" if o["ok"] else "error: " + o["error"])
)";
  auto cpu = weft({"cpu", "--json", pid_selector(*p), "--seconds", "0.2", "-o", dir + "/p.pb.gz"});
  EXPECT_EQ(cpu->wait(), 0) << cpu->err();
  EXPECT_EQ(py(fields, cpu->out(), {pid_selector(*p), "pid,worker,anchor,ok,file,bytes,seconds"}), "ok\n")
      << cpu->out();
  EXPECT_NE(cpu->out().find("\"file\":\"" + dir + "/p.pb.gz\""), std::string::npos) << cpu->out();

  auto trace = weft({"trace", "--json", pid_selector(*p), "--seconds", "0.2", "-o", dir + "/t.json"});
  EXPECT_EQ(trace->wait(), 0) << trace->err();
  EXPECT_EQ(py(fields, trace->out(), {pid_selector(*p), "pid,worker,anchor,ok,file,seconds,summary"}), "ok\n")
      << trace->out();

  auto unknown = weft({"cpu", "--json", "pid:1", "--seconds", "0.1", "-o", dir + "/q.pb.gz"});
  EXPECT_EQ(unknown->wait(), 1);
  EXPECT_EQ(py(fields, unknown->out(), {"pid:1", "pid,ok,error"}).rfind("error: ", 0), 0u) << unknown->out();

  auto logs = weft({"logs", "--json", "R0123456789abcdef"});
  EXPECT_EQ(logs->wait(), 1);
  EXPECT_EQ(py(fields, logs->out(), {"R0123456789abcdef", "worker,anchor,ok,error"}).rfind("error: ", 0), 0u)
      << logs->out();

  auto kill = weft({"kill", "--json", pid_selector(*p), "--code", "3"});
  EXPECT_EQ(kill->wait(), 0) << kill->err();
  EXPECT_EQ(py(fields, kill->out(), {pid_selector(*p), "pid,worker,anchor,ok,outcome"}), "ok\n") << kill->out();
  EXPECT_NE(kill->out().find("exits with status 3"), std::string::npos) << kill->out();
  EXPECT_EQ(p->wait(10s), 3);
  std::system(("rm -rf " + dir).c_str());
}

}  // namespace
