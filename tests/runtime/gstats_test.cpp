// tests/runtime/gstats_test.cpp: per-goroutine instrumentation
// (runtime/gstats.hpp): off, nothing is recorded; on, each goroutine's time
// running, runnable and blocked by reason, its channel operations and its
// bytes on connections; goroutines that end join the process's totals.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <cstring>
#include <string>

#include "platform/futex.hpp"
#include "runtime/gstats.hpp"
#include <weft/net.hpp>
#include <weft/weft.hpp>

namespace {

using namespace std::chrono_literals;
using weft::detail::gstats_snapshot;
using weft::detail::goroutine_stats;

const goroutine_stats* find(const gstats_snapshot& s, const std::string& name) {
  for (const auto& g : s.goroutines)
    if (g.name == name) return &g;
  return nullptr;
}

std::int64_t blocked_for(const goroutine_stats& g, const char* reason) {
  for (const auto& b : g.blocked)
    if (std::strcmp(b.reason, reason) == 0) return b.ns;
  return 0;
}

void spin_for(std::chrono::nanoseconds d) {
  std::int64_t end = weft::detail::os::nanotime() + d.count();
  while (weft::detail::os::nanotime() < end) {
  }
}

TEST(GoroutineStats, OffRecordsNothing) {
  gstats_snapshot s;
  weft::run([&] {
    weft::detail::gstats_stop_all();
    weft::chan<int> c;
    weft::go(weft::go_options{.name = "unwatched"}, [c]() mutable { c.send(1); });
    c.recv();
    s = weft::detail::gstats_take();
  });
  EXPECT_FALSE(s.on);
  EXPECT_TRUE(s.goroutines.empty());
}

TEST(GoroutineStats, TimeByStateChannelOpsAndEndedGoroutines) {
  gstats_snapshot s;
  weft::run([&] {
    weft::detail::gstats_start_all();
    weft::chan<int> c;
    weft::chan<int> done;
    // The goroutines hold the channels themselves: main returns, and its
    // locals go, while they still use them.
    weft::go(weft::go_options{.name = "spinner"}, [done]() mutable {
      spin_for(30ms);
      done.recv();
    });
    weft::go(weft::go_options{.name = "waiter"}, [c, done]() mutable {
      for (int i = 0; i < 100; ++i) c.recv();
      done.recv();
    });
    weft::go(weft::go_options{.name = "short-lived"}, [c]() mutable {
      for (int i = 0; i < 7; ++i) c.send(i);
    });
    weft::this_goroutine::sleep_for(50ms);  // the waiter blocks most of this
    for (int i = 0; i < 93; ++i) c.send(i);
    weft::this_goroutine::sleep_for(10ms);
    s = weft::detail::gstats_take();
    done.close();
    weft::detail::gstats_stop_all();
  }, weft::options{.procs = 2});
  ASSERT_TRUE(s.on);
  const goroutine_stats* spinner = find(s, "spinner");
  const goroutine_stats* waiter = find(s, "waiter");
  ASSERT_NE(spinner, nullptr);
  ASSERT_NE(waiter, nullptr);
  EXPECT_EQ(find(s, "short-lived"), nullptr) << "an ended goroutine is not listed";
  EXPECT_GE(spinner->values.running_ns, 25'000'000) << "it spun 30 ms";
  EXPECT_EQ(waiter->values.chan_recvs, 101u) << "100 values, and the receive on done it is blocked in (counted as begun)";
  // Half of it at least: on a loaded machine it may start late.
  EXPECT_GE(blocked_for(*waiter, "chan receive"), 25'000'000) << "it waited for a value most of the 50 ms main slept";
  EXPECT_EQ(waiter->state, weft::detail::gstate::blocked);
  EXPECT_STREQ(waiter->reason, "chan receive") << "it waits on done";
  EXPECT_GE(s.ended, 1u);
  EXPECT_GE(s.total.chan_sends, 100u) << "the ended goroutine's 7 sends and main's 93";
  EXPECT_GE(s.total.chan_recvs, 100u);
  EXPECT_GE(s.total.running_ns, spinner->values.running_ns);
  ASSERT_FALSE(s.blocked.empty());
}

TEST(GoroutineStats, RunnableTimeIsTimeWaitingForAnM) {
  gstats_snapshot s;
  weft::run([&] {
    weft::detail::gstats_start_all();
    weft::wait_group wg;
    for (int k = 0; k < 2; ++k) {
      wg.add(1);
      weft::go(weft::go_options{.name = "taker-" + std::to_string(k)}, [&] {
        for (int i = 0; i < 10; ++i) {
          spin_for(2ms);
          weft::this_goroutine::yield();  // the other one runs meanwhile
        }
        wg.done();
        weft::this_goroutine::sleep_for(1s);  // listed when the snapshot is taken
      });
    }
    wg.wait();
    s = weft::detail::gstats_take();
    weft::detail::gstats_stop_all();
  }, weft::options{.procs = 1});
  for (const char* name : {"taker-0", "taker-1"}) {
    const goroutine_stats* g = find(s, name);
    ASSERT_NE(g, nullptr) << name;
    EXPECT_GE(g->values.running_ns, 15'000'000) << name;
    EXPECT_GE(g->values.runnable_ns, 10'000'000) << name << " waited while the other ran";
  }
}

TEST(GoroutineStats, BytesOnConnections) {
  gstats_snapshot s;
  weft::run([&] {
    weft::detail::gstats_start_all();
    weft::net::listener ln = weft::net::listen("tcp", "127.0.0.1:0");
    weft::chan<int> done, wrote(1);
    // It holds the channels itself: main returns, and its locals go, while
    // the writer may still be on its way to the receive.
    weft::go(weft::go_options{.name = "writer"}, [addr = ln.address(), done, wrote]() mutable {
      weft::net::conn c = weft::net::dial("tcp", addr);
      c.write(std::string(3000, 'x'));
      wrote.send(1);  // counted by now: the bytes may arrive before write returns
      done.recv();
    });
    weft::net::conn in = ln.accept();
    std::string got(3000, '\0');
    EXPECT_EQ(in.read_full(std::as_writable_bytes(std::span(got))), 3000u);
    wrote.recv();
    s = weft::detail::gstats_take();
    done.close();
    weft::detail::gstats_stop_all();
  });
  const goroutine_stats* writer = find(s, "writer");
  ASSERT_NE(writer, nullptr);
  EXPECT_EQ(writer->values.bytes_written, 3000u);
  EXPECT_EQ(writer->values.bytes_read, 0u);
  EXPECT_GE(s.total.bytes_read, 3000u);
}

}  // namespace
