// tests/circuit/xref_peers_test.cpp: cross-references between real
// processes (xref_peer_prog, WEFT_TEST_XREF_PEER), which the tests SIGKILL
// for real: calls and results, many goroutines on one connection with
// replies out of order, exceptions, a killed owner, an xref passed to a
// third process, and the owner's reference counts (freed once every
// holder dropped, kept while one holds, freed after a killed holder's
// lease, the hand-off race), and the cluster key.
#include <gtest/gtest.h>

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include <weft/weft.hpp>
#include <weft/xref.hpp>

#include "weft_test_util.hpp"
#include "xref_test_types.hpp"

extern char** environ;

namespace {

using namespace std::chrono_literals;
using xref_test::counter;
using xref_test::keeper;
namespace ct = weft::circuit::testing;
using clk = std::chrono::steady_clock;

constexpr auto lease = 1500ms;  // WEFT_XREF_LEASE_MS for these tests

pid_t spawn_process(const std::string& path, const std::vector<std::string>& env_extra,
                    const posix_spawn_file_actions_t* fa) {
  std::vector<std::string> env(env_extra);
  for (char** e = environ; *e; ++e) env.emplace_back(*e);
  std::vector<char*> envp;
  for (std::string& e : env) envp.push_back(e.data());
  envp.push_back(nullptr);
  char* argv[] = {const_cast<char*>(path.c_str()), nullptr};
  pid_t pid = -1;
  if (posix_spawn(&pid, path.c_str(), fa, nullptr, argv, envp.data()) != 0) return -1;
  return pid;
}

// Its wait status within limit, or -1.
int wait_status(pid_t pid, std::chrono::milliseconds limit) {
  auto end = clk::now() + limit;
  int st = 0;
  while (clk::now() < end) {
    if (::waitpid(pid, &st, WNOHANG) == pid) return st;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  return -1;
}

// A running xref_peer_prog: its stdin and stdout are pipes; the first line
// it prints is its peer address (the real signal that it listens).
class peer_proc {
 public:
  explicit peer_proc(const std::vector<std::string>& env = {}, const char* prog = WEFT_TEST_XREF_PEER) {
    int in[2], out[2];
    if (::pipe2(in, O_CLOEXEC) != 0 || ::pipe2(out, O_CLOEXEC) != 0) return;
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, in[0], 0);
    posix_spawn_file_actions_adddup2(&fa, out[1], 1);
    pid_ = spawn_process(prog, env, &fa);
    posix_spawn_file_actions_destroy(&fa);
    ::close(in[0]);
    ::close(out[1]);
    in_ = in[1];
    out_ = out[0];
    address_ = weft::blocking([fd = out_] {
      std::string line;
      char c;
      while (::read(fd, &c, 1) == 1 && c != '\n') line += c;
      return line;
    });
  }
  peer_proc(const peer_proc&) = delete;
  peer_proc& operator=(const peer_proc&) = delete;
  // Ends it as it would end on its own (its run's end removes its socket
  // file), or SIGKILLs it if that takes too long.
  ~peer_proc() {
    if (pid_ > 0) {
      int status = finish();
      if (pid_ > 0)
        kill();
      else if (status != 0)
        remove_socket();  // it died some other way
    }
    if (in_ >= 0) ::close(in_);
    if (out_ >= 0) ::close(out_);
  }
  const std::string& address() const { return address_; }
  std::string id() const { return address_.substr(address_.rfind('/') + 1, 17); }
  // SIGKILL, for real; then removes the socket file it could not.
  void kill() {
    ::kill(pid_, SIGKILL);
    weft::blocking([p = pid_] { ::waitpid(p, nullptr, 0); });
    pid_ = -1;
    remove_socket();
  }
  void remove_socket() {
    if (address_.rfind("unix:", 0) == 0) ::unlink(address_.substr(5).c_str());
  }
  // Closes its stdin and returns its exit status (-1: still running after 20 s).
  int finish() {
    if (in_ >= 0) ::close(in_);
    in_ = -1;
    int st = weft::blocking([p = pid_] { return wait_status(p, std::chrono::seconds(20)); });
    if (st == -1) return -1;
    pid_ = -1;
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
  }

 private:
  pid_t pid_ = -1;
  int in_ = -1;
  int out_ = -1;
  std::string address_;
};

template <class F>
bool eventually(F cond, std::chrono::milliseconds limit) {
  return weft_test::eventually(cond, limit, 20ms);
}

class XrefPeers : public ::testing::Test {
 protected:
  void SetUp() override { ::setenv("WEFT_XREF_LEASE_MS", std::to_string(lease.count()).c_str(), 1); }
  void TearDown() override { ::unsetenv("WEFT_XREF_LEASE_MS"); }
};

TEST_F(XrefPeers, CallReturnsTheResult) {
  weft::run([] {
    peer_proc a;
    ASSERT_FALSE(a.address().empty());
    auto k = weft::dial<keeper>(a.address(), "keeper");
    weft::xref<counter> c = k.call<&keeper::make>(10).get();
    EXPECT_EQ(c.owner(), a.address());
    EXPECT_EQ(c.call<&counter::add>(5).get(), 15);
    // By worker id, as on one host.
    auto k2 = weft::dial<keeper>(a.id(), "keeper");
    EXPECT_EQ(k2.call<&keeper::address>().get(), a.address());
    EXPECT_THROW((void)weft::dial<keeper>(a.address(), "nobody"), weft::remote_error);
    k = {};
    k2 = {};
    c = {};
    EXPECT_EQ(a.finish(), 0);  // its run's end tears everything down
  });
}

TEST_F(XrefPeers, ManyGoroutinesShareOneConnectionAndCompleteOutOfOrder) {
  weft::run([] {
    peer_proc a;
    auto k = weft::dial<keeper>(a.address(), "keeper");
    weft::xref<counter> c = k.call<&keeper::make>(0).get();
    constexpr int goroutines = 32, calls = 8;
    std::atomic<int> wrong{0};
    weft::wait_group wg;
    for (int g = 0; g < goroutines; ++g) {
      wg.add(1);
      weft::go([&, g] {
        std::vector<weft::future<int>> fs;
        for (int i = 0; i < calls; ++i) fs.push_back(c.call<&counter::slow>((g * 7 + i * 13) % 20, g * 1000 + i));
        for (int i = 0; i < calls; ++i)
          if (fs[static_cast<std::size_t>(i)].get() != g * 1000 + i) ++wrong;
        wg.done();
      });
    }
    wg.wait();
    EXPECT_EQ(wrong.load(), 0);
    // One connection per pair of processes, from both sides' counts.
    EXPECT_EQ(ct::links_dialed(), 1u);
    EXPECT_EQ(ct::links_accepted(), 0u);
    EXPECT_EQ(k.call<&keeper::accepted>().get(), 1);
    EXPECT_EQ(k.call<&keeper::dialed>().get(), 0);
    // Out of order: a slow call sent first completes after a quick one.
    weft::future<int> slow = c.call<&counter::slow>(500, 1);
    weft::future<int> quick = c.call<&counter::slow>(0, 2);
    EXPECT_EQ(quick.get(), 2);
    EXPECT_FALSE(slow.ready());
    EXPECT_EQ(slow.get(), 1);
  });
}

TEST_F(XrefPeers, ExceptionCrossesAndTheOwnerLivesOn) {
  weft::run([] {
    peer_proc a;
    weft::xref<counter> c = weft::dial<keeper>(a.address(), "keeper").call<&keeper::make>(0).get();
    try {
      c.call<&counter::fail>("boom").get();
      FAIL() << "no exception";
    } catch (const weft::remote_exception& e) {
      EXPECT_EQ(e.type_name(), "std::out_of_range");
      EXPECT_STREQ(e.what(), "boom");
    }
    EXPECT_EQ(c.call<&counter::add>(1).get(), 1);
  });
}

TEST_F(XrefPeers, KilledOwnerFailsCallsInFlightAsUnknownOutcomeAndLaterOnesFastAsLost) {
  weft::run([] {
    peer_proc a;
    auto k = weft::dial<keeper>(a.address(), "keeper");
    weft::xref<counter> c = k.call<&keeper::make>(0).get();
    weft::future<int> in_flight = c.call<&counter::slow>(60000, 1);
    EXPECT_EQ(c.call<&counter::add>(1).get(), 1);  // the slow call went out before this one
    auto t0 = clk::now();
    a.kill();
    try {
      in_flight.get();
      FAIL() << "no error";
    } catch (const weft::remote_error& e) {
      // It was sent: whether it ran is unknown, and nothing retries it.
      EXPECT_EQ(e.kind(), weft::remote_errc::unknown_outcome) << e.what();
    }
    EXPECT_LT(clk::now() - t0, 3s);
    auto t1 = clk::now();
    try {
      c.call<&counter::add>(1).get();
      FAIL() << "no error";
    } catch (const weft::remote_error& e) {
      EXPECT_EQ(e.kind(), weft::remote_errc::lost) << e.what();
    }
    EXPECT_THROW(k.call<&keeper::live>().get(), weft::remote_error);
    EXPECT_LT(clk::now() - t1, 500ms);  // fails fast: nothing is sent
  });
}

TEST_F(XrefPeers, XrefPassedToAThirdProcessWorks) {
  weft::run([] {
    peer_proc a, b;
    auto ka = weft::dial<keeper>(a.address(), "keeper");
    auto kb = weft::dial<keeper>(b.address(), "keeper");
    weft::xref<counter> c = ka.call<&keeper::make>(1).get();
    // The hand-off race: this process drops its reference right after
    // sending it, before b has registered its own with a.
    weft::future<int> kept = kb.call<&keeper::keep>(c);
    c = {};
    EXPECT_EQ(kept.get(), 1);
    EXPECT_EQ(kb.call<&keeper::add_via>(0, 2).get(), 3);  // b calls a directly
    EXPECT_EQ(ka.call<&keeper::accepted>().get(), 2);  // this process and b
    EXPECT_EQ(ka.call<&keeper::live>().get(), 2);  // its keeper and the counter b holds
    kb.call<&keeper::drop_all>().get();
    EXPECT_TRUE(eventually([&] { return ka.call<&keeper::live>().get() == 1; }, 3s));
  });
}

TEST_F(XrefPeers, ReturnedXrefSurvivesItsSenderDroppingIt) {
  weft::run([] {
    peer_proc a;
    auto ka = weft::dial<keeper>(a.address(), "keeper");
    // a's own handle ends as soon as make's result is encoded; only the
    // pin keeps the counter until this process decodes it.
    weft::future<weft::xref<counter>> f = ka.call<&keeper::make>(7);
    ASSERT_TRUE(f.wait_for(5s));
    weft::this_goroutine::sleep_for(300ms);
    weft::xref<counter> c = f.get();
    EXPECT_EQ(c.call<&counter::get>().get(), 7);
    EXPECT_EQ(ka.call<&keeper::live>().get(), 2);
    c = {};
    f = {};
    EXPECT_TRUE(eventually([&] { return ka.call<&keeper::live>().get() == 1; }, 3s));
  });
}

TEST_F(XrefPeers, OwnerKeepsAnObjectWhileAHolderHoldsItAndFreesItAfter) {
  weft::run([] {
    peer_proc b;
    auto kb = weft::dial<keeper>(b.address(), "keeper");
    EXPECT_EQ(ct::live_exports(), 0u);
    { EXPECT_EQ(kb.call<&keeper::keep>(weft::ref(std::make_shared<counter>())).get(), 1); }
    EXPECT_EQ(ct::live_exports(), 1u);
    weft::this_goroutine::sleep_for(lease + 500ms);  // leases are renewed while b lives
    EXPECT_EQ(ct::live_exports(), 1u);
    EXPECT_EQ(kb.call<&keeper::add_via>(0, 5).get(), 5);  // b calls back into this process
    kb.call<&keeper::drop_all>().get();
    EXPECT_TRUE(eventually([] { return ct::live_exports() == 0; }, 3s));
  });
}

TEST_F(XrefPeers, KilledHoldersReferencesExpireWithItsLease) {
  weft::run([] {
    peer_proc b;
    auto kb = weft::dial<keeper>(b.address(), "keeper");
    { EXPECT_EQ(kb.call<&keeper::keep>(weft::ref(std::make_shared<counter>())).get(), 1); }
    EXPECT_EQ(ct::live_exports(), 1u);
    auto t0 = clk::now();
    b.kill();
    EXPECT_EQ(ct::live_exports(), 1u);  // not at once: b's lease runs
    EXPECT_TRUE(eventually([] { return ct::live_exports() == 0; }, lease + 2s));
    EXPECT_GE(clk::now() - t0, lease - 500ms);
  });
}

TEST_F(XrefPeers, PermRefOutlivesAKilledHolder) {
  weft::run([] {
    peer_proc b;
    auto kb = weft::dial<keeper>(b.address(), "keeper");
    { EXPECT_EQ(kb.call<&keeper::keep>(weft::perm_ref(std::make_shared<counter>())).get(), 1); }
    b.kill();
    weft::this_goroutine::sleep_for(lease + 800ms);
    EXPECT_EQ(ct::live_exports(), 1u);
  });
}

TEST_F(XrefPeers, OwnerWithAnotherSignatureRefusesNamingTheMethod) {
  weft::run([] {
    peer_proc a({}, WEFT_TEST_XREF_PEER_OTHER);
    auto k = weft::dial<keeper>(a.address(), "keeper");
    weft::xref<counter> c = k.call<&keeper::make>(0).get();  // make's signature is the same in both
    try {
      c.call<&counter::add>(1).get();
      FAIL() << "the call ran";
    } catch (const weft::remote_error& e) {
      EXPECT_EQ(e.kind(), weft::remote_errc::refused);
      std::string m = e.what();
      EXPECT_NE(m.find("xref_test::counter::add is i64(i64)"), std::string::npos) << m;
      EXPECT_NE(m.find("called it as i32(i32)"), std::string::npos) << m;
    }
    EXPECT_EQ(c.call<&counter::get>().get(), 0);  // the rest of the object still works
  });
}

TEST_F(XrefPeers, PeerListeningOnLoopbackTcp) {
  weft::run([] {
    peer_proc a({"WEFT_PEER_LISTEN=tcp:127.0.0.1:0"});
    ASSERT_EQ(a.address().rfind("tcp:127.0.0.1:", 0), 0u) << a.address();
    auto k = weft::dial<keeper>(a.address(), "keeper");
    weft::xref<counter> c = k.call<&keeper::make>(2).get();
    EXPECT_EQ(c.owner(), a.address());
    EXPECT_EQ(c.call<&counter::add>(3).get(), 5);
    EXPECT_EQ(ct::links_dialed(), 1u);
  });
}

TEST_F(XrefPeers, ClusterKeyIsRequiredWhenConfigured) {
  std::string key = "/tmp/weft-xref-key-" + std::to_string(::getpid());
  {
    std::ofstream(key) << "0123456789abcdef0123456789abcdef";
    ::chmod(key.c_str(), 0600);
  }
  weft::run([&] {
    peer_proc a({"WEFT_KEY_FILE=" + key});
    ASSERT_FALSE(a.address().empty());
    try {
      (void)weft::dial<keeper>(a.address(), "keeper");
      FAIL() << "dialed without the key";
    } catch (const weft::remote_error& e) {
      EXPECT_EQ(e.kind(), weft::remote_errc::unauthorized) << e.what();
    }
    ::setenv("WEFT_KEY_FILE", key.c_str(), 1);
    EXPECT_EQ(weft::dial<keeper>(a.address(), "keeper").call<&keeper::live>().get(), 1);
    ::unsetenv("WEFT_KEY_FILE");
  });
  ::unlink(key.c_str());
}

}  // namespace
