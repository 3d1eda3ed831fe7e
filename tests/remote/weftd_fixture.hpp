// tests/remote/weftd_fixture.hpp: a real weftd for a test: started on a
// private Unix socket before the test, SIGKILLed (if still alive) and its
// socket removed after. WEFT_TEST_WEFTD is the binary's path (CMake).
// command: a child process whose stdout and stderr are kept (the weft
// command's output, for tests that run it).
//
// A derived fixture may ask for more in its constructor (weftd_config):
// a cluster key (files key_file() and, for refusals, other_key_file(), both
// 0600 in the test's directory), TLS (--tls), and loopback TCP instead of
// the Unix socket (the address weftd prints is then address()).
#pragma once

#include <gtest/gtest.h>

#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fcntl.h>
#include <sys/stat.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <weft/run.hpp>

extern char** environ;

namespace weft_test {

inline bool unix_socket_answers(const std::string& path) {
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_un a{};
  a.sun_family = AF_UNIX;
  std::strncpy(a.sun_path, path.c_str(), sizeof a.sun_path - 1);
  bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
  ::close(fd);
  return ok;
}

// Spawns argv with extra environment entries (and file actions, if given);
// returns the pid, or -1.
inline pid_t spawn_process(const std::vector<std::string>& argv, const std::vector<std::string>& env_extra = {},
                           const posix_spawn_file_actions_t* fa = nullptr) {
  std::vector<char*> args;
  for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  std::vector<std::string> env(env_extra);
  for (char** e = environ; *e; ++e) env.emplace_back(*e);
  std::vector<char*> envp;
  for (std::string& e : env) envp.push_back(e.data());
  envp.push_back(nullptr);
  pid_t pid = -1;
  if (posix_spawn(&pid, args[0], fa, nullptr, args.data(), envp.data()) != 0) return -1;
  return pid;
}

// Waits up to `limit` for pid; returns its wait status, or -1 on timeout.
inline int wait_status(pid_t pid, std::chrono::milliseconds limit) {
  auto end = std::chrono::steady_clock::now() + limit;
  int st = 0;
  while (std::chrono::steady_clock::now() < end) {
    pid_t r = ::waitpid(pid, &st, WNOHANG);
    if (r == pid) return st;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  return -1;
}

// A child process with its stdout and stderr captured in files; SIGKILLed
// by the destructor if still running.
class command {
 public:
  explicit command(const std::vector<std::string>& argv, const std::vector<std::string>& env_extra = {}) {
    static int n = 0;
    base_ = "/tmp/weft-test-cmd-" + std::to_string(::getpid()) + "-" + std::to_string(n++);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 1, (base_ + ".out").c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    posix_spawn_file_actions_addopen(&fa, 2, (base_ + ".err").c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    pid_ = spawn_process(argv, env_extra, &fa);
    posix_spawn_file_actions_destroy(&fa);
  }
  command(const command&) = delete;
  command& operator=(const command&) = delete;
  ~command() {
    if (pid_ > 0 && status_ < 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
    ::unlink((base_ + ".out").c_str());
    ::unlink((base_ + ".err").c_str());
  }
  // Its exit status (128 + N for signal N) within limit; -1 if it runs on.
  int wait(std::chrono::milliseconds limit = std::chrono::seconds(20)) {
    if (status_ >= 0 || pid_ <= 0) return status_;
    int st = wait_status(pid_, limit);
    if (st == -1) return -1;
    status_ = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
    return status_;
  }
  std::string out() const { return slurp(base_ + ".out"); }
  std::string err() const { return slurp(base_ + ".err"); }
  pid_t pid() const { return pid_; }

 private:
  static std::string slurp(const std::string& path) {
    std::ifstream in(path);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }
  std::string base_;
  pid_t pid_ = -1;
  int status_ = -1;
};

// What a fixture's weftd is started with (beyond the defaults).
struct weftd_config {
  bool key = false;  // --key key_file()
  bool tls = false;  // --tls (implies key)
  bool tcp = false;  // --listen tcp:127.0.0.1:0 instead of the Unix socket
};

// Writes n random bytes to path, mode 0600.
inline void write_key_file(const std::string& path, std::size_t n = 32) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  std::ifstream rnd("/dev/urandom", std::ios::binary);
  std::string bytes(n, '\0');
  rnd.read(bytes.data(), static_cast<std::streamsize>(n));
  if (fd >= 0) {
    if (::write(fd, bytes.data(), bytes.size()) != static_cast<ssize_t>(bytes.size())) std::perror(path.c_str());
    ::close(fd);
  }
}

class weftd_test : public ::testing::Test {
 protected:
  weftd_test() = default;
  explicit weftd_test(weftd_config c) : config_(c) {}

  void SetUp() override {
    socket_ = "/tmp/weft-test-" + std::to_string(::getpid()) + "-" + std::to_string(counter()++) + ".sock";
    // weftd's log goes to a file, shown when the test fails: a weftd left
    // running by a test killed for a timeout must not hold the test's
    // stdout open (ctest would wait for it).
    log_ = socket_ + ".log";
    // Its own runtime directory: the workers' logs it keeps go there, and
    // go with it (a SIGKILLed weftd cannot remove them).
    dir_ = socket_ + ".d";
    ::mkdir(dir_.c_str(), 0700);
    std::vector<std::string> argv = {WEFT_TEST_WEFTD, "--listen", config_.tcp ? "tcp:127.0.0.1:0" : "unix:" + socket_};
    if (config_.key || config_.tls) {
      write_key_file(key_file());
      write_key_file(other_key_file());
      argv.insert(argv.end(), {"--key", key_file()});
    }
    if (config_.tls) argv.push_back("--tls");
    for (std::string& a : weftd_extra_args()) argv.push_back(std::move(a));
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 1, log_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    posix_spawn_file_actions_adddup2(&fa, 1, 2);
    pid_ = spawn_process(argv, {"XDG_RUNTIME_DIR=" + dir_}, &fa);
    posix_spawn_file_actions_destroy(&fa);
    ASSERT_GT(pid_, 0) << "could not start " << WEFT_TEST_WEFTD;
    auto end = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    if (config_.tcp) {
      // "weftd: listening on tcp:127.0.0.1:41234" (tls:... with --tls)
      for (;;) {
        std::string log = log_text();
        std::size_t at = log.find("listening on ");
        std::size_t eol = at == std::string::npos ? std::string::npos : log.find('\n', at);
        if (eol != std::string::npos) {
          address_ = log.substr(at + 13, eol - at - 13);
          break;
        }
        ASSERT_LT(std::chrono::steady_clock::now(), end) << "weftd did not say where it listens: " << log;
        std::this_thread::sleep_for(std::chrono::milliseconds(2));
      }
      return;
    }
    address_ = (config_.tls ? "tls:unix:" : "unix:") + socket_;
    while (!unix_socket_answers(socket_)) {
      ASSERT_LT(std::chrono::steady_clock::now(), end) << "weftd did not listen on " << socket_;
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
  }
  void TearDown() override {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
    ::unlink(socket_.c_str());
    if (HasFailure()) std::fprintf(stderr, "---- weftd's log (%s)\n%s----\n", log_.c_str(), log_text().c_str());
    ::unlink(log_.c_str());
    std::string rm = "rm -rf '" + dir_ + "'";
    if (std::system(rm.c_str()) != 0) std::fprintf(stderr, "could not remove %s\n", dir_.c_str());
  }
  // Ends the server for real (SIGKILL), as a crash would, and removes the
  // socket file it cannot: a death test's child, which never reaches
  // TearDown, would leave it in /tmp.
  void kill_server() {
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
    pid_ = -1;
    ::unlink(socket_.c_str());
  }
  // As clients write it: "unix:PATH", "tls:unix:PATH", "tls:127.0.0.1:PORT".
  std::string address() const { return address_; }
  pid_t server_pid() const { return pid_; }
  // More of weftd's arguments, for a fixture that needs them (--label).
  virtual std::vector<std::string> weftd_extra_args() const { return {}; }
  // The cluster key weftd was given, and another one (with weftd_config.key).
  std::string key_file() const { return dir_ + "/cluster.key"; }
  std::string other_key_file() const { return dir_ + "/other.key"; }
  // What weftd has logged so far.
  std::string log_text() const {
    std::ifstream in(log_);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }
  weft::options attached(int procs = 2) const {
    weft::options o;
    o.procs = procs;
    o.runtime = address();
    return o;
  }

 private:
  static int& counter() {
    static int n = 0;
    return n;
  }
  weftd_config config_;
  std::string socket_;
  std::string address_;
  std::string log_;
  std::string dir_;
  pid_t pid_ = -1;
};

}  // namespace weft_test
