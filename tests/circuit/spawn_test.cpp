// tests/circuit/spawn_test.cpp: weft::spawn against a real weftd: results,
// exceptions, killed workers, anchors (through the real weft command),
// daemonize, many spawns at once. This binary is its own worker: main
// runs the spawned function when a weftd started it (weft::is_worker).
#include <gtest/gtest.h>

#include <signal.h>

#include <atomic>
#include <chrono>
#include <stdexcept>
#include <string>
#include <vector>

#include <weft/circuit.hpp>
#include <weft/remote.hpp>
#include <weft/weft.hpp>

#include "remote/weftd_fixture.hpp"

namespace {

using namespace std::chrono_literals;

std::string repeat(std::string s, int n) {
  std::string out;
  for (int i = 0; i < n; ++i) out += s;
  return out;
}
WEFT_SPAWNABLE(repeat);

int fails(int code) {
  if (code == 1) throw std::out_of_range("index " + std::to_string(code) + " out of range");
  if (code == 2) throw 42;
  return code;
}
WEFT_SPAWNABLE(fails);

// Parks until the remote channel `name` is closed or sent to.
int waits_on(std::string name) {
  weft::remote::chan<int> c(name);
  auto v = c.recv();
  return v ? *v : -1;
}
WEFT_SPAWNABLE(waits_on);

// Returns at once, but lives on until the channel `name` gives a value.
int daemon_on(std::string name) {
  weft::daemonize([name] {
    weft::remote::chan<int> c(name);
    c.recv();
  });
  return 7;
}
WEFT_SPAWNABLE(daemon_on);

int not_registered(int x) { return x; }

class Spawn : public weft_test::weftd_test {
 protected:
  std::string ls(const std::string& selector) {
    weft_test::command c({WEFT_TEST_WEFT, "ls", "--runtime", address(), selector});
    EXPECT_EQ(c.wait(), 0) << c.err();
    return c.out();
  }
};

TEST_F(Spawn, RunsTheFunctionInAWorkerAndReturnsItsResult) {
  weft::run(
      [] {
        weft::spawned<std::string> w = weft::spawn({}, repeat, "ab", 3);
        EXPECT_EQ(w.get(), "ababab");
        EXPECT_EQ(w.get(), "ababab");  // again: the same value
        weft::worker k = w.worker();
        EXPECT_EQ(k.id().size(), 17u);
        EXPECT_EQ(k.id()[0], 'R');
        EXPECT_GT(k.pid(), 0);
        EXPECT_NE(k.pid(), ::getpid());
        EXPECT_EQ(k.wait(), 0);  // it exits once its function has returned
      },
      attached());
}

TEST_F(Spawn, AFunctionThatThrowsGivesRemoteExceptionWithTheTypeName) {
  weft::run(
      [] {
        try {
          weft::spawn({}, fails, 1).get();
          ADD_FAILURE() << "no exception";
        } catch (const weft::remote_exception& e) {
          EXPECT_EQ(e.type_name(), "std::out_of_range");
          EXPECT_STREQ(e.what(), "index 1 out of range");
        }
        try {
          weft::spawn({}, fails, 2).get();
          ADD_FAILURE() << "no exception";
        } catch (const weft::remote_exception& e) {
          EXPECT_EQ(e.type_name(), "int");
          EXPECT_STREQ(e.what(), "");
        }
        EXPECT_EQ(weft::spawn({}, fails, 5).get(), 5);
      },
      attached());
}

TEST_F(Spawn, AWorkerKilledMidCallGivesRemoteErrorLostAndLeavesItsAnchor) {
  weft::run(
      [this] {
        weft::spawned<int> w = weft::spawn({.anchors = {"/test/kill"}}, waits_on, std::string("never"));
        weft::worker k = w.worker();
        EXPECT_EQ(ls("/test/kill"), "/test/kill/" + k.id() + "\n");
        auto t0 = std::chrono::steady_clock::now();
        k.kill_hard();
        try {
          w.get();
          ADD_FAILURE() << "no exception";
        } catch (const weft::remote_error& e) {
          EXPECT_EQ(e.kind(), weft::remote_errc::lost) << e.what();
          EXPECT_NE(std::string(e.what()).find("SIGKILL"), std::string::npos) << e.what();
        }
        EXPECT_LT(std::chrono::steady_clock::now() - t0, 3s);
        EXPECT_EQ(k.wait(), 128 + SIGKILL);
        EXPECT_EQ(ls("/test/..."), "");
      },
      attached());
}

TEST_F(Spawn, AnchorsListEachWorkerUnderEachOfItsAnchorsAndSubtrees) {
  weft::run(
      [this] {
        weft::remote::chan<int> go("anchors-go");
        auto a = weft::spawn({.anchors = {"/db/shard", "/all"}}, waits_on, std::string("anchors-go"));
        auto b = weft::spawn({.anchors = {"/db/shard/"}}, waits_on, std::string("anchors-go"));
        auto c = weft::spawn({.anchors = {"/db/index"}}, waits_on, std::string("anchors-go"));
        std::string ia = a.worker().id(), ib = b.worker().id(), ic = c.worker().id();
        std::vector<std::string> shard = {"/db/shard/" + ia, "/db/shard/" + ib};
        std::sort(shard.begin(), shard.end());
        EXPECT_EQ(ls("/db/shard"), shard[0] + "\n" + shard[1] + "\n");
        std::vector<std::string> db = {"/db/index/" + ic, shard[0], shard[1]};
        std::sort(db.begin(), db.end());
        EXPECT_EQ(ls("/db/..."), db[0] + "\n" + db[1] + "\n" + db[2] + "\n");
        EXPECT_EQ(ls("/all"), "/all/" + ia + "\n");
        EXPECT_EQ(ls("/db"), "");  // only direct entries: none at /db itself
        EXPECT_EQ(ls("/nothing/..."), "");
        for (int i = 0; i < 3; ++i) go.send(i);
        int sum = a.get() + b.get() + c.get();
        EXPECT_EQ(sum, 0 + 1 + 2);
        a.worker().wait();
        b.worker().wait();
        c.worker().wait();
        EXPECT_EQ(ls("/..."), "");
      },
      attached());
}

TEST_F(Spawn, ADaemonizedWorkerLivesUntilItsGoroutineReturns) {
  weft::run(
      [this] {
        weft::remote::chan<int> stop("daemon-stop");
        auto w = weft::spawn({.anchors = {"/daemon"}}, daemon_on, std::string("daemon-stop"));
        EXPECT_EQ(w.get(), 7);
        weft::worker k = w.worker();
        weft::this_goroutine::sleep_for(100ms);
        EXPECT_EQ(ls("/daemon"), "/daemon/" + k.id() + "\n");  // still alive after its function returned
        stop.send(1);
        EXPECT_EQ(k.wait(), 0);
        EXPECT_EQ(ls("/daemon"), "");
      },
      attached());
}

TEST_F(Spawn, GracefulKillEndsAWorkerWithSigterm) {
  weft::run(
      [] {
        auto w = weft::spawn({}, waits_on, std::string("kill-graceful"));
        weft::worker k = w.worker();
        k.kill();
        EXPECT_EQ(k.wait(), 128 + SIGTERM);
        EXPECT_THROW(w.get(), weft::remote_error);
      },
      attached());
}

TEST_F(Spawn, ManyGoroutinesSpawnAtOnce) {
  weft::run(
      [] {
        constexpr int n = 16;
        std::vector<weft::spawned<int>> ws;
        std::atomic<int> sum{0};
        weft::wait_group wg;
        for (int i = 0; i < n; ++i) {
          wg.add(1);
          weft::go([i, &sum, &wg] {
            sum += weft::spawn({}, fails, 100 + i).get();
            wg.done();
          });
        }
        wg.wait();
        EXPECT_EQ(sum.load(), n * 100 + n * (n - 1) / 2);
      },
      attached());
}

TEST_F(Spawn, MisuseAndRefusalsSayWhatIsWrong) {
  weft::run(
      [] {
        try {
          weft::spawn({}, not_registered, 1);
          ADD_FAILURE() << "no exception";
        } catch (const weft::misuse_error& e) {
          EXPECT_NE(std::string(e.what()).find("WEFT_SPAWNABLE"), std::string::npos) << e.what();
        }
        try {
          weft::spawn({.anchors = {"no-slash"}}, fails, 0).get();
          ADD_FAILURE() << "no exception";
        } catch (const weft::remote_error& e) {
          EXPECT_EQ(e.kind(), weft::remote_errc::refused);
          EXPECT_NE(std::string(e.what()).find("no-slash"), std::string::npos) << e.what();
        }
        try {
          weft::spawn({.host = "elsewhere.example"}, fails, 0).get();
          ADD_FAILURE() << "no exception";
        } catch (const weft::remote_error& e) {
          EXPECT_EQ(e.kind(), weft::remote_errc::refused);
          EXPECT_NE(std::string(e.what()).find("elsewhere.example"), std::string::npos) << e.what();
        }
        EXPECT_THROW(weft::worker("R0000000000000000", "").wait(), weft::remote_error);
      },
      attached());
}

}  // namespace

int main(int argc, char** argv) {
  if (weft::is_worker()) return weft::run([] {});
  ::testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}
