// tests/etcd/cross_host_spawn_test.cpp: a spawn that goes to another host
// (docs/cluster.md, "Spawning on another host"): two real weftds ("a" and
// "b", each with its own runtime directory and binary cache) on a real
// etcd, a caller attached to a. The worker runs under b's weftd, from the
// binary a sent b once (verified there, then cached); placement follows
// labels; kill and wait reach it through a; b's weftd stopped dead mid-call
// gives the caller unknown_outcome within the link's dead time. This
// binary is its own worker (main).
#include <gtest/gtest.h>

#include <signal.h>
#include <sys/stat.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <weft/circuit.hpp>
#include <weft/remote.hpp>
#include <weft/weft.hpp>

#include "etcd/etcd_fixture.hpp"
#include "remote/weftd_fixture.hpp"

namespace {

using namespace std::chrono_literals;

// Which weftd runs this worker: the one it attached to.
std::string runtime_of(int) {
  const char* r = std::getenv("WEFT_RUNTIME");
  return r ? r : "";
}
WEFT_SPAWNABLE(runtime_of);

int sleeps(int seconds) {
  weft::this_goroutine::sleep_for(std::chrono::seconds(seconds));
  return seconds;
}
WEFT_SPAWNABLE(sleeps);

std::size_t count(const std::string& text, const std::string& what) {
  std::size_t n = 0;
  for (std::size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

// One host's weftd: loopback TCP, the shared key, etcd, a name, labels.
class host_weftd {
 public:
  host_weftd(const std::string& dir, const std::string& name, const std::string& key, const std::string& etcd,
             const std::string& prefix, std::vector<std::string> extra = {})
      : dir_(dir + "/" + name), log_(dir_ + "/weftd.log") {
    std::filesystem::create_directories(dir_);
    std::vector<std::string> argv = {WEFT_TEST_WEFTD, "--listen",     "tcp:127.0.0.1:0", "--key",   key,
                                     "--etcd",        etcd,           "--etcd-prefix",   prefix,    "--name",
                                     name,            "--cache-dir",  dir_ + "/binaries"};
    for (std::string& e : extra) argv.push_back(std::move(e));
    pid_ = weft_test::spawn_tied(argv, {"XDG_RUNTIME_DIR=" + dir_}, log_);
  }
  ~host_weftd() { kill(); }
  void kill() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGCONT);
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
    pid_ = -1;
  }
  // "tcp:127.0.0.1:PORT" once it listens and has joined the circuit; "" if
  // it did not within 10 s.
  std::string ready() {
    auto end = std::chrono::steady_clock::now() + 10s;
    while (std::chrono::steady_clock::now() < end) {
      std::string l = log();
      std::size_t at = l.find("listening on ");
      std::size_t eol = at == std::string::npos ? at : l.find('\n', at);
      if (eol != std::string::npos && l.find("joined the circuit") != std::string::npos)
        return l.substr(at + 13, eol - at - 13);
      std::this_thread::sleep_for(10ms);
    }
    return "";
  }
  std::string log() const {
    std::ifstream in(log_);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }
  pid_t pid() const { return pid_; }

 private:
  std::string dir_, log_;
  pid_t pid_ = -1;
};

class CrossHostSpawn : public weft_test::etcd_test {
 protected:
  void SetUp() override {
    weft_test::etcd_test::SetUp();
    key_ = dir_.path() + "/cluster.key";
    weft_test::write_key_file(key_);
    ::setenv("WEFT_KEY_FILE", key_.c_str(), 1);
    const std::string prefix = "/weft-x" + std::to_string(::getpid());
    std::vector<std::string> a_args, b_args = {"--label", "zone=b"};
    if (tls()) {
      a_args.push_back("--tls");
      b_args.push_back("--tls");
    }
    a_ = std::make_unique<host_weftd>(dir_.path(), "a", key_, server_.endpoint(), prefix, a_args);
    b_ = std::make_unique<host_weftd>(dir_.path(), "b", key_, server_.endpoint(), prefix, b_args);
    a_address_ = a_->ready();
    b_address_ = b_->ready();
    ASSERT_FALSE(a_address_.empty()) << a_->log();
    ASSERT_FALSE(b_address_.empty()) << b_->log();
  }
  void TearDown() override {
    if (HasFailure()) {
      std::fprintf(stderr, "---- weftd a\n%s---- weftd b\n%s----\n", a_->log().c_str(), b_->log().c_str());
    }
    a_.reset();
    b_.reset();
    ::unsetenv("WEFT_KEY_FILE");
    weft_test::etcd_test::TearDown();
  }
  // Both weftds with --tls: their link, their workers and the caller too.
  virtual bool tls() const { return false; }
  weft::options on_a() const {
    weft::options o;
    o.procs = 2;
    o.runtime = a_address_;
    return o;
  }
  // Spawns, retrying while a's table of hosts does not have b yet (its
  // watch of etcd is a moment behind b's join).
  template <class F, class... A>
  auto spawn_when_known(const weft::spawn_options& o, F f, A... args) {
    auto end = std::chrono::steady_clock::now() + 10s;
    for (;;) {
      try {
        auto w = weft::spawn(o, f, args...);
        w.worker();  // started (or refused: spawn itself returns at once)
        return w;
      } catch (const weft::remote_error& e) {
        if (e.kind() != weft::remote_errc::refused || std::chrono::steady_clock::now() > end) throw;
        weft::this_goroutine::sleep_for(50ms);
      }
    }
  }

