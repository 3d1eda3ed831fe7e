// tests/circuit/weft_ops_test.cpp: the weft command's control subcommands
// (stk, peek, cpu, trace, top, logs, kill) selecting circuit workers by
// anchor, subtree and worker id, against a real weftd and real workers: the weftd maps each
// worker to the process its stub attached (Control LIST's worker_id), and
// the output names each worker. stk groups goroutines with one stack.
// The failures: an anchor with no live worker, an id no worker has, both
// exit status 1 with a message. This binary is its own worker: main runs
// the spawned function when a weftd started it (weft::is_worker).
#include <gtest/gtest.h>

#include <sys/stat.h>

#include <string>
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

[[gnu::noinline]] void ops_parked_here(weft::chan<int> never) {
  never.recv();
  asm volatile("");  // not a tail call: this frame stays on the stack
}

// Parks n goroutines named "ops-parked-I" in ops_parked_here, says so on
// the remote channel `ready`, and returns once `stop` gives a value.
int parks(int n, std::string ready, std::string stop) {
  weft::chan<int> never;
  for (int i = 0; i < n; ++i)
    weft::go(weft::go_options{.name = "ops-parked-" + std::to_string(i)}, ops_parked_here, never);
  weft::remote::chan<int>(ready).send(n);
  weft::remote::chan<int>(stop).recv();
  return n;
}
WEFT_SPAWNABLE(parks);

std::size_t count(const std::string& text, const std::string& needle) {
  std::size_t n = 0;
  for (std::size_t at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) ++n;
  return n;
}

class WeftOps : public weft_test::weftd_test {
 protected:
  // Runs `weft ARGS... --runtime ADDR` to its end.
  std::unique_ptr<weft_test::command> weft(std::vector<std::string> args) {
    return weft_test::run_weft(WEFT_TEST_WEFT, std::move(args), address(), 30s);
  }
  // A worker under `anchor` with n goroutines parked, once they are.
  weft::spawned<int> worker(const std::string& anchor, int n, const std::string& tag) {
    weft::remote::chan<int> ready("ops-ready-" + tag);
    auto w = weft::spawn({.anchors = {anchor}}, parks, n, "ops-ready-" + tag, "ops-stop-" + tag);
    EXPECT_EQ(ready.recv().value_or(-1), n);
    return w;
  }
  static void stop(weft::spawned<int>& w, const std::string& tag) {
    weft::remote::chan<int>("ops-stop-" + tag).send(0);
    w.get();
    w.worker().wait();
  }
};

TEST_F(WeftOps, StkByAnchorGroupsTheWorkersGoroutinesAndAllListsEach) {
  weft::run(
      [this] {
        auto ten = worker("/ops/ten", 10, "ten");
        auto two = worker("/ops/two", 2, "two");
        const std::string id = ten.worker().id();
        auto stk = weft({"stk", "/ops/ten"});
        EXPECT_EQ(stk->wait(), 0) << stk->err();
        std::string out = stk->out();
        EXPECT_NE(out.find("== /ops/ten/" + id + " (pid " + std::to_string(ten.worker().pid()) + ") =="),
                  std::string::npos)
            << out;
        EXPECT_EQ(count(out, "10 goroutines: [chan receive]\n"), 1u) << out;
        EXPECT_EQ(count(out, "ops_parked_here("), 1u) << out;
        EXPECT_NE(out.find("\"ops-parked-0\""), std::string::npos) << "the # line names them: " << out;
        EXPECT_EQ(out.find("/ops/two/"), std::string::npos) << "only the anchor asked for: " << out;

        auto all = weft({"stk", "--all", "/ops/ten"});
        EXPECT_EQ(all->wait(), 0) << all->err();
        out = all->out();
        EXPECT_EQ(count(out, "ops_parked_here("), 10u) << out;
        EXPECT_EQ(count(out, "goroutines:"), 0u) << out;
        EXPECT_NE(out.find("\"ops-parked-9\" [chan receive"), std::string::npos) << out;

        // A subtree: each worker under its own header.
        auto both = weft({"stk", "/ops/..."});
        EXPECT_EQ(both->wait(), 0) << both->err();
        out = both->out();
        EXPECT_NE(out.find("== /ops/ten/" + id), std::string::npos) << out;
        EXPECT_NE(out.find("== /ops/two/" + two.worker().id()), std::string::npos) << out;
        EXPECT_EQ(count(out, "2 goroutines: [chan receive]\n"), 1u) << out;

        auto json = weft({"stk", "--json", "/ops/two"});
        EXPECT_EQ(json->wait(), 0) << json->err();
        EXPECT_NE(json->out().find("\"worker\":\"" + two.worker().id() + "\""), std::string::npos) << json->out();
        stop(ten, "ten");
        stop(two, "two");
      },
      attached());
}

