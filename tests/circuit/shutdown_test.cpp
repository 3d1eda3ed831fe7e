// tests/circuit/shutdown_test.cpp: weft::on_shutdown and a graceful
// `weft kill`, against a real weftd and real workers, and in a plain
// program under SIGTERM.
//
// Workers (this binary, started by weftd) register a hook that blocks
// 200 ms and writes a file: `weft kill` waits for it and says the worker
// "exited after its shutdown hooks"; a hook that never returns is cut off
// by weftd's SIGKILL at the end of the grace period (--grace 1), and the
// report says so; --hard runs no hook. A plain program (this binary with
// --plain MODE, not attached) shows the exit statuses: exit(143) once the
// hooks returned, killed by SIGTERM at the deadline, on a second SIGTERM
// and with no hook at all; a hook that throws is reported and the others
// still run; one registered while the hooks run runs too.
#include <gtest/gtest.h>

#include <signal.h>
#include <sys/wait.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <weft/circuit.hpp>
#include <weft/remote.hpp>
#include <weft/shutdown.hpp>
#include <weft/weft.hpp>

#include "remote/weftd_fixture.hpp"
#include "weft_cli_util.hpp"

#if !defined(WEFT_TEST_WEFT) || !defined(WEFT_TEST_WEFTD)
#error "tests/CMakeLists.txt defines WEFT_TEST_WEFT and WEFT_TEST_WEFTD for this test"
#endif

