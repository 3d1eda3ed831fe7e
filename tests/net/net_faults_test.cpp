// tests/net/net_faults_test.cpp: weft::net when the OS says no, through the
// platform's fault points (platform/faults.hpp): accept failing with EMFILE
// leaves the listener usable; writes that fall short still write every
// byte; reads that fall short lose nothing; EINTR is retried, never
// reported. Each scenario runs at every procs value of
// weft_test::all_procs().
#include <weft/net.hpp>
#include <weft/weft.hpp>

#include <gtest/gtest.h>

#include <cerrno>
#include <string>
#include <system_error>

#include "net/loopback_pair.hpp"
#include "testing.hpp"
#include "weft_test_util.hpp"

namespace {

using weft::testing::fault_point;
using weft_test::procs_name;
using weft_test::procs_opt;
namespace net = weft::net;

std::span<const std::byte> bytes(std::string_view s) { return std::as_bytes(std::span(s.data(), s.size())); }

std::string pattern(std::size_t n) {
  std::string s(n, '\0');
  for (std::size_t i = 0; i < n; ++i) s[i] = static_cast<char>('a' + i % 23);
  return s;
}

std::string read_n(net::conn& c, std::size_t n) {
  std::string s(n, '\0');
  s.resize(c.read_full(std::as_writable_bytes(std::span(s.data(), s.size()))));
  return s;
}

// A connected pair over loopback TCP: f(client, server).
template <class F>
void with_pair(int procs, F f) {
  weft_test::with_loopback_pair(procs, f);
}

class NetFaults : public ::testing::TestWithParam<int> {};

TEST_P(NetFaults, AcceptFailingWithEmfileLeavesTheListenerUsable) {
  weft::testing::fault_scope scope;
  weft::run(
      [] {
        net::listener ln = net::listen("tcp", "127.0.0.1:0");
        net::conn client = net::dial("tcp", ln.address());  // waits in the backlog
        weft::testing::inject_faults(fault_point::accept, 1, EMFILE);
        try {
          net::conn c = ln.accept();
          ADD_FAILURE() << "accept succeeded with EMFILE injected";
        } catch (const std::system_error& e) {
          EXPECT_EQ(e.code(), std::errc::too_many_files_open) << e.what();
          EXPECT_NE(std::string(e.what()).find("accept"), std::string::npos) << e.what();
        }
        EXPECT_EQ(weft::testing::faults_left(fault_point::accept), 0);
        // The connection is still there, and the listener takes it.
        net::conn server = ln.accept();
        client.write(bytes("after EMFILE"));
        EXPECT_EQ(read_n(server, 12), "after EMFILE");
      },
      procs_opt(GetParam()));
}

TEST_P(NetFaults, ShortWritesStillWriteEveryByte) {
  weft::testing::fault_scope scope;
  with_pair(GetParam(), [](net::conn& client, net::conn& server) {
    const std::string data = pattern(64 * 1024);
    weft::wait_group wg;
    wg.add(1);
    std::string got;
    weft::go([&] {
      got = read_n(server, data.size());
      wg.done();
    });
    // Every send moves at most 7 bytes, 2000 times over.
    weft::testing::inject_faults(fault_point::write, 2000, 0, 7);
    client.write(bytes(data));
    wg.wait();
    EXPECT_EQ(weft::testing::faults_left(fault_point::write), 0);
    EXPECT_EQ(got.size(), data.size());
    EXPECT_TRUE(got == data);
  });
}

TEST_P(NetFaults, ShortReadsLoseNothing) {
  weft::testing::fault_scope scope;
  with_pair(GetParam(), [](net::conn& client, net::conn& server) {
    const std::string data = pattern(20000);
    client.write(bytes(data));
    weft::testing::inject_faults(fault_point::read, 1000, 0, 3);
    std::string got = read_n(server, data.size());
    EXPECT_EQ(weft::testing::faults_left(fault_point::read), 0);
    EXPECT_TRUE(got == data);
  });
}

TEST_P(NetFaults, EintrIsRetried) {
  weft::testing::fault_scope scope;
  with_pair(GetParam(), [](net::conn& client, net::conn& server) {
    weft::testing::inject_faults(fault_point::write, 5, EINTR);
    client.write(bytes("interrupted"));
    EXPECT_EQ(weft::testing::faults_left(fault_point::write), 0);
    weft::testing::inject_faults(fault_point::read, 5, EINTR);
    EXPECT_EQ(read_n(server, 11), "interrupted");
    EXPECT_EQ(weft::testing::faults_left(fault_point::read), 0);
  });
}

INSTANTIATE_TEST_SUITE_P(Procs, NetFaults, ::testing::ValuesIn(weft_test::all_procs()), procs_name);

}  // namespace
