// tools/weftd: the real binary as a child process. It says where it
// listens, serves clients over Unix and loopback TCP sockets, dies to
// SIGKILL without leaving its clients hanging (and its stale socket is
// reused by the next weftd), exits 0 on SIGTERM/SIGINT with its socket
// file gone, and exits 2 with a clear message when it cannot start.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <filesystem>

#include <weft/codec.hpp>

#include "server/server_testing.hpp"
#include "weft_test_util.hpp"

#ifndef WEFTD_PATH
#error "tests/CMakeLists.txt defines WEFTD_PATH for this test"
#endif

extern char** environ;

namespace {

using namespace server_testing;

class weftd {
 public:
  explicit weftd(std::vector<std::string> args) {
    int p[2];
    if (::pipe2(p, O_CLOEXEC) != 0) throw std::system_error(errno, std::generic_category(), "pipe");
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, p[1], 2);
    args.insert(args.begin(), WEFTD_PATH);
    std::vector<char*> argv;
    for (std::string& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    int rc = ::posix_spawn(&pid_, WEFTD_PATH, &fa, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&fa);
    ::close(p[1]);
    err_ = p[0];
    if (rc != 0) throw std::system_error(rc, std::generic_category(), "posix_spawn " WEFTD_PATH);
  }
  weftd(const weftd&) = delete;
  weftd& operator=(const weftd&) = delete;
  ~weftd() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
    ::close(err_);
  }

  // Reads its stderr until a line contains needle; the text from there.
  std::string wait_for(const std::string& needle, std::chrono::seconds limit = std::chrono::seconds(20)) {
    auto deadline = std::chrono::steady_clock::now() + limit;
    for (;;) {
      std::size_t at = out_.find(needle);
      if (at != std::string::npos) return out_.substr(at);
      if (!read_more(deadline)) return {};
    }
  }
  // Reads its stderr until needle occurs n times (or limit passes); how
  // many times it occurs.
  int wait_for_count(const std::string& needle, int n, std::chrono::seconds limit = std::chrono::seconds(20)) {
    auto deadline = std::chrono::steady_clock::now() + limit;
    for (;;) {
      int seen = 0;
      for (std::size_t at = out_.find(needle); at != std::string::npos; at = out_.find(needle, at + 1)) ++seen;
      if (seen >= n || !read_more(deadline)) return seen;
    }
  }
  // Its exit status (128 + N for a signal), within limit; -1 if it runs on.
  int wait_exit(std::chrono::seconds limit = std::chrono::seconds(20)) {
    auto deadline = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < deadline) {
      int st = 0;
      pid_t r = ::waitpid(pid_, &st, WNOHANG);
      if (r == pid_) {
        pid_ = -1;
        drain();
        return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    return -1;
  }
  void signal(int sig) { ::kill(pid_, sig); }
  // Reads the rest of its stderr (it has exited: the pipe ends).
  void drain() {
    for (;;) {
      pollfd pf{err_, POLLIN, 0};
      if (::poll(&pf, 1, 1000) <= 0) return;
      char buf[4096];
      ssize_t n = ::read(err_, buf, sizeof buf);
      if (n <= 0) return;
      out_.append(buf, static_cast<std::size_t>(n));
    }
  }
  const std::string& output() const { return out_; }

 private:
  // Appends what its stderr has by deadline; false when the time is up or
  // the pipe ended.
  bool read_more(std::chrono::steady_clock::time_point deadline) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return false;
    pollfd pf{err_, POLLIN, 0};
    if (::poll(&pf, 1, static_cast<int>(left.count())) <= 0) return true;  // the caller checks the time
    char buf[4096];
    ssize_t n = ::read(err_, buf, sizeof buf);
    if (n <= 0) return false;
    out_.append(buf, static_cast<std::size_t>(n));
    return true;
  }

  pid_t pid_ = -1;
  int err_ = -1;
  std::string out_;
};

struct temp_dir {
  temp_dir() {
    char tmpl[] = "/tmp/weftd-test-XXXXXX";
    path = ::mkdtemp(tmpl);
  }
  ~temp_dir() { std::filesystem::remove_all(path); }
  std::string path;
};

// Two clients share a channel through the server at addr.
void share_a_channel(const std::string& addr) {
  weft::wire::endpoint e = weft::wire::parse_endpoint(addr);
  test_client a(e), b(e);
  ASSERT_TRUE(a.handshake());
  ASSERT_TRUE(b.handshake());
  std::uint64_t ha = a.open_chan("q", 0), hb = b.open_chan("q", 0);
  frame recv;
  recv.set_id(b.next_id());
  recv.mutable_chan_recv()->set_handle(hb);
  recv.mutable_chan_recv()->set_mode(v1::WAIT);
  b.send(recv);
  frame send;
  send.mutable_chan_send()->set_handle(ha);
  send.mutable_chan_send()->set_value(weft::encode<std::string>("hello"));
  send.mutable_chan_send()->set_mode(v1::WAIT);
  std::optional<frame> done = a.call(send);
  ASSERT_TRUE(done);
  EXPECT_EQ(done_status(*done), "DONE");
  std::optional<frame> got = b.next();
  ASSERT_TRUE(got && got->has_chan_done());
  EXPECT_EQ(weft::decode<std::string>(got->chan_done().value()), "hello");
}

