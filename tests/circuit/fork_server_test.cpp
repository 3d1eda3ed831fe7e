// tests/circuit/fork_server_test.cpp: weftd's fork servers
// (src/server/fork_server.hpp, src/circuit/fork_server_entry.cpp) with a
// real weftd, the real weft command, and this binary as the worker.
//
// What a worker made by a fork server must be: one that ran this
// executable's constructors and main itself (after the fork), weftd's own
// child, in the caller's directory and environment, writing to its own
// log; and a spawn must succeed whatever happens to the fork server.
#include <gtest/gtest.h>

#include <dirent.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <weft/circuit.hpp>
#include <weft/weft.hpp>

#include "circuit/fork_server_entry.hpp"
#include "remote/weftd_fixture.hpp"

namespace {

// Dynamic initialization: runs in this executable's constructors, which a
// forked worker runs after the fork (it then holds the worker's own pid).
const long constructed_in = static_cast<long>(::getpid());

std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> out;
  std::stringstream ss(s);
  for (std::string part; std::getline(ss, part, sep);) out.push_back(part);
  return out;
}

std::string own_name() {
  std::ifstream in("/proc/self/comm");
  std::string name;
  std::getline(in, name);
  return name;
}

// "forked|pid|ppid|constructed_in|cwd|marker|name", and a line in its log.
std::string describe_self(int round) {
  char cwd[4096] = {};
  if (::getcwd(cwd, sizeof cwd - 1) == nullptr) cwd[0] = '?';
  const char* marker = std::getenv("FORK_TEST_MARKER");
  std::printf("round %d from pid %ld\n", round, static_cast<long>(::getpid()));
  std::fflush(stdout);
  return std::string(weft::circuit::detail::forked_by_fork_server() ? "1" : "0") + "|" +
         std::to_string(::getpid()) + "|" + std::to_string(::getppid()) + "|" + std::to_string(constructed_in) +
         "|" + cwd + "|" + (marker ? marker : "") + "|" + own_name();
}
WEFT_SPAWNABLE(describe_self);

struct seen {
  bool forked = false;
  long pid = 0, ppid = 0, constructed_in = 0;
  std::string cwd, marker, name, worker_id;
};

seen spawn_one(int round) {
  weft::spawned<std::string> w = weft::spawn({}, describe_self, round);
  std::vector<std::string> f = split(w.get(), '|');
  seen s;
  if (f.size() < 5) {
    ADD_FAILURE() << "a worker's answer is five or six fields";
    return s;
  }
  s.forked = f[0] == "1";
  s.pid = std::stol(f[1]);
  s.ppid = std::stol(f[2]);
  s.constructed_in = std::stol(f[3]);
  s.cwd = f[4];
  s.marker = f.size() > 5 ? f[5] : "";
  s.name = f.size() > 6 ? f[6] : "";
  s.worker_id = w.worker().id();
  // A forked child can send WorkerStart before weftd has its pid from the
  // fork server: Spawned must still carry it (0 made kill() hit the caller).
  EXPECT_EQ(w.worker().pid(), s.pid) << "the handle's pid is the worker's own";
  EXPECT_EQ(w.worker().wait(), 0);
  return s;
}

// Spawns until a worker says it was forked (the fork server starts in the
// background at the first spawn); the forked one, or nothing after 15 s.
std::optional<seen> spawn_until_forked(int& rounds) {
  auto end = std::chrono::steady_clock::now() + std::chrono::seconds(15);
  while (std::chrono::steady_clock::now() < end) {
    seen s = spawn_one(rounds++);
    if (s.forked) return s;
    weft::this_goroutine::sleep_for(std::chrono::milliseconds(20));
  }
  return std::nullopt;
}

