// tests/net/quiet_close_test.cpp: net_access::accept_unless_closed and
// read_unless_closed (net/netfd.hpp), the forms an accept loop and a
// connection's reader use when a close from another goroutine is their
// normal end: they return empty for that close, parked or not yet begun,
// instead of throwing; they return what accept and read return otherwise;
// and every other failure (a deadline) still throws.
#include <weft/go.hpp>
#include <weft/net.hpp>
#include <weft/wait_group.hpp>
#include <weft/weft.hpp>

#include <gtest/gtest.h>

#include <chrono>
#include <optional>
#include <string>
#include <system_error>

#include "net/loopback_pair.hpp"
#include "net/netfd.hpp"
#include "weft_test_util.hpp"

namespace {

namespace net = weft::net;
using weft::detail::net_access;
using namespace std::chrono_literals;

std::span<std::byte> as_buf(std::string& s) { return std::as_writable_bytes(std::span(s.data(), s.size())); }

class QuietClose : public ::testing::TestWithParam<int> {};

TEST_P(QuietClose, AParkedAcceptEndsEmptyWhenAnotherGoroutineClosesTheListener) {
  weft::run(
      [] {
        net::listener ln = net::listen("tcp", "127.0.0.1:0");
        std::optional<net::conn> got{net::conn()};
        bool returned = false;
        weft::wait_group wg;
        wg.add(1);
        weft::go([&] {
          got = net_access::accept_unless_closed(ln);
          returned = true;
          wg.done();
        });
        weft::this_goroutine::sleep_for(5ms);  // parked in the accept by now
        EXPECT_FALSE(returned);
        ln.close();
        wg.wait();
        EXPECT_FALSE(got.has_value());
        // Begun after the close: empty at once, as listener::accept throws.
        EXPECT_FALSE(net_access::accept_unless_closed(ln).has_value());
        EXPECT_THROW(ln.accept(), std::system_error);
      },
      weft_test::procs_opt(GetParam()));
}

TEST_P(QuietClose, AnOpenListenerAcceptsAConnection) {
  weft::run(
      [] {
        net::listener ln = net::listen("tcp", "127.0.0.1:0");
        net::conn client = net::dial("tcp", ln.address());
        std::optional<net::conn> server = net_access::accept_unless_closed(ln);
        ASSERT_TRUE(server.has_value());
        client.write(std::as_bytes(std::span("hi", 2)));
        std::string buf(2, '\0');
        EXPECT_EQ(server->read_full(as_buf(buf)), 2u);
        EXPECT_EQ(buf, "hi");
      },
      weft_test::procs_opt(GetParam()));
}

TEST_P(QuietClose, AParkedReadEndsEmptyWhenAnotherGoroutineClosesTheConn) {
  weft_test::with_loopback_pair(GetParam(), [](net::conn& client, net::conn& server) {
    client.write(std::as_bytes(std::span("abc", 3)));
    std::string buf(16, '\0');
    std::optional<std::size_t> first = net_access::read_unless_closed(server, as_buf(buf));
    ASSERT_TRUE(first.has_value());
    EXPECT_EQ(*first, 3u);  // bytes there: a read as conn::read
    std::optional<std::size_t> second{99};
    weft::wait_group wg;
    wg.add(1);
    weft::go([&] {
      second = net_access::read_unless_closed(server, as_buf(buf));
      wg.done();
    });
    weft::this_goroutine::sleep_for(5ms);
    server.close();
    wg.wait();
    EXPECT_FALSE(second.has_value());
    EXPECT_FALSE(net_access::read_unless_closed(server, as_buf(buf)).has_value());
    EXPECT_THROW(server.read(as_buf(buf)), std::system_error);
  });
}

TEST_P(QuietClose, TheEndOfTheStreamIsZeroNotEmpty) {
  weft_test::with_loopback_pair(GetParam(), [](net::conn& client, net::conn& server) {
    client.close();
    std::string buf(16, '\0');
    std::optional<std::size_t> n = net_access::read_unless_closed(server, as_buf(buf));
    ASSERT_TRUE(n.has_value());
    EXPECT_EQ(*n, 0u);
  });
}

TEST_P(QuietClose, ADeadlineStillThrows) {
  weft_test::with_loopback_pair(GetParam(), [](net::conn&, net::conn& server) {
    server.set_read_deadline(std::chrono::steady_clock::now() + 5ms);
    std::string buf(16, '\0');
    EXPECT_THROW((void)net_access::read_unless_closed(server, as_buf(buf)), std::system_error);
  });
}

INSTANTIATE_TEST_SUITE_P(Procs, QuietClose, ::testing::Values(1, 2), weft_test::procs_name);

}  // namespace