TEST(Weftd, ServesThenDiesToSigkillWithoutHangingItsClients) {
  temp_dir dir;
  const std::string addr = "unix:" + dir.path + "/w.sock";
  weftd w({"--listen", addr, "--procs", "2"});
  ASSERT_FALSE(w.wait_for("weftd: listening on " + addr + "\n").empty()) << w.output();
  weft::run([&] {
    share_a_channel(addr);
    test_client c(weft::wire::parse_endpoint(addr));
    ASSERT_TRUE(c.handshake());
    std::uint64_t h = c.open_chan("idle", 0);
    frame recv;
    recv.set_id(c.next_id());
    recv.mutable_chan_recv()->set_handle(h);
    recv.mutable_chan_recv()->set_mode(v1::WAIT);
    c.send(recv);  // parked on the server
    auto start = std::chrono::steady_clock::now();
    w.signal(SIGKILL);
    std::optional<frame> f = c.next(std::chrono::seconds(5));
    EXPECT_FALSE(f);
    EXPECT_FALSE(c.timed_out());
    EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(1));
  });
  EXPECT_EQ(w.wait_exit(), 128 + SIGKILL);
  // Its socket file is left behind; the next weftd replaces it.
  EXPECT_TRUE(std::filesystem::exists(dir.path + "/w.sock"));
  weftd next({"--listen", addr});
  ASSERT_FALSE(next.wait_for("listening on " + addr).empty()) << next.output();
  weft::run([&] { share_a_channel(addr); });
  next.signal(SIGTERM);
  EXPECT_EQ(next.wait_exit(), 0) << next.output();
}

// A program whose weft::run returns says goodbye before its connection
// closes (tracing or not): the server logs the reason, not "closed".
TEST(Weftd, AnAttachedProgramThatEndsSaysGoodbye) {
  temp_dir dir;
  const std::string addr = "unix:" + dir.path + "/w.sock";
  weftd w({"--listen", addr});
  ASSERT_FALSE(w.wait_for("listening on " + addr).empty()) << w.output();
  weft::options attached;
  attached.procs = 2;
  attached.runtime = addr;
  constexpr int runs = 5;
  for (int i = 0; i < runs; ++i) weft::run([] {}, attached);
  ASSERT_EQ(w.wait_for_count(" detached: ", runs), runs) << w.output();
  EXPECT_EQ(w.wait_for_count(" detached: said goodbye: weft::run returned", runs, std::chrono::seconds(0)), runs)
      << w.output();
}

TEST(Weftd, SigtermAndSigintExitZeroAndRemoveTheSocket) {
  for (int sig : {SIGTERM, SIGINT}) {
    temp_dir dir;
    const std::string path = dir.path + "/w.sock";
    weftd w({"--listen", "unix:" + path});
    ASSERT_FALSE(w.wait_for("listening on").empty()) << w.output();
    EXPECT_EQ(std::filesystem::status(path).permissions() & std::filesystem::perms::all,
              std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
    weft::run([&] {
      test_client c(weft::wire::parse_endpoint("unix:" + path));
      ASSERT_TRUE(c.handshake());
      w.signal(sig);
      EXPECT_FALSE(c.next(std::chrono::seconds(10)));  // the server ends the connection
      EXPECT_FALSE(c.timed_out());
    });
    EXPECT_EQ(w.wait_exit(), 0) << w.output();
    EXPECT_FALSE(std::filesystem::exists(path));
    EXPECT_NE(w.output().find("weftd: stopping on "), std::string::npos) << w.output();
  }
}

TEST(Weftd, ServesLoopbackTcp) {
  weftd w({"--listen", "tcp:127.0.0.1:0"});
  std::string line = w.wait_for("weftd: listening on tcp:127.0.0.1:");
  ASSERT_FALSE(line.empty()) << w.output();
  std::string addr = line.substr(std::string("weftd: listening on ").size());
  addr = addr.substr(0, addr.find('\n'));
  weft::run([&] { share_a_channel(addr); });
  w.signal(SIGTERM);
  EXPECT_EQ(w.wait_exit(), 0) << w.output();
}

TEST(Weftd, ExitsTwoWhenItCannotStart) {
  struct bad_case {
    std::vector<std::string> args;
    std::string says;
  };
  temp_dir dir;
  weftd live({"--listen", "unix:" + dir.path + "/live.sock"});
  ASSERT_FALSE(live.wait_for("listening on").empty()) << live.output();
  for (const bad_case& c : std::vector<bad_case>{
           {{"--listen", "unix:/proc/no/such/dir/w.sock"}, "weftd: cannot listen on unix:/proc/no/such/dir/w.sock"},
           {{"--listen", "tcp:0.0.0.0:0"}, "give one with --key FILE"},
           {{"--listen", "tcp::7777"}, "give one with --key FILE"},
           {{"--key", dir.path + "/no-such-key"}, "no-such-key: No such file or directory"},
           {{"--listen", "nonsense"}, "write unix:/path/to/socket or tcp:host:port"},
           {{"--listen", "unix:" + dir.path + "/live.sock"}, "already listens"},
           {{"--procs", "0"}, "--procs"},
           {{"--no-such-flag"}, "no-such-flag"},
           {{"--label", "zone"}, "--label: a label is NAME=VALUE"},
           {{"--label", "a b=c"}, "--label: label name"},
           {{"--name", "bad/name"}, "--name \"bad/name\": letters, digits"},
       }) {
    weftd w(c.args);
    EXPECT_EQ(w.wait_exit(), 2) << c.args[0] << ": " << w.output();
    EXPECT_NE(w.output().find(c.says), std::string::npos) << w.output();
  }
  live.signal(SIGTERM);
  EXPECT_EQ(live.wait_exit(), 0);
}

}  // namespace