TEST_F(WeftOps, PeekByWorkerIdNamesTheWorker) {
  weft::run(
      [this] {
        auto w = worker("/ops/peek", 3, "peek");
        const std::string id = w.worker().id();
        auto peek = weft({"peek", id});
        EXPECT_EQ(peek->wait(), 0) << peek->err();
        EXPECT_NE(peek->out().find("{\"worker\":\"" + id + "\",\"pid\":" + std::to_string(w.worker().pid()) + ","),
                  std::string::npos)
            << peek->out();
        auto by_anchor = weft({"peek", "/ops/peek"});
        EXPECT_EQ(by_anchor->wait(), 0) << by_anchor->err();
        EXPECT_NE(by_anchor->out().find("\"anchor\":\"/ops/peek/" + id + "\""), std::string::npos)
            << by_anchor->out();
        // ps names the worker its process is.
        auto ps = weft({"ps", "--json"});
        EXPECT_NE(ps->out().find("\"worker_id\":\"" + id + "\""), std::string::npos) << ps->out();
        stop(w, "peek");
      },
      attached());
}

TEST_F(WeftOps, CpuAndTraceTakeAnAnchor) {
  weft::run(
      [this] {
        auto w = worker("/ops/rec", 1, "rec");
        const std::string pid = std::to_string(w.worker().pid());
        const std::string dir = "/tmp/weft-ops-test-" + std::to_string(::getpid());
        ::mkdir(dir.c_str(), 0700);
        auto trace = weft({"trace", "/ops/rec", "--seconds", "0.2", "-o", dir + "/t.json"});
        EXPECT_EQ(trace->wait(), 0) << trace->err();
        EXPECT_NE(trace->err().find("recording /ops/rec/" + w.worker().id()), std::string::npos) << trace->err();
        struct stat st{};
        EXPECT_EQ(::stat((dir + "/t.json").c_str(), &st), 0);
        auto cpu = weft({"cpu", "/ops/rec", "--seconds", "0.2", "-o", dir + "/c.pb.gz"});
        EXPECT_EQ(cpu->wait(), 0) << cpu->err();
        EXPECT_EQ(::stat((dir + "/c.pb.gz").c_str(), &st), 0);
        std::string rm = "rm -rf '" + dir + "'";
        EXPECT_EQ(std::system(rm.c_str()), 0);
        stop(w, "rec");
      },
      attached());
}

TEST_F(WeftOps, AnAnchorOrIdWithNoWorkerExitsOneSayingSo) {
  weft::run(
      [this] {
        auto w = worker("/ops/here", 1, "here");
        auto stk = weft({"stk", "/ops/nothing", "/ops/here"});
        EXPECT_EQ(stk->wait(), 1);
        EXPECT_NE(stk->err().find("weft stk: /ops/nothing: no live worker there (weft ls /ops/nothing)"),
                  std::string::npos)
            << stk->err();
        EXPECT_NE(stk->out().find("== /ops/here/" + w.worker().id()), std::string::npos)
            << "the good selector is still acted on: " << stk->out();
        auto peek = weft({"peek", "R0123456789abcdef"});
        EXPECT_EQ(peek->wait(), 1);
        EXPECT_NE(peek->err().find("weft peek: R0123456789abcdef: worker R0123456789abcdef is not attached"),
                  std::string::npos)
            << peek->err();
        auto bad = weft({"stk", "Rnothex"});
        EXPECT_EQ(bad->wait(), 2);
        EXPECT_NE(bad->err().find("is not a worker id"), std::string::npos) << bad->err();
        stop(w, "here");
      },
      attached());
}

TEST_F(WeftOps, TopLogsAndKillTakeWorkersAndPrintJson) {
  weft::run(
      [this] {
        auto w = worker("/ops/top", 2, "top");
        const std::string id = w.worker().id();
        auto top = weft({"top", "--once", "--json", "--interval", "0.3", "/ops/top"});
        EXPECT_EQ(top->wait(), 0) << top->err();
        EXPECT_NE(top->out().find("{\"target\":\"/ops/top/" + id + "\",\"pid\":" + std::to_string(w.worker().pid()) +
                                  ",\"worker\":\"" + id + "\",\"anchor\":\"/ops/top/" + id + "\",\"cpu_pct\":"),
                  std::string::npos)
            << top->out();
        // The per-goroutine view of one worker, by its id.
        auto one = weft({"top", "--once", "-g", "--interval", "0.3", id});
        EXPECT_EQ(one->wait(), 0) << one->err();
        EXPECT_EQ(one->out().rfind(id + " (pid " + std::to_string(w.worker().pid()) + "): ", 0), 0u) << one->out();
        auto logs = weft({"logs", "--json", id});
        EXPECT_EQ(logs->wait(), 0) << logs->err();
        EXPECT_EQ(logs->out().rfind("{\"target\":\"" + id + "\",\"worker\":\"" + id + "\",\"anchor\":\"\",\"ok\":true,\"logs\":", 0),
                  0u)
            << logs->out();
        auto kill = weft({"kill", "--json", "/ops/top"});
        EXPECT_EQ(kill->wait(), 0) << kill->err();
        EXPECT_EQ(kill->out().rfind("{\"target\":\"/ops/top/" + id + "\",\"worker\":\"" + id +
                                        "\",\"anchor\":\"/ops/top/" + id + "\",\"ok\":true,\"outcome\":\"",
                                    0),
                  0u)
            << kill->out();
        EXPECT_NE(kill->out().find("\"status\":"), std::string::npos) << kill->out();
        w.worker().wait();
      },
      attached());
}

}  // namespace

int main(int argc, char** argv) {
  if (weft::is_worker()) return weft::run([] {});
  ::testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}
