// weft::ticker: ticks a period apart and never early, drops ticks for a slow
// receiver instead of queueing or bursting them, stop and reset, misuse.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <vector>

#include "testing.hpp"
#include "weft_test_util.hpp"
#include <weft/weft.hpp>

namespace {

using namespace std::chrono_literals;
using clk = std::chrono::steady_clock;

TEST(Ticker, TicksAPeriodApartNeverEarly) {
  for (int procs : weft_test::all_procs()) {
    weft::run([&] {
      const auto period = 5ms;
      auto t0 = clk::now();
      weft::ticker k(period);
      auto ch = k.channel();
      clk::time_point prev{};
      for (int i = 1; i <= 6; ++i) {
        auto v = ch.recv();
        ASSERT_TRUE(v.has_value());
        EXPECT_GE(*v, t0 + i * period) << "tick " << i << " early";
        EXPECT_GT(*v, prev);
        prev = *v;
      }
      EXPECT_GE(clk::now(), t0 + 6 * period);
      EXPECT_LT(clk::now(), t0 + 6 * period + 2s);
    }, weft_test::procs_opt(procs));
  }
}

// A receiver that stalls for many periods finds one tick waiting, not a
// backlog; the ticks after it keep their period: no burst to catch up.
TEST(Ticker, SlowReceiverGetsDroppedTicksNotABacklog) {
  weft::run([] {
    const auto period = 40ms;
    weft::ticker k(period);
    auto ch = k.channel();
    // Half a period off the ticks: a wake-up at the instant of a tick let
    // that tick land between the two looks below.
    weft::this_goroutine::sleep_for(10 * period + period / 2);
    EXPECT_TRUE(ch.try_recv().has_value()) << "one tick buffered";
    EXPECT_FALSE(ch.try_recv().has_value()) << "only one";
    auto t0 = clk::now();
    for (int i = 0; i < 4; ++i) EXPECT_TRUE(ch.recv().has_value());
    EXPECT_GE(clk::now() - t0, 3 * period) << "ticks came in a burst after the stall";
  }, weft_test::procs_opt(2));
}

TEST(Ticker, StopStopsAndDropsTheWaitingTick) {
  weft::run([] {
    weft::ticker k(2ms);
    auto ch = k.channel();
    EXPECT_TRUE(ch.recv().has_value());
    weft::this_goroutine::sleep_for(10ms);  // a tick waits in the buffer
    k.stop();
    EXPECT_FALSE(ch.try_recv().has_value());
    EXPECT_EQ(weft::testing::armed_timers(), 0u);
    weft::this_goroutine::sleep_for(20ms);
    EXPECT_FALSE(ch.try_recv().has_value());
    k.stop();  // twice is fine
  }, weft_test::procs_opt(2));
}

TEST(Ticker, ResetChangesThePeriod) {
  weft::run([] {
    weft::ticker k(1h);
    auto ch = k.channel();
    auto t0 = clk::now();
    k.reset(5ms);
    EXPECT_EQ(weft::testing::armed_timers(), 1u);
    auto v1 = ch.recv();
    auto v2 = ch.recv();
    ASSERT_TRUE(v1 && v2);
    EXPECT_GE(*v1, t0 + 5ms);
    EXPECT_GE(*v2, t0 + 10ms);
    k.stop();
    k.reset(3ms);  // a stopped ticker restarts
    EXPECT_TRUE(ch.recv().has_value());
  }, weft_test::procs_opt(2));
}

TEST(Ticker, NonPositivePeriodIsMisuse) {
  weft::run([] {
    EXPECT_THROW((void)weft::ticker(0ms), std::invalid_argument);
    EXPECT_THROW((void)weft::ticker(-1s), std::invalid_argument);
    weft::ticker k(1h);
    EXPECT_THROW(k.reset(0ns), std::invalid_argument);
    EXPECT_EQ(weft::testing::armed_timers(), 1u);
  }, weft_test::procs_opt(1));
  EXPECT_THROW((void)weft::ticker(1ms), weft::misuse_error);
}

TEST(Ticker, DestroyingARunningTickerStopsIt) {
  weft::run([] {
    weft::chan<clk::time_point> ch = nullptr;
    {
      weft::ticker k(1ms);
      ch = k.channel();
      EXPECT_TRUE(ch.recv().has_value());
      weft::ticker moved(std::move(k));
      EXPECT_TRUE(moved.channel() == ch);
    }
    EXPECT_EQ(weft::testing::armed_timers(), 0u);
    weft::this_goroutine::sleep_for(10ms);
    EXPECT_FALSE(ch.try_recv().has_value());
  }, weft_test::procs_opt(2));
}

TEST(Ticker, ManyTickersAcrossProcs) {
  for (int procs : weft_test::all_procs()) {
    std::atomic<int> early{0}, ticks{0};
    weft::run([&] {
      const int n = weft_test::quartered(200);
      weft::wait_group wg;
      wg.add(n);
      for (int i = 0; i < n; ++i) {
        weft::go([&, i] {
          {
            auto period = std::chrono::microseconds(300 + 50 * (i % 20));
            auto t0 = clk::now();
            weft::ticker k(period);
            auto ch = k.channel();
            for (int j = 1; j <= 5; ++j) {
              auto v = ch.recv();
              if (!v || *v < t0 + j * period) early++;
              ticks++;
            }
          }  // k stopped before done
          wg.done();
        });
      }
      wg.wait();
      EXPECT_EQ(weft::testing::armed_timers(), 0u);
    }, weft_test::procs_opt(procs));
    EXPECT_EQ(early.load(), 0) << "procs=" << procs;
    EXPECT_EQ(ticks.load(), 5 * weft_test::quartered(200));
  }
}

// Stops racing with ticks and a receiver: after stop returns and the
// receiver has let go, nothing more arrives.
TEST(Ticker, StopRacesTicks) {
  for (int procs : weft_test::all_procs()) {
    std::atomic<int> late{0};
    weft::run([&] {
      const int owners = 4, n = weft_test::quartered(300);
      weft::wait_group wg;
      wg.add(owners);
      for (int o = 0; o < owners; ++o) {
        weft::go([&] {
          for (int i = 0; i < n; ++i) {
            weft::ticker k(std::chrono::microseconds(20 + i % 30));
            auto ch = k.channel();
            for (int y = i % 5; y > 0; --y) weft::this_goroutine::yield();
            (void)ch.try_recv();
            k.stop();
            if (ch.try_recv()) late++;
          }
          wg.done();
        });
      }
      wg.wait();
    }, weft_test::procs_opt(procs));
    EXPECT_EQ(late.load(), 0) << "procs=" << procs;
  }
}

}  // namespace