  weft_test::temp_dir dir_{"weft-xhost"};
  std::string key_;
  std::unique_ptr<host_weftd> a_, b_;
  std::string a_address_, b_address_;
};

TEST_F(CrossHostSpawn, APinnedSpawnRunsOnThatHostAndItsBinaryTravelsOnce) {
  weft::run(
      [&] {
        weft::spawned<std::string> first = spawn_when_known({.host = "b"}, runtime_of, 1);
        EXPECT_EQ(first.get(), b_address_);
        EXPECT_EQ(first.worker().wait(), 0);  // waited on through a
        weft::spawned<std::string> second = weft::spawn({.host = "b"}, runtime_of, 2);
        EXPECT_EQ(second.get(), b_address_);
        weft::spawned<std::string> here = weft::spawn({.host = "a"}, runtime_of, 3);
        EXPECT_EQ(here.get(), a_address_);
      },
      on_a());
  EXPECT_EQ(count(a_->log(), "lacks binary"), 1u) << a_->log();
  EXPECT_EQ(count(b_->log(), "received and verified"), 1u) << b_->log();
  // In b's cache under its hash, and nowhere else.
  std::size_t cached = 0;
  for (const auto& e : std::filesystem::directory_iterator(dir_.path() + "/b/binaries"))
    if (e.is_regular_file() && e.path().filename().string().size() == 64) ++cached;
  EXPECT_EQ(cached, 1u);
}

TEST_F(CrossHostSpawn, PlacementFollowsALabelOnlyAnotherHostHas) {
  weft::run(
      [&] {
        weft::spawned<std::string> w = spawn_when_known({.labels = {{"zone", "b"}}}, runtime_of, 1);
        EXPECT_EQ(w.get(), b_address_);
      },
      on_a());
  EXPECT_NE(a_->log().find("goes to host b (b: "), std::string::npos) << a_->log();
}

TEST_F(CrossHostSpawn, KillAndWaitReachAWorkerOnAnotherHostThroughTheCallersWeftd) {
  weft::run(
      [&] {
        weft::spawned<int> w = spawn_when_known({.host = "b"}, sleeps, 60);
        weft::worker k = w.worker();
        EXPECT_GT(k.pid(), 0);
        EXPECT_EQ(::kill(static_cast<pid_t>(k.pid()), 0), 0);  // one machine here: b's child is visible
        k.kill_hard();
        try {
          w.get();
          ADD_FAILURE() << "no error";
        } catch (const weft::remote_error& e) {
          EXPECT_EQ(e.kind(), weft::remote_errc::lost) << e.what();
          EXPECT_NE(std::string(e.what()).find("SIGKILL"), std::string::npos) << e.what();
        }
        EXPECT_EQ(k.wait(), 128 + SIGKILL);
      },
      on_a());
}

TEST_F(CrossHostSpawn, WeftKillThroughAnotherHostsWeftdFindsTheWorkerByItsAnchor) {
  weft::options on_b = on_a();
  on_b.runtime = b_address_;
  weft::run(
      [&] {
        weft::spawned<int> w = weft::spawn({.anchors = {"/x/victim"}}, sleeps, 60);  // b's own
        const std::string id = w.worker().id();
        // a learns b's worker from etcd (a moment after it starts).
        int status = -1;
        std::string out;
        for (int i = 0; i < 100 && status != 0; ++i) {
          weft_test::command c({WEFT_TEST_WEFT, "kill", "--hard", "--runtime", a_address_, id});
          status = c.wait();
          out = c.out() + c.err();
          if (status != 0) weft::this_goroutine::sleep_for(50ms);
        }
        EXPECT_EQ(status, 0) << out;
        try {
          w.get();
          ADD_FAILURE() << "no error";
        } catch (const weft::remote_error& e) {
          EXPECT_NE(std::string(e.what()).find("SIGKILL"), std::string::npos) << e.what();
        }
      },
      on_b);
}

TEST_F(CrossHostSpawn, WeftStkAndPeekThroughOneHostReachAWorkerOnAnother) {
  weft::run(
      [&] {
        weft::spawned<int> w = spawn_when_known({.anchors = {"/x/stk"}, .host = "b"}, sleeps, 60);
        const std::string id = w.worker().id();
        weft_test::command stk({WEFT_TEST_WEFT, "stk", "--runtime", a_address_, "/x/stk"});
        EXPECT_EQ(stk.wait(), 0) << stk.err();
        EXPECT_NE(stk.out().find("/x/stk/" + id), std::string::npos) << stk.out();
        EXPECT_NE(stk.out().find("sleeps"), std::string::npos) << stk.out();  // its goroutine's stack
        weft_test::command peek({WEFT_TEST_WEFT, "peek", "--runtime", a_address_, id});
        EXPECT_EQ(peek.wait(), 0) << peek.err();
        EXPECT_NE(peek.out().find(id), std::string::npos) << peek.out();
        w.worker().kill_hard();
      },
      on_a());
}

TEST_F(CrossHostSpawn, AHostWhoseWeftdStopsAnsweringGivesUnknownOutcome) {
  weft::run(
      [&] {
        weft::spawned<int> w = spawn_when_known({.host = "b"}, sleeps, 60);
        w.worker();  // it runs there
        ::kill(b_->pid(), SIGSTOP);  // alive, silent: a partition, not a reset
        auto t0 = std::chrono::steady_clock::now();
        try {
          w.get();
          ADD_FAILURE() << "no error";
        } catch (const weft::remote_error& e) {
          EXPECT_EQ(e.kind(), weft::remote_errc::unknown_outcome) << e.what();
          EXPECT_NE(std::string(e.what()).find("host \"b\""), std::string::npos) << e.what();
        }
        auto took = std::chrono::steady_clock::now() - t0;
        EXPECT_GE(took, 2500ms);
        EXPECT_LT(took, 6s);
      },
      on_a());
  b_->kill();
}

class CrossHostSpawnTls : public CrossHostSpawn {
 protected:
  bool tls() const override { return true; }
};

TEST_F(CrossHostSpawnTls, ASpawnGoesToAnotherHostOverTls) {
  ASSERT_EQ(a_address_.rfind("tls:", 0), 0u) << a_address_;
  weft::run(
      [&] {
        weft::spawned<std::string> w = spawn_when_known({.host = "b"}, runtime_of, 1);
        EXPECT_EQ(w.get(), b_address_);
        EXPECT_EQ(w.worker().address().rfind("tls:", 0), 0u) << w.worker().address();
      },
      on_a());
  EXPECT_NE(b_->log().find("another host's weftd 1.0 (key proven)"), std::string::npos) << b_->log();
  EXPECT_EQ(count(b_->log(), "received and verified"), 1u) << b_->log();
}

}  // namespace

int main(int argc, char** argv) {
  if (weft::is_worker()) return weft::run([] {});
  ::testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}
