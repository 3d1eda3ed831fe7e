// `weft trace` against a real weftd and real attached programs
// (tests/tools/trace_target_prog.cpp): a trace of two goroutines that
// ping-pong on channels holds their tracks, blocks and channel operations
// within the window, and recording is off after it; a second trace while
// one runs is refused, as is one of a process that streams to a trace
// logger (weftd --trace); a bad duration is a usage error; a target killed
// mid-trace is an error within the usual bound, and weftd goes on; a
// program that outruns the size cap gets a trace that says how much it
// dropped.
#include <gtest/gtest.h>

#include <signal.h>

#include <cstdio>
#include <cstdlib>
#include <string>

#include "remote/weftd_fixture.hpp"
#include "weft_cli_util.hpp"

#if !defined(WEFT_TEST_WEFT) || !defined(WEFT_TEST_TRACE_PROG)
#error "tests/CMakeLists.txt defines WEFT_TEST_WEFT and WEFT_TEST_TRACE_PROG for this test"
#endif

namespace {

using namespace std::chrono_literals;
using weft_test::command;
using weft_test::pid_selector;

// Checks a trace file with python3 (json.load: the whole document must
// parse). Its output: "ok ..." or "FAIL why".
const char* const check_ping_pong = R"PY(
import json, sys
doc = json.load(open(sys.argv[1]))
ev = doc["traceEvents"]
def fail(why):
    print("FAIL", why); sys.exit(1)
tids = {e["args"]["name"]: e["tid"] for e in ev if e.get("ph") == "M" and e.get("name") == "thread_name"}
for want in ["pinger", "ponger"]:
    if want not in tids: fail("no track named %r in %r" % (want, sorted(tids)))
procs = [e["args"]["name"] for e in ev if e.get("ph") == "M" and e.get("name") == "process_name"]
if not any("trace_target_prog (pid " in p for p in procs): fail("no process track: %r" % procs)
for who in ["pinger", "ponger"]:
    mine = [e for e in ev if e.get("tid") == tids[who] and e.get("ph") != "M"]
    if not any(e.get("ph") == "X" and e["name"] == "running" for e in mine): fail(who + " never ran")
    if not any(e.get("cat") == "block" and e["name"] == "chan receive" for e in mine): fail(who + " never blocked")
    if not any(e["name"] == "chan send" for e in mine): fail(who + " never sent")
    if not any(e["name"] == "chan receive" and e.get("ph") == "i" for e in mine): fail(who + " never received")
# Within the window: ts 0 is the first event; nothing after the duration
# (1 s), give or take a drain and a slow sanitizer build.
last = max(e["ts"] + e.get("dur", 0) for e in ev if "ts" in e)
if last > float(sys.argv[2]) * 1e6: fail("an event at %.0f us, after the window" % last)
if any(e.get("ph") == "X" and e["dur"] < 0 for e in ev): fail("negative duration")
if any("events dropped" in e.get("name", "") for e in ev): fail("events dropped")
print("ok %d events, last at %.0f us" % (len(ev), last))
)PY";

class WeftTrace : public weft_test::weftd_test {
 protected:
  // Runs `weft ARGS... --runtime ADDR` to its end (60 s at most).
  std::unique_ptr<command> weft(std::vector<std::string> args, const std::string& runtime = "") {
    return weft_test::run_weft(WEFT_TEST_WEFT, std::move(args), runtime.empty() ? address() : runtime, 60s);
  }
  // `weft trace ...` started, not waited for.
  std::unique_ptr<command> start_trace(std::vector<std::string> args) {
    args.insert(args.begin(), "trace");
    return weft_test::start_weft(WEFT_TEST_WEFT, std::move(args), address());
  }
  // Starts trace_target_prog attached to `runtime` (default: the
  // fixture's weftd); waits until that weftd lists it.
  std::unique_ptr<command> program(const std::string& mode = "", const std::string& runtime = "") {
    const std::string at = runtime.empty() ? address() : runtime;
    std::vector<std::string> argv{WEFT_TEST_TRACE_PROG};
    if (!mode.empty()) argv.push_back(mode);
    return weft_test::start_listed(WEFT_TEST_WEFT, std::move(argv), at, 60s);
  }
  // What weft peek says of p's "tracing".
  std::string tracing(const command& p) {
    std::string out = weft({"peek", pid_selector(p)})->out();
    std::size_t at = out.find("\"tracing\":");
    return at == std::string::npos ? "absent in " + out : out.substr(at + 10, out.find_first_of(",}", at) - at - 10);
  }
  // Waits until p says it is tracing (asking once more could miss it:
  // the trace may end meanwhile on a slow sanitizer build).
  void wait_tracing(const command& p) {
    std::string said;
    for (int i = 0; i < 200 && (said = tracing(p)) != "true"; ++i) std::this_thread::sleep_for(20ms);
    ASSERT_EQ(said, "true");
  }
  static std::string temp_file(const char* what) {
    return "/tmp/weft-trace-test-" + std::to_string(::getpid()) + "-" + what + ".json";
  }
  // python3 check_ping_pong on path; "ok ..." or why not.
  static std::string check(const std::string& path, double window_s) {
    command py({"/usr/bin/env", "python3", "-c", check_ping_pong, path, std::to_string(window_s)});
    py.wait(60s);
    return py.out() + py.err();
  }
};

