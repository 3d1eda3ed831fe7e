// tests/circuit/xref_trace_test.cpp: weft trace of two workers, one of
// which calls the other through an xref while both are traced, into one
// file (-o with several processes: wire/trace_merge.hpp). The merged
// document holds both processes; each call is one flow whose start is on
// the caller's pid and whose end is on the callee's (trace_log.hpp's xref
// flows), as many as the calls made, and each end comes no earlier than
// its start (the two documents' clocks are aligned). Without the flow
// events, or without the merge, the check fails. This binary is its own
// worker: main runs the spawned function when a weftd started it.
#include <gtest/gtest.h>

#include <cstdio>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <weft/circuit.hpp>
#include <weft/remote.hpp>
#include <weft/weft.hpp>

#include "remote/weftd_fixture.hpp"
#include "weft_cli_util.hpp"

#if !defined(WEFT_TEST_WEFT) || !defined(WEFT_TEST_WEFTD)
#error "tests/CMakeLists.txt defines WEFT_TEST_WEFT and WEFT_TEST_WEFTD for this test"
#endif

namespace {

using namespace std::chrono_literals;

constexpr int calls = 5;  // the caller's, while traced

struct xt_tally {
  int add(int d) { return total += d; }
  int total = 0;
};
WEFT_CROSS(xt_tally, add);

// Serves an xt_tally as "xt-tally" until the remote channel `stop` gives a value.
int xt_serve(std::string stop) {
  weft::listen("xt-tally", weft::ref(std::make_shared<xt_tally>()));
  weft::daemonize([stop] { weft::remote::chan<int>(stop).recv(); });
  return 0;
}
WEFT_SPAWNABLE(xt_serve);

// Dials the server, says so on `ready` (it is attached and listed then),
// waits for a value on `go`, makes n calls one after the other, says n on
// `done`, and returns the server's total once `go` gives a second value.
int xt_call(std::string server, std::string ready, std::string go, std::string done, int n) {
  auto t = weft::dial<xt_tally>(server, "xt-tally");
  weft::remote::chan<int>(ready).send(1);
  weft::remote::chan<int>(go).recv();
  int total = 0;
  for (int i = 1; i <= n; ++i) total = t.call<&xt_tally::add>(i).get();
  weft::remote::chan<int>(done).send(n);
  weft::remote::chan<int>(go).recv();  // lives until the trace is over: a worker gone answers no TRACE
  return total;
}
WEFT_SPAWNABLE(xt_call);

// argv: file, caller pid, server pid, calls. "ok ..." or "FAIL why".
const char* const check_flows = R"PY(
import json, sys
ev = json.load(open(sys.argv[1]))["traceEvents"]
caller, server, n = int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
def fail(why):
    print("FAIL", why); sys.exit(1)
pids = {e.get("pid") for e in ev}
if caller not in pids or server not in pids: fail("pids %r, not both of %d and %d" % (pids, caller, server))
names = {e["pid"]: e["args"]["name"] for e in ev if e.get("ph") == "M" and e.get("name") == "process_name"}
if "/xt/caller/" not in names.get(caller, ""): fail("the caller's process is named %r" % names.get(caller))
starts = {e["id"]: e for e in ev if e.get("ph") == "s" and e.get("cat") == "xref"}
ends = {e["id"]: e for e in ev if e.get("ph") == "f" and e.get("cat") == "xref"}
if len(starts) != n or len(ends) != n: fail("%d flow starts and %d ends for %d calls" % (len(starts), len(ends), n))
if set(starts) != set(ends): fail("flow ids differ: %r vs %r" % (sorted(starts), sorted(ends)))
for i, s in starts.items():
    f = ends[i]
    if s["pid"] != caller: fail("flow %s starts on pid %d" % (i, s["pid"]))
    if f["pid"] != server: fail("flow %s ends on pid %d" % (i, f["pid"]))
    if f.get("bp") != "e": fail("flow %s's end does not bind to its enclosing slice" % i)
    if f["ts"] < s["ts"]: fail("flow %s ends at %.3f before it starts at %.3f" % (i, f["ts"], s["ts"]))
calls = [e for e in ev if e.get("ph") == "b" and e.get("name") == "xref call" and e["pid"] == caller]
serves = [e for e in ev if e.get("ph") == "b" and e.get("name") == "xref serve" and e["pid"] == server]
if len(calls) != n or len(serves) != n: fail("%d call and %d serve slices" % (len(calls), len(serves)))
print("ok %d flows" % n)
)PY";

class XrefTrace : public weft_test::weftd_test {
 protected:
  std::unique_ptr<weft_test::command> weft(std::vector<std::string> args) {
    return weft_test::run_weft(WEFT_TEST_WEFT, std::move(args), address(), 30s);
  }
  // Waits until the worker says it is tracing.
  void wait_tracing(const std::string& id) {
    std::string out;
    for (int i = 0; i < 500; ++i) {
      out = weft({"peek", id})->out();
      if (out.find("\"tracing\":true") != std::string::npos) return;
      std::this_thread::sleep_for(20ms);
    }
    ADD_FAILURE() << id << " never said it was tracing: " << out;
  }
};

TEST_F(XrefTrace, CallsBetweenTwoWorkersAreFlowsAcrossTheirPidsInOneFile) {
  weft::run(
      [this] {
        weft::remote::chan<int> ready("xt-ready"), go("xt-go"), done("xt-done"), stop("xt-stop");
        auto s = weft::spawn({.anchors = {"/xt/server"}}, xt_serve, std::string("xt-stop"));
        ASSERT_EQ(s.get(), 0);
        auto c = weft::spawn({.anchors = {"/xt/caller"}}, xt_call, s.worker().id(), std::string("xt-ready"), std::string("xt-go"),
                             std::string("xt-done"), calls);
        ASSERT_EQ(ready.recv().value_or(-1), 1);
        const std::string file = "/tmp/weft-xref-trace-" + std::to_string(::getpid()) + ".json";
        auto trace = weft_test::start_weft(WEFT_TEST_WEFT, {"trace", "/xt/...", "--seconds", "3", "-o", file},
                                           address());
        wait_tracing(s.worker().id());
        wait_tracing(c.worker().id());
        go.send(1);
        EXPECT_EQ(done.recv().value_or(-1), calls);
        EXPECT_EQ(trace->wait(60s), 0) << trace->err();
        EXPECT_NE(trace->out().find("trace in " + file), std::string::npos) << trace->out();
        weft_test::command py({"/usr/bin/env", "python3", "-c", check_flows, file, std::to_string(c.worker().pid()),
                               std::to_string(s.worker().pid()), std::to_string(calls)});
        py.wait(60s);
        EXPECT_EQ(py.out().rfind("ok ", 0), 0u) << py.out() << py.err();
        go.send(2);
        EXPECT_EQ(c.get(), calls * (calls + 1) / 2);
        stop.send(0);
        s.worker().wait();
        c.worker().wait();
        std::remove(file.c_str());
      },
      attached());
}

}  // namespace

int main(int argc, char** argv) {
  if (weft::is_worker()) return weft::run([] {});
  ::testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}
