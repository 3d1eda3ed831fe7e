// tests/net/batched_write_test.cpp: goroutines' writes batched through
// io_uring (runtime/send_batch.cpp). Many goroutines' writes leave in fewer
// system calls than writes, and each still arrives whole and in order; a
// full socket still waits on the netpoller (nothing lost, deadlines fire);
// a peer that went away is still the usual error; WEFT_IO_URING=0 turns it
// off. Where io_uring is not available (a kernel or sandbox without it) the
// tests that need it skip, saying so. Each runs at every procs value of
// weft_test::all_procs().
#include <weft/chan.hpp>
#include <weft/go.hpp>
#include <weft/net.hpp>
#include <weft/weft.hpp>

#include <gtest/gtest.h>

#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

#include "child_process.hpp"
#include "net/adopt.hpp"
#include "net/loopback_pair.hpp"
#include "runtime/send_batch.hpp"
#include "testing.hpp"
#include "weft_test_util.hpp"

namespace {

using weft_test::procs_name;
namespace net = weft::net;
using namespace std::chrono_literals;

std::span<const std::byte> bytes(const std::string& s) { return std::as_bytes(std::span(s.data(), s.size())); }

std::string pattern(std::size_t n, int seed) {
  std::string s(n, '\0');
  for (std::size_t i = 0; i < n; ++i) s[i] = static_cast<char>((i * 31 + static_cast<std::size_t>(seed)) % 251);
  return s;
}

// Unset, WEFT_IO_URING lets the process measure whether batching pays
// here (send_batch.cpp) and it may not: these tests force it on wherever
// io_uring works, unless a test's child set the variable itself.
const bool batching_forced = [] { return ::setenv("WEFT_IO_URING", "1", 0) == 0; }();

bool batching_here() {
  if (weft::detail::send_batch_enabled()) return true;
  const char* env = std::getenv("WEFT_IO_URING");
  return env != nullptr && std::strcmp(env, "0") == 0;  // off on purpose: the tests still run, unbatched
}

class NetBatchedWrite : public ::testing::TestWithParam<int> {};

TEST_P(NetBatchedWrite, ManyGoroutinesWritesLeaveInFewerCallsAndArriveWholeInOrder) {
  if (!batching_here()) GTEST_SKIP() << "io_uring is not available here: every write is a send(2)";
  constexpr int conns = 40;
  constexpr int messages = 100;
  constexpr std::size_t size = 100;
  auto before = weft::detail::send_batch_counts();
  std::vector<std::string> bad;
  weft::run(
      [&] {
        net::listener ln = net::listen("tcp", "127.0.0.1:0");
        weft::wait_group wg;
        weft::chan<std::string> errors(conns);
        wg.add(2 * conns);
        for (int c = 0; c < conns; ++c) {
          weft::go([&, c] {
            net::conn w = net::dial("tcp", ln.address());
            for (int m = 0; m < messages; ++m) w.write(bytes(pattern(size, c * 1000 + m)));
            wg.done();
          });
          weft::go([&] {
            net::conn r = ln.accept();
            std::string got(size, '\0');
            r.read_full(std::as_writable_bytes(std::span(got.data(), got.size())));
            // The writer's index is not known here: find it from the first message.
            int seed = -1;
            for (int c2 = 0; c2 < conns && seed < 0; ++c2)
              if (got == pattern(size, c2 * 1000)) seed = c2 * 1000;
            if (seed < 0) errors.send("a first message matches no writer");
            for (int m = 1; m < messages && seed >= 0; ++m) {
              r.read_full(std::as_writable_bytes(std::span(got.data(), got.size())));
              if (got != pattern(size, seed + m)) {
                errors.send("writer " + std::to_string(seed / 1000) + " message " + std::to_string(m) +
                            " arrived wrong or out of order");
                break;
              }
            }
            wg.done();
          });
        }
        wg.wait();
        errors.close();
        for (std::string e : errors) bad.push_back(e);
      },
      weft_test::procs_opt(GetParam()));
  EXPECT_TRUE(bad.empty()) << bad.front();
  auto after = weft::detail::send_batch_counts();
  if (!weft::detail::send_batch_enabled()) return;  // WEFT_IO_URING=0: the check above is all
  std::uint64_t sends = after.sends - before.sends;
  std::uint64_t flushes = after.flushes - before.flushes;
  EXPECT_GE(sends, std::uint64_t(conns) * messages) << "every write went through a ring";
  EXPECT_LT(flushes, sends) << "some flush made more than one goroutine's send";
}

TEST_P(NetBatchedWrite, AFullSocketWaitsOnTheNetpollerAndLosesNothing) {
  weft_test::with_loopback_pair(GetParam(), [](net::conn& client, net::conn& server) {
    const std::string big = pattern(8 << 20, 7);  // far more than the socket buffers hold
    weft::chan<bool> written(1);
    weft::go([&] {
      client.write(bytes(big));
      written.send(true);
    });
    weft::this_goroutine::sleep_for(50ms);  // the writer fills the socket and waits
    std::string got(big.size(), '\0');
    server.read_full(std::as_writable_bytes(std::span(got.data(), got.size())));
    EXPECT_TRUE(written.recv().value_or(false));
    EXPECT_TRUE(got == big) << "bytes lost, repeated or reordered";
  });
}

TEST_P(NetBatchedWrite, AWriteDeadlineStillEndsAWriteToAFullSocket) {
  weft_test::with_loopback_pair(GetParam(), [](net::conn& client, net::conn&) {
    client.set_write_deadline(std::chrono::steady_clock::now() + 100ms);
    const std::string big = pattern(32 << 20, 3);  // the peer never reads
    try {
      client.write(bytes(big));
      ADD_FAILURE() << "a 32 MiB write to a peer that never reads returned";
    } catch (const std::system_error& e) {
      EXPECT_EQ(e.code(), std::errc::timed_out) << e.what();
    }
  });
}

TEST_P(NetBatchedWrite, WritingToAPeerThatClosedIsTheUsualError) {
  weft_test::with_loopback_pair(GetParam(), [](net::conn& client, net::conn& server) {
    server.close();
    const std::string chunk = pattern(64 << 10, 1);
    try {
      for (int i = 0; i < 1000; ++i) client.write(bytes(chunk));
      ADD_FAILURE() << "64 MiB written to a closed peer without an error";
    } catch (const std::system_error& e) {
      EXPECT_TRUE(e.code() == std::errc::broken_pipe || e.code() == std::errc::connection_reset) << e.what();
    }
  });
}

INSTANTIATE_TEST_SUITE_P(Procs, NetBatchedWrite, ::testing::ValuesIn(weft_test::all_procs()), procs_name);

// A goroutine's write still waiting for its P's flush when main returns is
// made anyway, as a send(2) made before the end would have been. At procs
// 1 the order is fixed: main yields, the writer posts its send and parks,
// main runs again (a pick with work left does not flush) and returns.
TEST(NetBatchedWriteEnd, AWriteStillPostedWhenMainReturnsIsMade) {
  int sv[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
  const std::string last = "last words";
  weft::run(
      [&] {
        // The writer owns the conn: nobody closes it (a close would wait
        // for the write, and so flush it) before the end.
        weft::go([c = weft::detail::adopt_socket(sv[0], "batched_write_test"), &last]() mutable {
          c.write(bytes(last));
        });
        weft::this_goroutine::yield();
      },
      weft_test::procs_opt(1));
  std::string got(last.size(), '\0');
  ssize_t n = ::recv(sv[1], got.data(), got.size(), MSG_DONTWAIT);
  ::close(sv[1]);
  ASSERT_EQ(n, static_cast<ssize_t>(last.size())) << "the posted write was dropped at the end";
  EXPECT_EQ(got, last);
}

// A write posted while a pair of goroutines hands a channel's value back
// and forth on the same P leaves within a few of their switches. The pair
// keeps the P's run queue from ever being empty, and shares one time slice
// (runnext), so a batch aged by time slices would wait for the pair to end
// (or for sysmon, 10 ms later). At procs 1 the order is fixed: the writer
// runs first (runnext), posts its send and parks; then the pair.
TEST(NetBatchedWriteAge, AWritePostedBehindAChannelPingPongLeavesWithinAFewSwitches) {
  if (!batching_here()) GTEST_SKIP() << "io_uring is not available here: every write is a send(2)";
  constexpr int rounds = 2000;
  int sv[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
  int rounds_when_written = -1;
  weft::run(
      [&] {
        weft::chan<int> ping;
        weft::chan<int> pong;
        int done_rounds = 0;
        weft::wait_group wg;
        wg.add(3);
        weft::go([&] {
          for (int v : ping) pong.send(v);
          wg.done();
        });
        weft::go([&] {
          for (int i = 0; i < rounds; ++i) {
            ping.send(i);
            pong.recv();
            done_rounds = i + 1;
          }
          ping.close();
          wg.done();
        });
        weft::go([&, c = weft::detail::adopt_socket(sv[0], "batched_write_test")]() mutable {
          c.write(bytes(std::string("x")));
          rounds_when_written = done_rounds;
          wg.done();
        });
        wg.wait();
      },
      weft_test::procs_opt(1));
  char got = 0;
  ssize_t n = ::recv(sv[1], &got, 1, MSG_DONTWAIT);
  ::close(sv[1]);
  ASSERT_EQ(n, 1) << "the write never arrived";
  EXPECT_LT(rounds_when_written, rounds / 2)
      << "the write waited behind the ping-pong pair for " << rounds_when_written << " of its " << rounds << " rounds";
}

// A writer alone on its P parks for the flush, and the flush, made at the
// P's next pick with nothing else to run, readies it where that pick takes
// it next: no other M is woken for it. A link's one writer, readied by
// every flush, woke the idle P's M each time, which found nothing and
// slept (remote_call_pipelined's client at procs 2: 3.3k wake-ups per 200k
// calls). The socket's other end is read by a plain thread, which readies
// nothing.
TEST(NetBatchedWriteWake, AWriterAloneOnItsPIsRunNextAfterItsFlushWithoutWakingAnM) {
  if (!batching_here()) GTEST_SKIP() << "io_uring is not available here: every write is a send(2)";
  constexpr int writes = 2000;
  int sv[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
  std::thread drain([fd = sv[1]] {
    char buf[4096];
    while (::read(fd, buf, sizeof buf) > 0) {
    }
  });
  std::uint64_t woken = 0;
  int crossed = 0;  // writes after which the writer ran on another M
  weft::run(
      [&] {
        weft::chan<std::uint64_t> result(1);
        weft::go([&, c = weft::detail::adopt_socket(sv[0], "batched_write_test")]() mutable {
          weft::this_goroutine::sleep_for(5ms);  // the other M asleep
          const std::uint64_t before = weft::testing::m_wakeups();
          for (int i = 0; i < writes; ++i) {
            const int m = weft::testing::current_m_id();
            c.write(bytes(std::string("x")));
            if (weft::testing::current_m_id() != m) ++crossed;
          }
          const std::uint64_t n = weft::testing::m_wakeups() - before;
          c.close();  // before main can return: the drain thread ends at its EOF
          result.send(n);
        });
        woken = result.recv().value();
      },
      weft_test::procs_opt(2));
  drain.join();
  ::close(sv[1]);
  EXPECT_LE(woken, static_cast<std::uint64_t>(writes / (weft_test::sanitized ? 10 : 50)))
      << "Ms woken for " << writes << " writes of one goroutine, each readied by its flush";
  EXPECT_LE(crossed, writes / (weft_test::sanitized ? 10 : 50))
      << "of " << writes << " writes, the writer came back on another M";
}

// One loopback write of 1000 bytes, read back whole.
void echo_once(int seed) {
  weft_test::with_loopback_pair(1, [seed](net::conn& client, net::conn& server) {
    client.write(bytes(pattern(1000, seed)));
    std::string got(1000, '\0');
    server.read_full(std::as_writable_bytes(std::span(got.data(), got.size())));
    EXPECT_TRUE(got == pattern(1000, seed));
  });
}

// This test binary again, running `filter` with `env` first in its
// environment; expects it to end well within 60 s.
void run_child(const std::string& filter, const std::string& env) {
  pid_t pid = weft_test::spawn_process({"/proc/self/exe", "--gtest_filter=" + filter}, {env});
  ASSERT_GT(pid, 0);
  int st = weft_test::wait_status(pid, 60s);
  ASSERT_NE(st, -1) << "the child with " << env << " did not end within 60 s";
  ASSERT_TRUE(WIFEXITED(st)) << "status " << st;
  EXPECT_EQ(WEXITSTATUS(st), 0) << "the child with " << env << " failed (its output is above)";
}

// WEFT_IO_URING empty (as unset): the first write starts the measurement
// on a thread of its own and goes out as a send(2); the decision is made
// soon after, either way, and writes work before and after it.
TEST(NetBatchedWriteMeasured, UnsetMeasuresOnceThenDecides) {
  if (const char* env = std::getenv("WEFT_IO_URING"); env && *env == '\0') {
    echo_once(6);
    (void)weft::detail::send_batch_enabled();
    for (int i = 0; i < 200 && !weft::detail::send_batch_decided(); ++i) std::this_thread::sleep_for(10ms);
    EXPECT_TRUE(weft::detail::send_batch_decided()) << "the measurement did not end within 2 s";
    echo_once(6);
    return;
  }
  run_child("NetBatchedWriteMeasured.*", "WEFT_IO_URING=");
}

// WEFT_IO_URING=0: this test binary again, in a child with the variable
// set, runs the first test above unbatched and checks that nothing went
// through a ring.
TEST(NetBatchedWriteOff, WeftIoUring0TurnsBatchingOff) {
  if (const char* env = std::getenv("WEFT_IO_URING"); env && std::strcmp(env, "0") == 0) {
    EXPECT_FALSE(weft::detail::send_batch_enabled());
    echo_once(5);
    EXPECT_EQ(weft::detail::send_batch_counts().sends, 0u);
    return;
  }
  run_child("NetBatchedWriteOff.*", "WEFT_IO_URING=0");
}

}  // namespace
