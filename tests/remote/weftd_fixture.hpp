// tests/remote/weftd_fixture.hpp: a real weftd for a test: started on a
// private Unix socket before the test, SIGKILLed (if still alive) and its
// socket removed after. WEFT_TEST_WEFTD is the binary's path (CMake). The
// helpers for child processes (spawn_process, wait_status, command) are in
// tests/child_process.hpp.
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

#include "child_process.hpp"

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
    // Tied to this process: a test that panics never reaches TearDown.
    pid_ = spawn_tied(argv, {"XDG_RUNTIME_DIR=" + dir_}, log_);
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