// A process's state letter, parent and session from /proc/PID/stat ('\0'
// and 0 once it is gone: reaped).
struct proc_stat {
  char state = '\0';
  long ppid = 0;
  long session = 0;
};
proc_stat stat_of(long pid) {
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  std::getline(stat, line);
  std::size_t close = line.rfind(')');
  if (close == std::string::npos) return {};
  std::vector<std::string> f = split(line.substr(close + 2), ' ');
  if (f.size() < 4) return {};
  return {f[0].empty() ? '?' : f[0][0], std::stol(f[1]), std::stol(f[3])};
}

std::string name_of(long pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/comm");
  std::string name;
  std::getline(in, name);
  return name;
}

// weftd's children whose environment was given WEFT_FORK_SERVER=3 (what
// /proc shows is the start's environment): its fork servers (spare:
// false), each the leader of its session, or their spares (spare: true),
// in their server's session until they become workers (zombies left out).
std::vector<long> fork_children_of(pid_t weftd, bool spare) {
  std::vector<long> out;
  DIR* d = ::opendir("/proc");
  if (d == nullptr) return out;
  while (const dirent* e = ::readdir(d)) {
    char* end = nullptr;
    long pid = std::strtol(e->d_name, &end, 10);
    if (pid <= 0 || *end != '\0') continue;
    const proc_stat st = stat_of(pid);
    if (st.ppid != weftd || st.state == 'Z') continue;
    if ((st.session != pid) != spare) continue;
    std::ifstream env("/proc/" + std::to_string(pid) + "/environ", std::ios::binary);
    std::stringstream ss;
    ss << env.rdbuf();
    if (ss.str().find(std::string("WEFT_FORK_SERVER=3\0", 19)) != std::string::npos) out.push_back(pid);
  }
  ::closedir(d);
  return out;
}
std::vector<long> fork_servers_of(pid_t weftd) { return fork_children_of(weftd, false); }
std::vector<long> spares_of(pid_t weftd) { return fork_children_of(weftd, true); }

