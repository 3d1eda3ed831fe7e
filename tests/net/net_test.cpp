// tests/net/net_test.cpp: weft::net. Echo over tcp4, tcp6 and unix; the
// address formats; errors that name the operation and the address (refused,
// malformed addresses); end of stream, half-close, a reset peer; deadlines
// that fire on time and leave the conn usable; close from another goroutine
// waking accept, read and write; no SIGPIPE; many connections at once
// (500 here, 10,000 under Long.*). Concurrent scenarios run at every procs
// value of weft_test::all_procs().
#include <weft/net.hpp>
#include <weft/weft.hpp>

#include <gtest/gtest.h>

#include <netinet/in.h>
#include <spawn.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <string>
#include <system_error>
#include <vector>

#include "weft_test_util.hpp"

namespace {

using weft_test::procs_name;
using weft_test::procs_opt;
using weft_test::wait_parked;

using namespace std::chrono_literals;
using steady = std::chrono::steady_clock;
namespace net = weft::net;

// How late a deadline may fire: 20 ms, more under sanitizers.
constexpr auto late_margin = weft_test::sanitized ? 100ms : 20ms;

std::span<const std::byte> bytes(std::string_view s) { return std::as_bytes(std::span(s.data(), s.size())); }

// Reads exactly n bytes (fewer only at end of stream).
std::string read_n(net::conn& c, std::size_t n) {
  std::string s(n, '\0');
  s.resize(c.read_full(std::as_writable_bytes(std::span(s.data(), s.size()))));
  return s;
}

std::string read_some(net::conn& c) {
  char buf[256];
  return std::string(buf, c.read(std::as_writable_bytes(std::span(buf))));
}

// The std::system_error call throws (a test failure if none).
template <class F>
std::system_error thrown(F call) {
  try {
    call();
  } catch (const std::system_error& e) {
    return e;
  }
  ADD_FAILURE() << "no std::system_error thrown";
  return std::system_error(std::error_code(), "none");
}

bool mentions(const std::system_error& e, const std::string& part) {
  return std::string(e.what()).find(part) != std::string::npos;
}

// True if a is host + ":" + a non-zero port number. (Not std::regex: g++ 12
// warns inside it under the sanitizers.)
bool is_host_port(const std::string& a, const std::string& host) {
  if (a.rfind(host + ":", 0) != 0) return false;
  std::string port = a.substr(host.size() + 1);
  return !port.empty() && port[0] != '0' && port.find_first_not_of("0123456789") == std::string::npos;
}

bool have_ipv6_loopback() {
  int s = ::socket(AF_INET6, SOCK_STREAM, 0);
  if (s < 0) return false;
  sockaddr_in6 a{};
  a.sin6_family = AF_INET6;
  a.sin6_addr = in6addr_loopback;
  bool ok = ::bind(s, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
  ::close(s);
  return ok;
}

std::string unix_path() {
  static std::atomic<int> n{0};
  return "/tmp/weft-net-test-" + std::to_string(::getpid()) + "-" + std::to_string(n++) + ".sock";
}

// Raises the soft open-file limit to the hard one; true if it allows `need`.
bool enough_fds(rlim_t need, std::string* why) {
  rlimit rl{};
  getrlimit(RLIMIT_NOFILE, &rl);
  if (rl.rlim_cur < need && rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
    getrlimit(RLIMIT_NOFILE, &rl);
  }
  if (rl.rlim_cur >= need) return true;
  *why = "needs " + std::to_string(need) + " open files; ulimit -n is " + std::to_string(rl.rlim_cur) +
         " (hard limit " + std::to_string(rl.rlim_max) + ")";
  return false;
}

// An echo server on ln: one goroutine accepts until ln is closed, one per
// connection echoes until end of stream. wait() closes ln and joins them all.
class echo_server {
 public:
  explicit echo_server(net::listener& ln) : ln_(ln) {
    wg_.add(1);
    weft::go(weft_test::named("acceptor"), [this] {
      for (;;) {
        net::conn c;
        try {
          c = ln_.accept();
        } catch (const std::system_error& e) {
          EXPECT_EQ(e.code(), std::errc::bad_file_descriptor) << e.what();
          break;
        }
        wg_.add(1);
        weft::go([this, c = std::move(c)]() mutable {
          char buf[4096];
          try {
            while (std::size_t n = c.read(std::as_writable_bytes(std::span(buf))))
              c.write(std::as_bytes(std::span(buf, n)));
          } catch (const std::system_error& e) {
            ADD_FAILURE() << "echo: " << e.what();
          }
          wg_.done();
        });
      }
      wg_.done();
    });
  }
  void wait() {
    ln_.close();
    wg_.wait();
  }

 private:
  net::listener& ln_;
  weft::wait_group wg_;
};

// kClients goroutines each dial address and make kRounds round trips of
// messages of varied sizes (up to 64 KiB: writes that fill socket buffers).
void echo_scenario(const char* network, const std::string& address, int procs) {
  weft::run(
      [&] {
        net::listener ln = net::listen(network, address);
        echo_server server(ln);
        constexpr int kClients = 8, kRounds = 20;
        weft::wait_group wg;
        wg.add(kClients);
        for (int i = 0; i < kClients; ++i) {
          weft::go([&, i] {
            net::conn c = net::dial(network, ln.address());
            EXPECT_EQ(c.remote_address(), ln.address());
            for (int r = 0; r < kRounds; ++r) {
              std::size_t size = 1 + static_cast<std::size_t>((i * 7919 + r * 104729) % 65536);
              std::string msg(size, '\0');
              for (std::size_t k = 0; k < size; ++k) msg[k] = static_cast<char>('a' + (i + r + k) % 26);
              c.write(bytes(msg));
              EXPECT_EQ(read_n(c, size), msg) << "client " << i << " round " << r;
            }
            c.close_write();
            EXPECT_EQ(read_some(c), "");  // the server closes after our end of stream
            wg.done();
          });
        }
        wg.wait();
        server.wait();
      },
      procs_opt(procs));
}

class NetProcs : public ::testing::TestWithParam<int> {};

TEST_P(NetProcs, EchoTcp4) { echo_scenario("tcp4", "127.0.0.1:0", GetParam()); }

TEST_P(NetProcs, EchoTcp6) {
  if (!have_ipv6_loopback()) GTEST_SKIP() << "no IPv6 loopback (::1) on this host";
  echo_scenario("tcp6", "[::1]:0", GetParam());
}

TEST_P(NetProcs, EchoUnix) {
  std::string path = unix_path();
  echo_scenario("unix", path, GetParam());
  EXPECT_NE(::access(path.c_str(), F_OK), 0) << "close leaves the socket file " << path;
}

// One goroutine writes 4 MiB while another reads the echo on the same conn.
TEST_P(NetProcs, ReadWhileWriting) {
  weft::run(
      [] {
        net::listener ln = net::listen("tcp", "127.0.0.1:0");
        echo_server server(ln);
        net::conn c = net::dial("tcp", ln.address());
        constexpr std::size_t kTotal = 4 << 20;
        weft::wait_group wg;
        wg.add(1);
        weft::go([&] {
          std::string chunk(8192, '\0');
          for (std::size_t sent = 0; sent < kTotal; sent += chunk.size()) {
            for (std::size_t k = 0; k < chunk.size(); ++k) chunk[k] = static_cast<char>((sent + k) % 251);
            c.write(bytes(chunk));
          }
          c.close_write();
          wg.done();
        });
        std::size_t got = 0;
        bool ok = true;
        char buf[5000];
        while (std::size_t n = c.read(std::as_writable_bytes(std::span(buf)))) {
          for (std::size_t k = 0; k < n; ++k) ok = ok && buf[k] == static_cast<char>((got + k) % 251);
          got += n;
        }
        EXPECT_TRUE(ok);
        EXPECT_EQ(got, kTotal);
        wg.wait();
        server.wait();
      },
      procs_opt(GetParam()));
}

TEST(Net, AddressFormats) {
  weft::run([] {
    net::listener ln4 = net::listen("tcp4", "127.0.0.1:0");
    EXPECT_TRUE(is_host_port(ln4.address(), "127.0.0.1")) << ln4.address();
    net::listener any = net::listen("tcp", ":0");
    EXPECT_TRUE(is_host_port(any.address(), "[::]") || is_host_port(any.address(), "0.0.0.0")) << any.address();
    if (have_ipv6_loopback()) {
      net::listener ln6 = net::listen("tcp6", "[::1]:0");
      EXPECT_TRUE(is_host_port(ln6.address(), "[::1]")) << ln6.address();
    }
    std::string path = unix_path();
    net::listener lnu = net::listen("unix", path);
    EXPECT_EQ(lnu.address(), path);
    lnu.close();
    EXPECT_NE(::access(path.c_str(), F_OK), 0);
    EXPECT_EQ(lnu.address(), path);  // still known after close
    std::string abstract = "@weft-net-test-" + std::to_string(::getpid());  // Linux: no file
    EXPECT_EQ(net::listen("unix", abstract).address(), abstract);

    // Both ends agree on who is who; "localhost" tries each address in turn.
    std::string port = ln4.address().substr(ln4.address().rfind(':') + 1);
    weft::wait_group wg;
    wg.add(1);
    std::string server_saw;
    weft::go([&] {
      net::conn s = ln4.accept();
      server_saw = s.remote_address();
      EXPECT_EQ(s.local_address(), ln4.address());
      s.write("x");
      wg.done();
    });
    net::conn c = net::dial("tcp", "localhost:" + port);
    EXPECT_EQ(c.remote_address(), ln4.address());
    EXPECT_TRUE(is_host_port(c.local_address(), "127.0.0.1")) << c.local_address();
    EXPECT_EQ(read_some(c), "x");
    wg.wait();
    EXPECT_EQ(server_saw, c.local_address());
  });
}

TEST(Net, DialRefusedNamesTheAddress) {
  weft::run([] {
    std::string where;
    {
      net::listener ln = net::listen("tcp", "127.0.0.1:0");
      where = ln.address();
    }  // closed: nothing listens there now
    auto e = thrown([&] { net::dial("tcp", where); });
    EXPECT_EQ(e.code(), std::errc::connection_refused);
    EXPECT_EQ(std::string(e.what()), "weft::net::dial tcp " + where + ": Connection refused");
    e = thrown([] { net::dial("unix", "/nonexistent/weft.sock"); });
    EXPECT_EQ(e.code(), std::errc::no_such_file_or_directory);
    EXPECT_TRUE(mentions(e, "weft::net::dial unix /nonexistent/weft.sock: ")) << e.what();
  });
}

TEST(Net, MalformedAddresses) {
  auto fails = [](auto call, const std::string& want) {
    auto e = thrown(call);
    EXPECT_TRUE(mentions(e, want)) << e.what();
  };
  weft::run([&] {
    fails([] { net::dial("tcp", "127.0.0.1"); }, "weft::net::dial tcp 127.0.0.1: missing port in address");
    fails([] { net::dial("tcp", "::1:80"); }, "too many colons in address");
    fails([] { net::dial("tcp", "[::1:80"); }, "missing ']' in address");
    fails([] { net::dial("tcp", "127.0.0.1:99999"); }, "invalid port");
    fails([] { net::dial("udp", "127.0.0.1:53"); }, "weft::net::dial udp 127.0.0.1:53: unknown network udp");
    fails([] { net::listen("tcp4", "[::1]:0"); }, "weft::net::listen tcp4 [::1]:0: no suitable address");
    fails([] { net::listen("unix", std::string(200, 'x')); }, "File name too long");
  });
}

TEST(Net, ClosedAndEmptyObjects) {
  weft::run([] {
    net::conn none;
    auto e = thrown([&] { read_some(none); });
    EXPECT_EQ(e.code(), std::errc::bad_file_descriptor);
    EXPECT_STREQ(e.what(), "weft::net::read: use of closed network connection");
    net::listener ln = net::listen("tcp", "127.0.0.1:0");
    net::listener moved = std::move(ln);
    EXPECT_THROW(ln.accept(), std::system_error);  // a moved-from listener is empty
    weft::wait_group wg;
    wg.add(1);
    weft::go([&] {
      net::conn s = moved.accept();
      wg.done();
    });
    net::conn c = net::dial("tcp", moved.address());
    c.close();
    c.close();  // twice is fine
    EXPECT_THROW(c.write("x"), std::system_error);
    EXPECT_THROW(c.set_deadline(steady::now()), std::system_error);
    wg.wait();
  });
}

TEST_P(NetProcs, EndOfStreamAndHalfClose) {
  weft::run(
      [] {
        net::listener ln = net::listen("tcp", "127.0.0.1:0");
        weft::wait_group wg;
        wg.add(1);
        weft::go([&] {
          net::conn s = ln.accept();
          // Reads to the client's close_write, then still answers.
          std::string got;
          for (std::string part; !(part = read_some(s)).empty();) got += part;
          EXPECT_EQ(got, "ping");
          s.write("pong");
          s.close();
          wg.done();
        });
        net::conn c = net::dial("tcp", ln.address());
        c.write("ping");
        c.close_write();
        EXPECT_EQ(read_n(c, 4), "pong");
        EXPECT_EQ(read_some(c), "");  // end of stream, every time
        EXPECT_EQ(read_some(c), "");
        EXPECT_EQ(c.read({}), 0u);
        wg.wait();
      },
      procs_opt(GetParam()));
}

// A raw blocking socket connected to address (tcp4): a peer the test can reset.
int raw_dial(const std::string& address) {
  int s = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<std::uint16_t>(std::stoi(address.substr(address.rfind(':') + 1))));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  EXPECT_EQ(::connect(s, reinterpret_cast<sockaddr*>(&a), sizeof a), 0) << std::strerror(errno);
  return s;
}

TEST_P(NetProcs, PeerResetMidRead) {
  weft::run(
      [] {
        net::listener ln = net::listen("tcp4", "127.0.0.1:0");
        int raw = raw_dial(ln.address());
        net::conn s = ln.accept();
        weft::wait_group wg;
        wg.add(1);
        weft::go(weft_test::named("reader"), [&] {
          auto e = thrown([&] { read_some(s); });
          EXPECT_EQ(e.code(), std::errc::connection_reset) << e.what();
          EXPECT_TRUE(mentions(e, "weft::net::read tcp4 " + ln.address() + "->127.0.0.1:")) << e.what();
          wg.done();
        });
        ASSERT_TRUE(wait_parked("reader", 1));
        linger lg{1, 0};  // close sends RST instead of FIN
        ::setsockopt(raw, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
        ::close(raw);
        wg.wait();
      },
      procs_opt(GetParam()));
}

TEST_P(NetProcs, WriteToClosedPeerThrowsWithoutSigpipe) {
  std::signal(SIGPIPE, SIG_DFL);  // a SIGPIPE would end this test program
  weft::run(
      [] {
        net::listener ln = net::listen("tcp", "127.0.0.1:0");
        weft::wait_group wg;
        wg.add(1);
        weft::go([&] {
          ln.accept().close();
          wg.done();
        });
        net::conn c = net::dial("tcp", ln.address());
        wg.wait();
        EXPECT_EQ(read_some(c), "");  // the peer is gone
        std::string chunk(65536, 'x');
        auto e = thrown([&] {
          for (int i = 0; i < 1000; ++i) c.write(bytes(chunk));  // 64 MB
        });
        EXPECT_TRUE(e.code() == std::errc::broken_pipe || e.code() == std::errc::connection_reset) << e.what();
        EXPECT_TRUE(mentions(e, "weft::net::write tcp")) << e.what();
      },
      procs_opt(GetParam()));
}

// Expects call to throw timed_out between `after` and `after` + slack +
// late_margin.
template <class F>
void times_out(F call, std::chrono::nanoseconds after, std::chrono::nanoseconds slack = {}) {
  auto t0 = steady::now();
  auto e = thrown(call);
  EXPECT_EQ(e.code(), std::errc::timed_out) << e.what();
  EXPECT_EQ(e.code(), std::make_error_code(std::errc::timed_out));
  auto took = steady::now() - t0;
  EXPECT_GE(took, after);
  EXPECT_LE(took, after + slack + late_margin)
      << "took " << std::chrono::duration<double, std::milli>(took).count() << " ms for a deadline "
      << std::chrono::duration<double, std::milli>(after).count() << " ms away";
}

TEST_P(NetProcs, Deadlines) {
  weft::run(
      [] {
        net::listener ln = net::listen("tcp", "127.0.0.1:0");
        net::conn c = net::dial("tcp", ln.address());
        net::conn s = ln.accept();
        // Read: fires on time, then the conn reads normally.
        c.set_read_deadline(steady::now() + 50ms);
        times_out([&] { read_some(c); }, 50ms);
        c.set_read_deadline(steady::time_point::max());
        s.write("a");
        EXPECT_EQ(read_some(c), "a");
        // A deadline already passed fails at once even with data waiting.
        s.write("b");
        weft::this_goroutine::sleep_for(5ms);
        c.set_read_deadline(steady::now() - 1ms);
        times_out([&] { read_some(c); }, 0ms);
        c.set_deadline(steady::time_point::max());
        EXPECT_EQ(read_some(c), "b");
        // Moved while a reader waits: the reader wakes at the new time.
        // The mover's clock, not this goroutine's, says when the read may end:
        // the mover may run well before this goroutine reads.
        c.set_read_deadline(steady::now() + 10s);
        std::atomic<steady::rep> moved_to{0};
        weft::go([&] {
          weft::this_goroutine::sleep_for(10ms);
          auto when = steady::now() + 30ms;
          moved_to.store(when.time_since_epoch().count());
          c.set_read_deadline(when);
        });
        times_out([&] { read_some(c); }, 0ms, 40ms);
        auto ended = steady::now();
        steady::time_point when{steady::duration{moved_to.load()}};
        EXPECT_GE(ended, when) << "the read ended before the moved deadline";
        EXPECT_LE(ended, when + late_margin);
        c.set_read_deadline(steady::time_point::max());
        // Write: s does not read, so the buffers fill and the write waits.
        std::string big(64 << 20, 'w');  // more than loopback's socket buffers hold
        c.set_write_deadline(steady::now() + 50ms);
        times_out([&] { c.write(bytes(big)); }, 50ms);
        c.set_write_deadline(steady::time_point::max());
        weft::wait_group wg;
        wg.add(1);
        weft::go([&] {  // drain s; the stream must end with the write after the timeout
          std::string tail;
          char buf[16384];
          while (std::size_t n = s.read(std::as_writable_bytes(std::span(buf)))) {
            tail.append(buf, n);
            if (tail.size() > 16) tail.erase(0, tail.size() - 16);
          }
          EXPECT_TRUE(tail.ends_with("end")) << tail;
          wg.done();
        });
        c.write("end");
        c.close_write();
        wg.wait();
        // Accept has a deadline too.
        ln.set_deadline(steady::now() + 30ms);
        times_out([&] { ln.accept(); }, 30ms);
      },
      procs_opt(GetParam()));
}

TEST(Net, DialTimeout) {
  weft::run([] {
    net::listener ln = net::listen("tcp", "127.0.0.1:0");
    // A timeout already over when connect returns EINPROGRESS.
    try {
      net::conn c = net::dial("tcp", ln.address(), 1ns);
    } catch (const std::system_error& e) {
      EXPECT_EQ(e.code(), std::errc::timed_out) << e.what();
      EXPECT_NE(std::string(e.what()).find("weft::net::dial tcp " + ln.address()), std::string::npos);
    }
    net::conn ok = net::dial("tcp", ln.address(), 5s);  // a generous one does not fire
    EXPECT_EQ(ok.remote_address(), ln.address());
  });
}

TEST_P(NetProcs, CloseWakesBlockedAcceptReadAndWrite) {
  weft::run(
      [] {
        net::listener ln = net::listen("tcp", "127.0.0.1:0");
        net::listener idle = net::listen("tcp", "127.0.0.1:0");
        net::conn c = net::dial("tcp", ln.address());
        net::conn s = ln.accept();
        net::conn w = net::dial("tcp", ln.address());
        net::conn ws = ln.accept();  // never reads: w's writes block
        std::atomic<int> woken{0};
        weft::wait_group wg;
        auto blocked = [&](const char* name, auto call) {
          wg.add(1);
          weft::go(weft_test::named(name), [&, name, call] {
            auto e = thrown(call);
            EXPECT_EQ(e.code(), std::errc::bad_file_descriptor) << name << ": " << e.what();
            EXPECT_TRUE(mentions(e, "use of closed network connection")) << e.what();
            if (e.code() == std::errc::bad_file_descriptor) ++woken;
            wg.done();
          });
        };
        blocked("acceptor", [&] { idle.accept(); });
        blocked("reader", [&] { read_some(c); });
        blocked("writer", [&] {
          std::string big(1 << 20, 'w');
          for (;;) w.write(bytes(big));
        });
        // A second reader queues behind the first and fails the same way.
        blocked("reader2", [&] { read_some(c); });
        ASSERT_TRUE(wait_parked("acceptor", 1));
        ASSERT_TRUE(wait_parked("reader", 1));
        ASSERT_TRUE(wait_parked("reader2", 1));
        ASSERT_TRUE(wait_parked("writer", 1));
        idle.close();
        c.close();
        w.close();
        wg.wait();
        EXPECT_EQ(woken.load(), 4);
        EXPECT_EQ(read_some(s), "");  // the peer saw the close
      },
      procs_opt(GetParam()));
}

// n clients, all connected at once, each making one round trip, to `where`
// or (if empty) to a server of their own.
void many_connections(int n, int procs, const std::string& where = "") {
  weft::run(
      [n, &where] {
        net::listener ln;
        std::optional<echo_server> server;
        if (where.empty()) {
          ln = net::listen("tcp", "127.0.0.1:0");
          server.emplace(ln);
        }
        std::string address = where.empty() ? ln.address() : where;
        weft::wait_group dialed, done;
        dialed.add(n);
        done.add(n);
        std::atomic<int> ok{0};
        for (int i = 0; i < n; ++i) {
          weft::go([&, i] {
            net::conn c;
            try {
              c = net::dial("tcp", address);
            } catch (const std::system_error& e) {
              ADD_FAILURE() << "client " << i << ": " << e.what();
            }
            dialed.done();
            dialed.wait();  // every connection is open at this point
            try {
              std::string msg = "client " + std::to_string(i);
              c.write(bytes(msg));
              if (read_n(c, msg.size()) == msg) ++ok;
            } catch (const std::system_error& e) {
              ADD_FAILURE() << "client " << i << ": " << e.what();
            }
            done.done();
          });
        }
        done.wait();
        EXPECT_EQ(ok.load(), n);
        if (server) server->wait();
      },
      procs_opt(procs));
}

TEST_P(NetProcs, FiveHundredConnections) {
  std::string why;
  if (!enough_fds(2 * 500 + 64, &why)) GTEST_SKIP() << why;
  many_connections(500, GetParam());
}

constexpr int kTenThousand = 10000;

// The server side of Long.TenThousandConnections when one process may not
// hold both ends (two descriptors a connection): this test program again,
// started by the test, serving until it is killed (or its parent dies).
TEST(Long, EchoServerProcess) {
  if (!std::getenv("WEFT_NET_TEST_SERVE")) GTEST_SKIP() << "runs only as Long.TenThousandConnections' server";
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);
  std::string why;
  ASSERT_TRUE(enough_fds(kTenThousand + 64, &why)) << why;
  weft::run(
      [] {
        net::listener ln = net::listen("tcp", "127.0.0.1:0");
        echo_server server(ln);
        std::printf("addr=%s\n", ln.address().c_str());
        std::fflush(stdout);
        for (;;) weft::this_goroutine::sleep_for(1s);
      },
      procs_opt(2));
}

// Starts Long.EchoServerProcess; returns its address ("" if it failed).
std::string start_server_process(pid_t* pid) {
  int p[2];
  if (::pipe(p) != 0) return "";
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, p[1], 1);
  posix_spawn_file_actions_addclose(&fa, p[0]);
  std::vector<char*> env;
  for (char** e = environ; *e; ++e) env.push_back(*e);
  std::string serve = "WEFT_NET_TEST_SERVE=1", filter = "--gtest_filter=Long.EchoServerProcess";
  env.push_back(serve.data());
  env.push_back(nullptr);
  char* argv[] = {filter.data(), filter.data(), nullptr};
  int r = posix_spawn(pid, "/proc/self/exe", &fa, nullptr, argv, env.data());
  posix_spawn_file_actions_destroy(&fa);
  ::close(p[1]);
  std::string out, where;  // gtest's own lines come first
  char buf[256];
  for (long k; r == 0 && where.empty() && (k = ::read(p[0], buf, sizeof buf)) > 0;) {
    out.append(buf, static_cast<std::size_t>(k));
    std::size_t a = out.find("addr="), e = out.find('\n', a);
    if (a != std::string::npos && e != std::string::npos) where = out.substr(a + 5, e - a - 5);
  }
  ::close(p[0]);
  return where;
}

TEST(Long, TenThousandConnections) {
  std::string why;
  bool one_process = enough_fds(2 * kTenThousand + 64, &why);
  if (!one_process && !enough_fds(kTenThousand + 64, &why)) GTEST_SKIP() << why;
  pid_t server = 0;
  std::string where;
  if (!one_process) {
    where = start_server_process(&server);
    ASSERT_NE(where, "") << "the server process did not start";
  }
  for (int procs : weft_test::all_procs()) {
    SCOPED_TRACE("procs " + std::to_string(procs));
    many_connections(kTenThousand, procs, where);
  }
  if (server > 0) {
    ::kill(server, SIGKILL);
    ::waitpid(server, nullptr, 0);
  }
}

INSTANTIATE_TEST_SUITE_P(Procs, NetProcs, ::testing::ValuesIn(weft_test::all_procs()), procs_name);

}  // namespace