TEST_F(WeftTrace, RecordsThePingPongForTheWindowAndThenStops) {
  auto p = program();
  ASSERT_EQ(tracing(*p), "false");
  const std::string file = temp_file("window");
  auto t = weft({"trace", pid_selector(*p), "--seconds", "1", "-o", file});
  EXPECT_EQ(t->wait(), 0) << t->err();
  EXPECT_NE(t->err().find("weft trace: recording " + pid_selector(*p) + " for 1 s..."), std::string::npos) << t->err();
  // The trace logger's summary: the program's channels and blocks.
  EXPECT_NE(t->err().find("weft trace: trace_target_prog (pid " + std::to_string(p->pid()) + "): "),
            std::string::npos)
      << t->err();
  EXPECT_NE(t->err().find("busiest channels"), std::string::npos) << t->err();
  EXPECT_NE(t->err().find("goroutine"), std::string::npos) << t->err();
  EXPECT_NE(
      t->out().find("weft trace: " + pid_selector(*p) + ": trace in " + file + " (open it in https://ui.perfetto.dev)"),
      std::string::npos)
      << t->out();
  const std::string verdict = check(file, 2.5);
  EXPECT_EQ(verdict.rfind("ok ", 0), 0u) << verdict;
  // Recording is off again, and the program runs on.
  EXPECT_EQ(tracing(*p), "false");
  EXPECT_EQ(p->wait(0ms), -1) << p->err();
  std::remove(file.c_str());
}

TEST_F(WeftTrace, ASecondTraceWhileOneRunsIsRefused) {
  auto p = program();
  // The first writes to the default file, in the current directory.
  const std::string default_file = "weft-trace-" + std::to_string(p->pid()) + ".json";
  std::remove(default_file.c_str());
  // Long enough that the second starts while it runs, even under TSan.
  auto first = start_trace({pid_selector(*p), "--seconds", "5"});
  wait_tracing(*p);
  auto second = weft({"trace", pid_selector(*p), "--seconds", "1", "-o", temp_file("second")});
  EXPECT_EQ(second->wait(), 1) << second->err();
  EXPECT_NE(second->err().find("weft trace: " + pid_selector(*p) + ": pid " + std::to_string(p->pid()) +
                               ": a trace of this process is being recorded for another request"),
            std::string::npos)
      << second->err();
  EXPECT_EQ(first->wait(30s), 0) << first->err();
  const std::string verdict = check(default_file, 6.5);
  EXPECT_EQ(verdict.rfind("ok ", 0), 0u) << verdict;
  std::remove(default_file.c_str());
  // Once it is over, the next one is served.
  const std::string file = temp_file("third");
  auto third = weft({"trace", pid_selector(*p), "--seconds", "0.3", "-o", file});
  EXPECT_EQ(third->wait(), 0) << third->err();
  EXPECT_NE(third->err().find("recording " + pid_selector(*p) + " for 0.3 s..."), std::string::npos) << third->err();
  std::remove(file.c_str());
}