// Waits up to 5 s for pred, in a goroutine or not.
template <typename F>
bool within_5s(F pred) {
  auto end = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (!pred()) {
    if (std::chrono::steady_clock::now() >= end) return false;
    if (weft::running())
      weft::this_goroutine::sleep_for(std::chrono::milliseconds(5));
    else
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return true;
}

bool alive(long pid) { return ::kill(static_cast<pid_t>(pid), 0) == 0; }

class ForkServer : public weft_test::weftd_test {};

TEST_F(ForkServer, AForkedWorkerRanTheBinarysConstructorsAndIsWeftdsChildInTheCallersPlace) {
  ::setenv("FORK_TEST_MARKER", "marked-7", 1);
  weft::run(
      [this] {
        int rounds = 0;
        seen first = spawn_one(rounds++);
        EXPECT_FALSE(first.forked) << "the first spawn of a binary starts it: its fork server is not ready yet";
        std::optional<seen> s = spawn_until_forked(rounds);
        ASSERT_TRUE(s) << "no worker was forked in 15 s\n" << log_text();
        EXPECT_EQ(s->constructed_in, s->pid) << "the executable's constructors ran before the fork";
        EXPECT_EQ(s->ppid, server_pid()) << "a forked worker is weftd's child (CLONE_PARENT)";
        char cwd[4096] = {};
        ASSERT_NE(::getcwd(cwd, sizeof cwd - 1), nullptr);
        EXPECT_EQ(s->cwd, cwd);
        EXPECT_EQ(s->marker, "marked-7");
        EXPECT_NE(log_text().find("fork server for "), std::string::npos) << log_text();
        // Its stdout is its own log, as weft logs shows it.
        weft_test::command logs({WEFT_TEST_WEFT, "logs", "--runtime", address(), s->worker_id});
        EXPECT_EQ(logs.wait(), 0) << logs.err();
        EXPECT_NE(logs.out().find("from pid " + std::to_string(s->pid) + "\n"), std::string::npos) << logs.out();
        // Every later worker is forked too, each a process of its own.
        long last = s->pid;
        for (int i = 0; i < 5; ++i) {
          seen n = spawn_one(rounds++);
          EXPECT_TRUE(n.forked);
          EXPECT_NE(n.pid, last);
          EXPECT_EQ(n.constructed_in, n.pid);
          last = n.pid;
        }
      },
      attached());
  ::unsetenv("FORK_TEST_MARKER");
}

TEST_F(ForkServer, ACallerThatOptsOutGetsStartedWorkers) {
  ::setenv("WEFT_FORK_SERVER", "0", 1);
  weft::run(
      [] {
        for (int i = 0; i < 4; ++i) EXPECT_FALSE(spawn_one(i).forked);
      },
      attached());
  ::unsetenv("WEFT_FORK_SERVER");
  EXPECT_TRUE(fork_servers_of(server_pid()).empty());
}

TEST_F(ForkServer, AKilledForkServerIsReplacedAndNoSpawnFails) {
  weft::run(
      [this] {
        int rounds = 0;
        ASSERT_TRUE(spawn_until_forked(rounds)) << log_text();
        std::vector<long> servers = fork_servers_of(server_pid());
        ASSERT_EQ(servers.size(), 1u);
        ASSERT_EQ(::kill(static_cast<pid_t>(servers[0]), SIGKILL), 0);
        // Gone (weftd reaped it): a spawn that asked it while it died would
        // fail, as K1 says, since it may have made the worker already.
        auto end = std::chrono::steady_clock::now() + std::chrono::seconds(5);
        while (alive(servers[0]) && std::chrono::steady_clock::now() < end)
          weft::this_goroutine::sleep_for(std::chrono::milliseconds(5));
        for (int i = 0; i < 5; ++i) spawn_one(rounds++);  // each succeeds (spawn_one checks its answer)
        std::optional<seen> again = spawn_until_forked(rounds);
        ASSERT_TRUE(again) << "no new fork server\n" << log_text();
        std::vector<long> now = fork_servers_of(server_pid());
        ASSERT_EQ(now.size(), 1u);
        EXPECT_NE(now[0], servers[0]);
      },
      attached());
}

// A weftd whose fork servers keep a spare (WEFT_FORK_SPARE=1 in its
// environment, which it inherits from this process).
class ForkServerSpare : public weft_test::weftd_test {
 protected:
  void SetUp() override {
    ::setenv("WEFT_FORK_SPARE", "1", 1);
    weftd_test::SetUp();
    ::unsetenv("WEFT_FORK_SPARE");
  }
};

TEST_F(ForkServer, AWeftdNotAskedForSparesKeepsNone) {
  weft::run(
      [this] {
        int rounds = 0;
        ASSERT_TRUE(spawn_until_forked(rounds)) << log_text();
        for (int i = 0; i < 3; ++i) EXPECT_TRUE(spawn_one(rounds++).forked);
        EXPECT_TRUE(spares_of(server_pid()).empty());
      },
      attached());
}

TEST_F(ForkServerSpare, TheNextWorkerIsTheSpareForkedAheadAndAnotherWaitsAfterIt) {
  weft::run(
      [this] {
        int rounds = 0;
        ASSERT_TRUE(spawn_until_forked(rounds)) << log_text();
        std::vector<long> spares = spares_of(server_pid());
        ASSERT_EQ(spares.size(), 1u) << "a fork server keeps one spare waiting";
        EXPECT_TRUE(within_5s([&] { return name_of(spares[0]) == "weft spare"; })) << name_of(spares[0]);
        seen n = spawn_one(rounds++);
        EXPECT_TRUE(n.forked);
        EXPECT_EQ(n.pid, spares[0]) << "the worker is the spare that waited";
        EXPECT_EQ(n.constructed_in, n.pid) << "a spare runs the executable's constructors only as the worker";
        EXPECT_NE(n.name, "weft spare") << "a worker has its binary's name back";
        EXPECT_FALSE(n.name.empty());
        std::vector<long> next = spares_of(server_pid());
        ASSERT_EQ(next.size(), 1u);
        EXPECT_NE(next[0], spares[0]);
      },
      attached());
}

TEST_F(ForkServerSpare, AKilledSpareIsReapedAndTheNextWorkerIsForkedAnyway) {
  weft::run(
      [this] {
        int rounds = 0;
        ASSERT_TRUE(spawn_until_forked(rounds)) << log_text();
        std::vector<long> spares = spares_of(server_pid());
        ASSERT_EQ(spares.size(), 1u);
        ASSERT_EQ(::kill(static_cast<pid_t>(spares[0]), SIGKILL), 0);
        ASSERT_TRUE(within_5s([&] { return stat_of(spares[0]).state == 'Z'; }));
        seen n = spawn_one(rounds++);
        EXPECT_TRUE(n.forked) << "a fork server whose spare died forks the worker at once";
        EXPECT_NE(n.pid, spares[0]);
        EXPECT_TRUE(within_5s([&] { return stat_of(spares[0]).state == '\0'; }))
            << "weftd did not reap the dead spare (state " << stat_of(spares[0]).state << ")";
        EXPECT_EQ(spares_of(server_pid()).size(), 1u) << "a new spare waits";
      },
      attached());
}

TEST_F(ForkServerSpare, AnUnusedSpareIsReapedWhenItsForkServerEnds) {
  weft::run(
      [this] {
        int rounds = 0;
        ASSERT_TRUE(spawn_until_forked(rounds)) << log_text();
        std::vector<long> spares = spares_of(server_pid());
        std::vector<long> servers = fork_servers_of(server_pid());
        ASSERT_EQ(spares.size(), 1u);
        ASSERT_EQ(servers.size(), 1u);
        ASSERT_EQ(::kill(static_cast<pid_t>(servers[0]), SIGKILL), 0);
        EXPECT_TRUE(within_5s([&] { return stat_of(spares[0]).state == '\0'; }))
            << "the spare of a fork server that ended is not gone (state " << stat_of(spares[0]).state << ")";
      },
      attached());
}

TEST_F(ForkServerSpare, AKilledWeftdLeavesNoForkServerOrSpareRunning) {
  std::vector<long> left;
  weft::run(
      [&] {
        int rounds = 0;
        ASSERT_TRUE(spawn_until_forked(rounds)) << log_text();
        left = spares_of(server_pid());
        ASSERT_EQ(left.size(), 1u);
        std::vector<long> servers = fork_servers_of(server_pid());
        ASSERT_EQ(servers.size(), 1u);
        left.push_back(servers[0]);
      },
      attached());
  ASSERT_EQ(left.size(), 2u);
  kill_server();  // as a crash would: it cleans nothing up
  for (long pid : left) {
    // Gone, or a zombie its new parent has not reaped yet: not running.
    EXPECT_TRUE(within_5s([&] {
      const char st = stat_of(pid).state;
      return st == '\0' || st == 'Z';
    })) << "pid " << pid << " (" << name_of(pid) << ") outlived its weftd";
  }
}

// Touching the binary would look like a rebuild to every other test of
// this binary running meanwhile (ctest -j): the test runs in a private
// copy of it, which it then touches.
TEST_F(ForkServer, ARebuiltBinaryGetsANewForkServerAndTheOldOneEnds) {
  if (std::getenv("FORK_TEST_PRIVATE_COPY") == nullptr) {
    char self[4096] = {};
    ASSERT_GT(::readlink("/proc/self/exe", self, sizeof self - 1), 0);
    const std::string dir = "/tmp/weft-fork-test-" + std::to_string(::getpid());
    const std::string copy = dir + "/fork_server_test";
    ASSERT_EQ(std::system(("rm -rf '" + dir + "' && mkdir -p '" + dir + "' && cp '" + self + "' '" + copy + "'").c_str()),
              0);
    weft_test::command run({copy, "--gtest_filter=ForkServer.ARebuiltBinaryGetsANewForkServerAndTheOldOneEnds"},
                           {"FORK_TEST_PRIVATE_COPY=1"});
    const int status = run.wait(std::chrono::seconds(90));
    EXPECT_EQ(status, 0) << run.out() << run.err();
    EXPECT_NE(run.out().find("[  PASSED  ] 1 test"), std::string::npos) << run.out();
    EXPECT_EQ(std::system(("rm -rf '" + dir + "'").c_str()), 0);
    return;
  }
  weft::run(
      [this] {
        int rounds = 0;
        ASSERT_TRUE(spawn_until_forked(rounds)) << log_text();
        std::vector<long> old = fork_servers_of(server_pid());
        ASSERT_EQ(old.size(), 1u);
        // A new modification time is a new build to weftd.
        char self[4096] = {};
        ASSERT_GT(::readlink("/proc/self/exe", self, sizeof self - 1), 0);
        timespec times[2] = {{0, UTIME_NOW}, {0, UTIME_NOW}};
        ASSERT_EQ(::utimensat(AT_FDCWD, self, times, 0), 0);
        EXPECT_FALSE(spawn_one(rounds++).forked) << "the old build's fork server made it";
        std::optional<seen> again = spawn_until_forked(rounds);
        ASSERT_TRUE(again) << log_text();
        auto end = std::chrono::steady_clock::now() + std::chrono::seconds(5);
        while (alive(old[0]) && std::chrono::steady_clock::now() < end)
          weft::this_goroutine::sleep_for(std::chrono::milliseconds(10));
        EXPECT_FALSE(alive(old[0])) << "the old build's fork server still runs";
      },
      attached());
}

// weftd's log line for the attach of the process pid ("" if none).
std::string attach_line(const std::string& log, long pid) {
  std::stringstream ss(log);
  for (std::string line; std::getline(ss, line);)
    if (line.find(" attached: ") != std::string::npos && line.find(" pid " + std::to_string(pid) + " ") != std::string::npos)
      return line;
  return "";
}

// A weftd with a cluster key: every client proves it, except a worker it
// forked, whose connection weftd made before the fork (fork_server.hpp, K4).
class ForkServerKeyed : public weft_test::weftd_test {
 protected:
  ForkServerKeyed() : weftd_test(weft_test::weftd_config{.key = true, .tls = false, .tcp = false}) {}
  void SetUp() override {
    weftd_test::SetUp();
    ::setenv("WEFT_KEY_FILE", key_file().c_str(), 1);  // the caller and started workers prove it
  }
  void TearDown() override {
    ::unsetenv("WEFT_KEY_FILE");
    weftd_test::TearDown();
  }
};

TEST_F(ForkServerKeyed, OnlyAForkedWorkerAttachesWithoutProvingTheKeyOnTheConnectionWeftdMadeForIt) {
  weft::run(
      [this] {
        int rounds = 0;
        seen started = spawn_one(rounds++);  // the first: from the binary
        ASSERT_FALSE(started.forked);
        std::optional<seen> forked = spawn_until_forked(rounds);
        ASSERT_TRUE(forked) << "no worker was forked in 15 s\n" << log_text();
        const std::string log = log_text();
        const std::string f = attach_line(log, forked->pid);
        EXPECT_NE(f.find("(connected by weftd at the fork)"), std::string::npos) << log;
        // The started worker and this caller dialed: each proved the key.
        EXPECT_NE(attach_line(log, started.pid).find("(key proven)"), std::string::npos) << log;
        EXPECT_NE(attach_line(log, static_cast<long>(::getpid())).find("(key proven)"), std::string::npos) << log;
      },
      attached());
}

class ForkServerOff : public weft_test::weftd_test {
 protected:
  std::vector<std::string> weftd_extra_args() const override { return {"--no-fork-server"}; }
};

TEST_F(ForkServerOff, AWeftdWithoutForkServersStartsEveryWorker) {
  weft::run(
      [] {
        for (int i = 0; i < 4; ++i) EXPECT_FALSE(spawn_one(i).forked);
      },
      attached());
  EXPECT_TRUE(fork_servers_of(server_pid()).empty());
}

}  // namespace

int main(int argc, char** argv) {
  if (weft::is_worker()) return weft::run([] {});
  ::testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}
