// tests/runtime/trace_events_test.cpp: what the trace logger needs of the
// runtime's event recording (runtime/trace_events.hpp): reasons on blocks,
// names of new goroutines, channel operations, blocking calls, draining
// while recording goes on, and a bound on what waits to be drained.
#include <gtest/gtest.h>

#include <cstdint>
#include <chrono>
#include <cstring>
#include <set>
#include <string>
#include <vector>

#include "platform/futex.hpp"
#include "testing.hpp"
#include "weft_test_util.hpp"
#include <weft/blocking.hpp>
#include <weft/weft.hpp>

namespace {

using weft::testing::ev;
using weft::testing::trace_batch;

std::size_t count(const trace_batch& b, ev type) {
  std::size_t n = 0;
  for (const auto& e : b.events) n += e.type == type;
  return n;
}

TEST(TraceEvents, BlocksSayWhyAndNewGoroutinesHaveTheirNames) {
  trace_batch b;
  weft::goroutine_id child = 0;
  std::uintptr_t chan_addr = 0;
  weft::run([&] {
    weft::testing::trace_start();
    weft::chan<int> c;
    chan_addr = reinterpret_cast<std::uintptr_t>(c.core());
    weft::wait_group wg;
    wg.add(1);
    weft::go(weft::go_options{.name = "the receiver"}, [&] {
      child = weft::this_goroutine::get_id();
      c.recv();
      weft::blocking([] {});
      wg.done();
    });
    weft::this_goroutine::yield();
    c.send(1);
    wg.wait();
    b = weft::testing::trace_drain();
    weft::testing::trace_stop();
  }, weft::options{.procs = 1});
  ASSERT_NE(child, 0u);
  bool named = false;
  for (const auto& [id, name] : b.names) named |= id == child && name == "the receiver";
  EXPECT_TRUE(named);
  bool chan_block = false, blocking = false, recv = false;
  for (const auto& e : b.events) {
    if (e.g != child) continue;
    chan_block |= e.type == ev::go_block && e.text && std::strcmp(e.text, "chan receive") == 0;
    blocking |= e.type == ev::blocking_enter && e.text != nullptr;
    recv |= e.type == ev::chan_recv && e.arg == chan_addr;
  }
  EXPECT_TRUE(chan_block) << "the receiver's block carries its wait reason";
  EXPECT_TRUE(blocking);
  EXPECT_TRUE(recv) << "the receive names its channel";
  EXPECT_EQ(count(b, ev::blocking_enter), count(b, ev::blocking_exit));
  EXPECT_EQ(b.dropped, 0u);
}

TEST(TraceEvents, DrainingGoesOnRecordingAndFullBuffersDropAndCount) {
  trace_batch full, next, after;
  int ms = 0;
  constexpr std::size_t ops = weft::testing::trace_buffer_limit + 1000;
  weft::run([&] {
    weft::testing::trace_start();
    weft::chan<int> c(1);
    for (std::size_t i = 0; i < ops; ++i) c.try_send(1);  // one event each, whether or not it sends
    full = weft::testing::trace_drain();
    c.try_recv();
    next = weft::testing::trace_drain();
    weft::testing::trace_stop();
    c.try_recv();
    after = weft::testing::trace_drain();
    ms = weft::testing::m_count();
  }, weft::options{.procs = 1});
  EXPECT_LE(full.events.size(), weft::testing::trace_buffer_limit * static_cast<std::size_t>(ms)) << "bounded per M";
  EXPECT_GE(full.dropped, 1000u);
  EXPECT_GE(full.events.size() + full.dropped, ops);
  EXPECT_EQ(count(next, ev::chan_recv), 1u) << "still recording after a drain";
  EXPECT_EQ(next.dropped, 0u) << "the count starts again";
  EXPECT_TRUE(after.events.empty()) << "stopped";
}

TEST(TraceEvents, DrainsComeInTimeOrderAcrossMs) {
  std::vector<trace_batch> drains;
  weft::run([&] {
    weft::testing::trace_start();
    weft::wait_group wg;
    for (int w = 0; w < 8; ++w) {
      wg.add(1);
      weft::go([&] {
        weft::chan<int> c(1);
        for (int i = 0; i < 20000; ++i) {
          c.try_send(i);
          c.try_recv();
          if (i % 1000 == 0) weft::this_goroutine::yield();
        }
        wg.done();
      });
    }
    for (int d = 0; d < 5; ++d) {
      weft::this_goroutine::sleep_for(std::chrono::milliseconds(2));
      drains.push_back(weft::testing::trace_drain());
    }
    wg.wait();
    drains.push_back(weft::testing::trace_finish());
  }, weft::options{.procs = 4});
  std::size_t events = 0;
  std::set<std::int32_t> ms;
  for (const trace_batch& b : drains) {
    events += b.events.size() + b.dropped;
    for (std::size_t i = 0; i < b.events.size(); ++i) {
      ms.insert(b.events[i].m);
      ASSERT_TRUE(i == 0 || b.events[i - 1].ts <= b.events[i].ts) << "event " << i << " of a drain is out of order";
    }
  }
  EXPECT_GE(events, 8u * 2 * 20000) << "every send and receive was recorded or counted as dropped";
  EXPECT_GE(ms.size(), 2u) << "the test means to merge several Ms' buffers";
}

// Events may be stamped with the TSC and mapped to nanotime when drained
// (runtime/trace_events.cpp): each drained stamp lies between nanotime
// read just before and just after its event, across drains near and far
// apart, so stamps from different drains and Ms compare.
TEST(TraceEvents, DrainedStampsAreNanotimeOfTheEventsMoment) {
  struct window {
    std::int64_t before, after;
  };
  std::vector<window> windows;
  std::vector<std::int64_t> stamps;
  weft::run([&] {
    weft::testing::trace_start();
    weft::chan<int> c(1);
    for (int round = 0; round < 12; ++round) {
      // Drains 0 to 3 ms apart: a short base between two drains too.
      weft::this_goroutine::sleep_for(std::chrono::microseconds(round % 4 * 1000));
      std::int64_t before = weft::detail::os::nanotime();
      c.try_send(1);  // one chan_send event
      std::int64_t after = weft::detail::os::nanotime();
      windows.push_back({before, after});
      trace_batch b = round % 3 == 2 ? weft::testing::trace_drain() : trace_batch{};
      for (const auto& e : b.events)
        if (e.type == ev::chan_send) stamps.push_back(e.ts);
      c.try_recv();
    }
    for (const auto& e : weft::testing::trace_finish().events)
      if (e.type == ev::chan_send) stamps.push_back(e.ts);
  }, weft::options{.procs = 1});
  ASSERT_EQ(stamps.size(), windows.size());
  // ns: the clocks are paired a few instructions apart (tens of
  // microseconds under a sanitizer, whose clock_gettime is slower).
  constexpr std::int64_t slack = weft_test::sanitized ? 50'000 : 2000;
  for (std::size_t i = 0; i < stamps.size(); ++i) {
    EXPECT_GE(stamps[i], windows[i].before - slack) << "event " << i;
    EXPECT_LE(stamps[i], windows[i].after + slack) << "event " << i;
  }
}

}  // namespace
