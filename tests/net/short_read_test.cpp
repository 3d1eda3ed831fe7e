// tests/net/short_read_test.cpp: a conn that waits after a short read
// (net_access::wait_after_short_reads, net/conn.cpp): one recv per message
// rather than two, and nothing lost or delayed by it: bytes that arrive
// between a short read and the next read are read at once, and a short
// count injected by a fault (which leaves bytes in the socket) is not taken
// for a short read, and the end of the stream that came with the last bytes
// is still seen. Each scenario runs at every procs value of
// weft_test::all_procs().
#include <weft/chan.hpp>
#include <weft/go.hpp>
#include <weft/net.hpp>
#include <weft/weft.hpp>

#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <system_error>

#include "net/loopback_pair.hpp"
#include "net/netfd.hpp"
#include "testing.hpp"
#include "weft_test_util.hpp"

namespace {

using weft::testing::fault_point;
using weft_test::procs_name;
namespace net = weft::net;
using namespace std::chrono_literals;

std::span<const std::byte> bytes(std::string_view s) { return std::as_bytes(std::span(s.data(), s.size())); }

// One read of up to 4 KiB (a short read for every message below).
std::string read_some(net::conn& c) {
  std::string s(4096, '\0');
  s.resize(c.read(std::as_writable_bytes(std::span(s.data(), s.size()))));
  return s;
}

// A connected pair over loopback TCP: f(client, server), the server's
// reads waiting after short ones.
template <class F>
void with_pair(int procs, F f) {
  weft_test::with_loopback_pair(procs, [&](net::conn& client, net::conn& server) {
    weft::detail::net_access::wait_after_short_reads(server);
    f(client, server);
  });
}

class NetShortRead : public ::testing::TestWithParam<int> {};

// Request by request (the writer sends the next message only once the
// reader has the last one): each read is one recv, where it was the
// message's recv plus an EAGAIN before it.
TEST_P(NetShortRead, OneRecvPerMessageAfterAShortRead) {
  weft::testing::fault_scope scope;
  with_pair(GetParam(), [](net::conn& client, net::conn& server) {
    constexpr int messages = 200;
    weft::chan<bool> got;  // unbuffered: the writer waits for the reader
    weft::go([&] {
      for (int i = 0; i < messages; ++i) {
        client.write(bytes("message " + std::to_string(i)));
        got.recv();
      }
    });
    // A short count that never shortens anything: the fault point counts
    // the recv calls (faults.hpp), and every one still reaches the kernel.
    constexpr int armed = 1'000'000;
    weft::testing::inject_faults(fault_point::read, armed, 0, std::size_t{1} << 30);
    for (int i = 0; i < messages; ++i) {
      ASSERT_EQ(read_some(server), "message " + std::to_string(i));
      got.send(true);
    }
    const int recvs = armed - weft::testing::faults_left(fault_point::read);
    weft::testing::clear_faults();
    // The first read had no short one before it and may find the socket
    // empty; a wait's spurious edge may cost a few more.
    EXPECT_LE(recvs, messages + messages / 10) << recvs << " recv calls for " << messages << " messages";
    EXPECT_GE(recvs, messages);
  });
}

// Bytes that arrive after a short read and before the next read leave their
// edge on the poll descriptor: the next read returns them at once.
TEST_P(NetShortRead, BytesThatCameBetweenReadsAreReadAtOnce) {
  with_pair(GetParam(), [](net::conn& client, net::conn& server) {
    for (int i = 0; i < 50; ++i) {
      client.write(bytes("first"));
      ASSERT_EQ(read_some(server), "first");  // short: the socket is empty now
      client.write(bytes("second"));
      weft::this_goroutine::sleep_for(1ms);  // its edge lands before the next read
      server.set_read_deadline(std::chrono::steady_clock::now() + 5s);
      const auto t0 = std::chrono::steady_clock::now();
      ASSERT_EQ(read_some(server), "second");
      EXPECT_LT(std::chrono::steady_clock::now() - t0, 1s);
    }
  });
}

// A short count injected by a fault leaves bytes in the socket: the next
// read takes them without waiting for an edge that will not come.
TEST_P(NetShortRead, AnInjectedShortCountIsNotAShortRead) {
  weft::testing::fault_scope scope;
  with_pair(GetParam(), [](net::conn& client, net::conn& server) {
    client.write(bytes("0123456789abcdefghij"));
    weft::this_goroutine::sleep_for(1ms);  // all 20 bytes are in the server's socket
    weft::testing::inject_faults(fault_point::read, 1, 0, 10);
    EXPECT_EQ(read_some(server), "0123456789");
    server.set_read_deadline(std::chrono::steady_clock::now() + 5s);
    try {
      EXPECT_EQ(read_some(server), "abcdefghij");
    } catch (const std::system_error& e) {
      ADD_FAILURE() << "the rest of the bytes were not read: " << e.what();
    }
  });
}

// A peer that writes and closes at once: the short read takes the bytes
// and the FIN, whose edge is spent; the next read must still see the end
// of the stream (netpoll_hangup) rather than wait for an edge.
TEST_P(NetShortRead, TheEndOfTheStreamAfterAShortReadIsSeen) {
  with_pair(GetParam(), [](net::conn& client, net::conn& server) {
    client.write(bytes("last words"));
    client.close();
    weft::this_goroutine::sleep_for(1ms);  // the bytes and the FIN have landed
    server.set_read_deadline(std::chrono::steady_clock::now() + 5s);
    try {
      EXPECT_EQ(read_some(server), "last words");
      EXPECT_EQ(read_some(server), "");
    } catch (const std::system_error& e) {
      ADD_FAILURE() << "the end of the stream was not seen: " << e.what();
    }
  });
}

INSTANTIATE_TEST_SUITE_P(Procs, NetShortRead, ::testing::ValuesIn(weft_test::all_procs()), procs_name);

}  // namespace