TEST_F(WeftTrace, AProcessThatStreamsToATraceLoggerRefuses) {
  // A weftd of its own with a trace logger: its programs stream to it.
  const std::string base = "/tmp/weft-trace-test-" + std::to_string(::getpid()) + "-logger";
  const std::string sock = base + ".sock", log_file = base + ".json";
  pid_t logger = weft_test::spawn_process({WEFT_TEST_WEFTD, "--listen", "unix:" + sock, "--trace", log_file});
  ASSERT_GT(logger, 0);
  for (int i = 0; i < 5000 && !weft_test::unix_socket_answers(sock); ++i) std::this_thread::sleep_for(2ms);
  {
    auto p = program("", "unix:" + sock);
    auto t = weft({"trace", pid_selector(*p), "--seconds", "1", "-o", temp_file("logger")}, "unix:" + sock);
    EXPECT_EQ(t->wait(), 1) << t->err();
    EXPECT_NE(t->err().find("streams its runtime events to its weftd's trace logger already"), std::string::npos)
        << t->err();
  }
  ::kill(logger, SIGKILL);
  ::waitpid(logger, nullptr, 0);
  ::unlink(sock.c_str());
  std::remove(log_file.c_str());
}

TEST_F(WeftTrace, ABadDurationOrOutputIsAUsageError) {
  for (const char* s : {"0", "601", "-1", "soon"}) {
    auto t = weft({"trace", "pid:1", "--seconds", s});
    EXPECT_EQ(t->wait(), 2) << s << ": " << t->err();
    EXPECT_NE(t->err().find("--seconds"), std::string::npos) << s << ": " << t->err();
  }
  auto twice = weft({"trace", "pid:1", "pid:1"});
  EXPECT_EQ(twice->wait(), 2);
  EXPECT_NE(twice->err().find("pid:1 is named twice"), std::string::npos) << twice->err();
  auto help = std::make_unique<command>(std::vector<std::string>{WEFT_TEST_WEFT, "trace", "--help"});
  EXPECT_EQ(help->wait(), 0);
  EXPECT_NE(help->out().find("weft trace pid:4242 --seconds 2 -o slow-start.json"), std::string::npos) << help->out();
  EXPECT_NE(help->out().find("https://ui.perfetto.dev"), std::string::npos) << help->out();
}

TEST_F(WeftTrace, ATargetKilledMidTraceIsAnErrorAndWeftdGoesOn) {
  auto p = program();
  auto t = start_trace({pid_selector(*p), "--seconds", "5", "-o", temp_file("killed")});
  wait_tracing(*p);
  ::kill(p->pid(), SIGKILL);
  auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(t->wait(10s), 1) << t->err();
  EXPECT_LT(std::chrono::steady_clock::now() - start, 3s);
  EXPECT_NE(t->err().find("detached before answering TRACE"), std::string::npos) << t->err();
  // weftd serves the next program's trace.
  auto q = program();
  const std::string file = temp_file("after");
  auto again = weft({"trace", pid_selector(*q), "--seconds", "0.5", "-o", file});
  EXPECT_EQ(again->wait(), 0) << again->err();
  std::remove(file.c_str());
}

TEST_F(WeftTrace, AProgramThatOutrunsTheCapGetsATraceThatSaysWhatItDropped) {
  auto p = program("flood");
  const std::string file = temp_file("flood");
  auto t = weft({"trace", pid_selector(*p), "--seconds", "2", "-o", file});
  // Encoding a full recording takes seconds in a sanitizer build on a
  // loaded machine: wait as long as weftd allows it (2 s + 25 s).
  EXPECT_EQ(t->wait(40s), 0) << t->err();
  EXPECT_NE(t->err().find("dropped (the trace reached its size cap)"), std::string::npos) << t->err();
  command py({"/usr/bin/env", "python3", "-c",
              "import json,os,sys\n"
              "doc = json.load(open(sys.argv[1]))\n"
              "notes = [e['name'] for e in doc['traceEvents'] if 'reached its cap' in e.get('name', '')]\n"
              "size = os.path.getsize(sys.argv[1])\n"
              "print('ok' if len(notes) == 1 and size <= 12 << 20 else 'FAIL', size, notes)\n",
              file});
  py.wait(60s);
  EXPECT_EQ(py.out().rfind("ok ", 0), 0u) << py.out() << py.err();
  EXPECT_NE(py.out().find("events dropped: the trace reached its cap of 12 MiB"), std::string::npos) << py.out();
  std::remove(file.c_str());
}

}  // namespace
