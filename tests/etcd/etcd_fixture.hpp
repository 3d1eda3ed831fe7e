// tests/etcd/etcd_fixture.hpp: a real etcd for a test (etcd_process, the
// etcd_test fixture), and a TCP relay to put between a client and it that
// the test can cut (a partition). Debian's etcd binary is WEFT_TEST_ETCD
// (CMake). For the etcd client's suite now, and weftd's --etcd tests later.
#pragma once

#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <memory>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <weft/weft.hpp>
#include <weft/net.hpp>

#include "child_process.hpp"

namespace weft_test {

// One plain HTTP/1.0 GET on 127.0.0.1:port (blocking, 1 s timeouts): the
// response, headers and body, or "" if nothing answered.
inline std::string http_get(int port, const std::string& path) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return "";
  timeval tv{1, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(static_cast<std::uint16_t>(port));
  std::string out;
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0) {
    std::string req = "GET " + path + " HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n";
    if (::write(fd, req.data(), req.size()) == static_cast<ssize_t>(req.size())) {
      char buf[4096];
      for (ssize_t n; (n = ::read(fd, buf, sizeof buf)) > 0;) out.append(buf, static_cast<std::size_t>(n));
    }
  }
  ::close(fd);
  return out;
}

// Where etcd keeps its data: /dev/shm (tmpfs) when there is one. etcd
// fsyncs its log at every write; on a busy disk one fsync took 1.7 s here,
// longer than the TTL + 1 s in which the lease tests expect keys to go, and
// those tests are about etcd and the client, not the disk.
inline std::string etcd_data_base() { return ::access("/dev/shm", W_OK) == 0 ? "/dev/shm" : ""; }

// A one-member etcd cluster of its own. start() the first time makes the
// cluster; after kill(), start() brings the same member back on the same
// ports and data directory.
class etcd_process {
 public:
  etcd_process() : dir_("weft-etcd", etcd_data_base()), client_port_(free_tcp_port()), peer_port_(free_tcp_port()) {
    while (peer_port_ == client_port_ && client_port_ != 0) peer_port_ = free_tcp_port();
  }
  ~etcd_process() { kill(); }
  etcd_process(const etcd_process&) = delete;
  etcd_process& operator=(const etcd_process&) = delete;

  ::testing::AssertionResult start() {
    if (::access(WEFT_TEST_ETCD, X_OK) != 0) {
      return ::testing::AssertionFailure() << "etcd is not installed at " WEFT_TEST_ETCD
                                              ": these tests run a real etcd (apt-get install etcd-server; "
                                              "scripts/deps.sh installs everything weft needs)";
    }
    if (dir_.path().empty() || client_port_ == 0 || peer_port_ == 0) {
      return ::testing::AssertionFailure() << "no temporary directory or free port for etcd";
    }
    const std::string client = "http://127.0.0.1:" + std::to_string(client_port_);
    const std::string peer = "http://127.0.0.1:" + std::to_string(peer_port_);
    // Tied: a test killed by ctest's timeout takes its etcd with it.
    pid_ = weft_test::spawn_tied({WEFT_TEST_ETCD, "--name", "weft-test", "--data-dir", dir_.path() + "/data",
                                  "--listen-client-urls", client, "--advertise-client-urls", client,
                                  "--listen-peer-urls", peer, "--initial-advertise-peer-urls", peer,
                                  "--initial-cluster", "weft-test=" + peer, "--initial-cluster-state", "new"},
                                 {}, log_path(), weft_test::log_mode::append);
    if (pid_ <= 0) return ::testing::AssertionFailure() << "could not start " WEFT_TEST_ETCD;
    const auto end = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (http_get(client_port_, "/health").find("\"health\":\"true\"") == std::string::npos) {
      if (::waitpid(pid_, nullptr, WNOHANG) == pid_) {
        pid_ = -1;
        return ::testing::AssertionFailure() << "etcd exited at start; its log:\n" << log();
      }
      if (std::chrono::steady_clock::now() > end) return ::testing::AssertionFailure() << "etcd not healthy in 30 s:\n" << log();
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return ::testing::AssertionSuccess();
  }
  // SIGKILL, as a crash would; the data directory stays.
  void kill() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
    pid_ = -1;
  }
  std::string endpoint() const { return "http://127.0.0.1:" + std::to_string(client_port_); }
  std::string log() const {
    std::ifstream in(log_path());
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }

 private:
  std::string log_path() const { return dir_.path() + "/etcd.log"; }
  weft_test::temp_dir dir_;
  int client_port_;
  int peer_port_;
  pid_t pid_ = -1;
};

// A fresh etcd per test (server_), started before it; its log is printed
// when the test fails.
class etcd_test : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(server_.start()); }
  void TearDown() override {
    if (HasFailure()) std::fprintf(stderr, "---- etcd's log\n%s----\n", server_.log().c_str());
  }
  etcd_process server_;
};

// A TCP relay between a client and etcd that the test can cut: while cut,
// it closes every connection it carries, and each new one at once (to the
// client, etcd is unreachable; etcd sees the client go away). Goroutines
// carry the bytes: REQUIRES inside weft::run, and destroyed there.
class relay {
 public:
  explicit relay(std::string target) : target_(std::move(target)), ln_(weft::net::listen("tcp", "127.0.0.1:0")) {
    wg_.add(1);
    weft::go([this] {
      for (;;) {
        weft::net::conn in;
        try {
          in = ln_.accept();
        } catch (const std::system_error&) {
          break;  // closed
        }
        if (cut_.load()) continue;  // `in` closes here
        auto a = std::make_shared<weft::net::conn>(std::move(in));
        std::shared_ptr<weft::net::conn> b;
        try {
          b = std::make_shared<weft::net::conn>(weft::net::dial("tcp", target_));
        } catch (const std::system_error&) {
          continue;
        }
        {
          std::lock_guard lk(mu_);
          conns_.push_back(a);
          conns_.push_back(b);
        }
        pump(a, b);
        pump(b, a);
      }
      wg_.done();
    });
  }
  ~relay() {
    ln_.close();
    cut();
    wg_.wait();
  }
  std::string endpoint() const { return "http://" + ln_.address(); }
  void cut() {
    cut_.store(true);
    std::lock_guard lk(mu_);
    for (auto& c : conns_) c->close();
    conns_.clear();
  }
  void heal() { cut_.store(false); }

 private:
  void pump(std::shared_ptr<weft::net::conn> from, std::shared_ptr<weft::net::conn> to) {
    wg_.add(1);
    weft::go([this, from, to] {
      std::vector<std::byte> buf(16384);
      try {
        for (std::size_t n; (n = from->read(buf)) > 0;) to->write(std::span(buf.data(), n));
      } catch (const std::system_error&) {
      }
      from->close();
      to->close();
      wg_.done();
    });
  }
  std::string target_;
  weft::net::listener ln_;
  std::atomic<bool> cut_{false};
  weft::mutex mu_;
  std::vector<std::shared_ptr<weft::net::conn>> conns_;
  weft::wait_group wg_;
};

// "http://host:port" -> "host:port".
inline std::string host_port(const std::string& url) { return url.substr(url.find("://") + 3); }

}  // namespace weft_test