namespace {

using namespace std::chrono_literals;

std::string slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void park_forever() { weft::chan<int>().recv(); }

// A worker: registers a hook that blocks block_ms (< 0: for ever) and then
// writes "hook ran" to `file`; says so on `ready`; never returns.
int hooked(std::string file, int block_ms, std::string ready) {
  weft::on_shutdown([file, block_ms] {
    if (block_ms < 0) park_forever();
    weft::this_goroutine::sleep_for(std::chrono::milliseconds(block_ms));
    std::ofstream(file) << "hook ran";
  });
  weft::remote::chan<int>(ready).send(1);
  park_forever();
  return 0;
}
WEFT_SPAWNABLE(hooked);

class Shutdown : public weft_test::weftd_test {
 protected:
  std::unique_ptr<weft_test::command> weft(std::vector<std::string> args) {
    return weft_test::run_weft(WEFT_TEST_WEFT, std::move(args), address(), 30s);
  }
  std::string file(const std::string& tag) {
    return "/tmp/weft-shutdown-test-" + std::to_string(::getpid()) + "-" + tag;
  }
  // A worker under /shutdown/TAG whose hook blocks block_ms, once it has
  // registered it.
  weft::spawned<int> worker(const std::string& tag, int block_ms) {
    std::remove(file(tag).c_str());
    weft::remote::chan<int> ready("shutdown-ready-" + tag);
    auto w = weft::spawn({.anchors = {"/shutdown/" + tag}}, hooked, file(tag), block_ms, "shutdown-ready-" + tag);
    EXPECT_EQ(ready.recv().value_or(-1), 1);
    return w;
  }
};

TEST_F(Shutdown, GracefulKillWaitsForTheHookAndSaysTheWorkerExitedAfterIt) {
  weft::run(
      [this] {
        auto w = worker("graceful", 200);
        const auto t0 = std::chrono::steady_clock::now();
        auto k = weft({"kill", "/shutdown/graceful"});
        const auto took = std::chrono::steady_clock::now() - t0;
        EXPECT_EQ(k->wait(), 0) << k->err();
        EXPECT_NE(k->out().find(w.worker().id() + ": exited after its shutdown hooks ("), std::string::npos)
            << k->out();
        EXPECT_EQ(slurp(file("graceful")), "hook ran");
        EXPECT_GE(took, 200ms) << "weft kill returned before the hook's 200 ms";
        EXPECT_LT(took, 4s) << "it waited for the grace period instead of the hook";
        EXPECT_EQ(w.worker().wait(), 128 + SIGTERM);
        std::remove(file("graceful").c_str());
      },
      attached());
}

TEST_F(Shutdown, AHookThatNeverReturnsIsCutOffBySigkillAtTheGracePeriod) {
  weft::run(
      [this] {
        auto w = worker("stuck", -1);
        const auto t0 = std::chrono::steady_clock::now();
        auto k = weft({"kill", "--grace", "1", w.worker().id()});
        const auto took = std::chrono::steady_clock::now() - t0;
        EXPECT_EQ(k->wait(), 0) << k->err();
        EXPECT_NE(k->out().find(w.worker().id() + ": killed by SIGKILL after the 1 s grace period"),
                  std::string::npos)
            << k->out();
        EXPECT_NE(k->err().find("SIGKILL after 1 s"), std::string::npos) << k->err();
        EXPECT_GE(took, 1s);
        EXPECT_LT(took, 5s) << "the grace period was not --grace 1";
        EXPECT_EQ(w.worker().wait(), 128 + SIGKILL);
      },
      attached());
}

TEST_F(Shutdown, HardKillRunsNoHook) {
  weft::run(
      [this] {
        auto w = worker("hard", 0);
        auto k = weft({"kill", "--hard", "/shutdown/hard"});
        EXPECT_EQ(k->wait(), 0) << k->err();
        EXPECT_NE(k->out().find(w.worker().id() + ": killed by SIGKILL (weft kill --hard"), std::string::npos)
            << k->out();
        weft::this_goroutine::sleep_for(300ms);
        EXPECT_EQ(slurp(file("hard")), "") << "the hook ran on SIGKILL";
      },
      attached());
}

// ---- a plain program --------------------------------------------------

// Runs this binary with --plain MODE (plain_main below); returns its raw
// wait status once it has said "ready" and got `signals` SIGTERMs, and its
// output.
struct plain_end {
  int status = -1;
  std::string out, err;
  std::chrono::steady_clock::duration took{};
};

std::string self_exe() {
  char buf[4096];
  ssize_t n = ::readlink("/proc/self/exe", buf, sizeof buf - 1);
  return n > 0 ? std::string(buf, static_cast<std::size_t>(n)) : "";
}

plain_end run_plain(const std::string& mode, int signals, const std::vector<std::string>& env = {}) {
  static int n = 0;
  const std::string base = "/tmp/weft-shutdown-plain-" + std::to_string(::getpid()) + "-" + std::to_string(n++);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 1, (base + ".out").c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  posix_spawn_file_actions_addopen(&fa, 2, (base + ".err").c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  std::vector<std::string> e = env;
  e.push_back("WEFT_RUNTIME=");
  pid_t pid = weft_test::spawn_process({self_exe(), "--plain", mode}, e, &fa);
  posix_spawn_file_actions_destroy(&fa);
  plain_end r;
  if (pid <= 0) return r;
  auto wait_for_out = [&](const std::string& text) {
    auto until = std::chrono::steady_clock::now() + 10s;
    while (slurp(base + ".out").find(text) == std::string::npos && std::chrono::steady_clock::now() < until)
      std::this_thread::sleep_for(5ms);
  };
  wait_for_out("ready");
  const auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < signals; ++i) {
    // The second only once the first was handled: two SIGTERMs pending at
    // once are one (a loaded machine can take 50 ms to deliver one).
    if (i > 0) wait_for_out("stuck hook runs");
    ::kill(pid, SIGTERM);
  }
  r.status = weft_test::wait_status(pid, 10s);
  r.took = std::chrono::steady_clock::now() - t0;
  if (r.status == -1) {
    ::kill(pid, SIGKILL);
    ::waitpid(pid, nullptr, 0);
  }
  r.out = slurp(base + ".out");
  r.err = slurp(base + ".err");
  std::remove((base + ".out").c_str());
  std::remove((base + ".err").c_str());
  return r;
}

bool exited_143(int st) { return st != -1 && WIFEXITED(st) && WEXITSTATUS(st) == 128 + SIGTERM; }
bool killed_by_sigterm(int st) { return st != -1 && WIFSIGNALED(st) && WTERMSIG(st) == SIGTERM; }

TEST(ShutdownPlain, SigtermRunsTheHooksThenExits143) {
  plain_end r = run_plain("two", 1);
  EXPECT_TRUE(exited_143(r.status)) << "status " << r.status << "\n" << r.err;
  EXPECT_NE(r.out.find("hook a"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("hook b"), std::string::npos) << "each hook runs, in its own goroutine: " << r.out;
  EXPECT_GE(r.took, 200ms);
}

TEST(ShutdownPlain, AThrowingHookIsReportedAndTheOthersRun) {
  plain_end r = run_plain("throws", 1);
  EXPECT_TRUE(exited_143(r.status)) << "status " << r.status << "\n" << r.err;
  EXPECT_NE(r.err.find("weft: shutdown hook 1 threw std::runtime_error: broken hook"), std::string::npos) << r.err;
  EXPECT_NE(r.out.find("hook b"), std::string::npos) << r.out;
}

TEST(ShutdownPlain, AHookRegisteredDuringTheShutdownRunsToo) {
  plain_end r = run_plain("late", 1);
  EXPECT_TRUE(exited_143(r.status)) << "status " << r.status << "\n" << r.err;
  EXPECT_NE(r.out.find("late hook"), std::string::npos) << r.out;
}

TEST(ShutdownPlain, TheDeadlineKillsByTermAndSaysSo) {
  plain_end r = run_plain("stuck", 1, {"WEFT_SHUTDOWN_GRACE_MS=300"});
  EXPECT_TRUE(killed_by_sigterm(r.status)) << "status " << r.status << "\n" << r.err;
  EXPECT_NE(r.err.find("1 shutdown hook(s) still running 300 ms after SIGTERM"), std::string::npos) << r.err;
  EXPECT_GE(r.took, 300ms);
  EXPECT_LT(r.took, 3s);
}

TEST(ShutdownPlain, ASecondSigtermKillsAtOnce) {
  plain_end r = run_plain("stuck", 2);
  EXPECT_TRUE(killed_by_sigterm(r.status)) << "status " << r.status << "\n" << r.err;
  EXPECT_NE(r.err.find("second SIGTERM"), std::string::npos) << r.err;
  EXPECT_LT(r.took, 2s) << "it waited for the 5 s deadline";
}

TEST(ShutdownPlain, WithoutAHookSigtermKeepsItsDefault) {
  plain_end r = run_plain("none", 1);
  EXPECT_TRUE(killed_by_sigterm(r.status)) << "status " << r.status << "\n" << r.err;
}

TEST(ShutdownPlain, OutsideAGoroutineItIsMisuse) {
  EXPECT_THROW(weft::on_shutdown([] {}), weft::misuse_error);
}

// The plain program: hooks as MODE says, "ready" on stdout, then parks.
int plain_main(const std::string& mode) {
  return weft::run([&] {
    auto say = [](const char* s) {
      std::printf("%s\n", s);
      std::fflush(stdout);
    };
    if (mode == "two" || mode == "throws" || mode == "late") {
      if (mode == "throws") weft::on_shutdown([] { throw std::runtime_error("broken hook"); });
      weft::on_shutdown([say, mode] {
        weft::this_goroutine::sleep_for(200ms);
        if (mode == "late") {
          weft::on_shutdown([say] { say("late hook"); });
          weft::this_goroutine::sleep_for(100ms);
        }
        say("hook a");
      });
      weft::on_shutdown([say] {
        weft::this_goroutine::sleep_for(200ms);
        say("hook b");
      });
    } else if (mode == "stuck") {
      weft::on_shutdown([say] {
        say("stuck hook runs");
        park_forever();
      });
    }
    say("ready");
    // Not park_forever: with no hook, nothing else would be left to run
    // and the runtime would end the program as deadlocked before SIGTERM.
    for (;;) weft::this_goroutine::sleep_for(1h);
  });
}

}  // namespace

int main(int argc, char** argv) {
  if (weft::is_worker()) return weft::run([] {});
  if (argc == 3 && std::string(argv[1]) == "--plain") return plain_main(argv[2]);
  ::testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}
