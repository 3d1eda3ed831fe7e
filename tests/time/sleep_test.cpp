// sleep_for / sleep_until: never early, many sleepers, no false deadlock.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <stop_token>
#include <thread>

#include "weft_test_util.hpp"
#include <weft/weft.hpp>

namespace {

using namespace std::chrono_literals;
using clk = std::chrono::steady_clock;

TEST(Sleep, NeverEarly) {
  for (int procs : weft_test::all_procs()) {
    std::atomic<int> early{0};
    weft::run([&] {
      weft::wait_group wg;
      const int n = 200;
      wg.add(n);
      for (int i = 0; i < n; ++i) {
        weft::go([&, i] {
          auto d = std::chrono::microseconds(100 + 37 * (i % 50));
          auto t0 = clk::now();
          weft::this_goroutine::sleep_for(d);
          if (clk::now() - t0 < d) early++;
          wg.done();
        });
      }
      wg.wait();
    }, weft::options{.procs = procs});
    EXPECT_EQ(early.load(), 0) << "procs=" << procs;
  }
}

TEST(Sleep, SleepUntilWakesAfterTheDeadline) {
  weft::run([] {
    auto t = clk::now() + 20ms;
    weft::this_goroutine::sleep_until(t);
    EXPECT_GE(clk::now(), t);
    EXPECT_LT(clk::now(), t + 500ms);
  }, weft::options{.procs = 2});
}

TEST(Sleep, ZeroOrNegativeReturnsAtOnce) {
  weft::run([] {
    auto t0 = clk::now();
    weft::this_goroutine::sleep_for(0ms);
    weft::this_goroutine::sleep_for(-5ms);
    weft::this_goroutine::sleep_until(clk::now() - 1s);
    EXPECT_LT(clk::now() - t0, 50ms);
  }, weft::options{.procs = 1});
}

// Every goroutine blocked but one sleeping: not a deadlock.
TEST(Sleep, PendingTimerIsNotADeadlock) {
  bool done = false;
  weft::run([&] {
    weft::chan<int> c;
    weft::go([c]() mutable {
      weft::this_goroutine::sleep_for(50ms);
      c.send(1);
    });
    done = c.recv() == 1;
  }, weft::options{.procs = 2});
  EXPECT_TRUE(done);
}

TEST(Sleep, ManySleepersAllWake) {
  std::atomic<int> woke{0};
  weft::run([&] {
    weft::wait_group wg;
    const int n = weft_test::scaled(20000);
    wg.add(n);
    for (int i = 0; i < n; ++i) {
      weft::go([&] {
        for (int k = 0; k < 3; ++k) weft::this_goroutine::sleep_for(1ms);
        woke++;
        wg.done();
      });
    }
    wg.wait();
  }, weft::options{.procs = 2});
  EXPECT_EQ(woke.load(), weft_test::scaled(20000));
}

// A scheduler fires no more due timers than its run queue has room for
// (proc.cpp, run_due_timers): with the queues kept full by goroutines that
// only yield, due timers must still fire.
TEST(Sleep, SleepersWakeWhileRunQueuesAreFull) {
  for (int procs : weft_test::all_procs()) {
    const int sleepers = weft_test::scaled(2000), yielders = 300 * procs;
    std::atomic<int> woke{0};
    std::atomic<bool> stop{false};
    std::thread watchdog([&] {
      for (int i = 0; i < 2000 && !stop.load(); ++i) std::this_thread::sleep_for(10ms);
      stop.store(true);  // let the yielders end if the sleepers never did
    });
    weft::run(
        [&] {
          weft::wait_group yielding;
          yielding.add(yielders);
          for (int i = 0; i < yielders; ++i)
            weft::go([&] {
              while (!stop.load(std::memory_order_relaxed)) weft::this_goroutine::yield();
              yielding.done();
            });
          for (int i = 0; i < sleepers; ++i)
            weft::go([&] {
              for (int k = 0; k < 3; ++k) weft::this_goroutine::sleep_for(1ms);
              woke++;
            });
          // Waits by yielding, not on a timer or a wait_group: if the
          // sleepers never wake, the watchdog ends this and the check fails.
          while (woke.load() < sleepers && !stop.load()) weft::this_goroutine::yield();
          stop.store(true);
          yielding.wait();
          return 0;
        },
        weft_test::procs_opt(procs));
    watchdog.join();
    EXPECT_EQ(woke.load(), sleepers) << "procs " << procs << ": sleepers still asleep after 20 s";
  }
}

TEST(Sleep, OutsideTheRuntimeSleepsTheThread) {
  auto t0 = clk::now();
  weft::this_goroutine::sleep_for(5ms);
  EXPECT_GE(clk::now() - t0, 5ms);
}

// A stop token cuts a sleep short; without a stop the whole time passes.
TEST(Sleep, StopTokenCutsTheSleepShort) {
  for (int procs : weft_test::all_procs()) {
    weft::run([&] {
      std::stop_source src;
      weft::chan<bool> result(1);
      auto t0 = clk::now();
      weft::go([&, result]() mutable { result.send(weft::this_goroutine::sleep_for(10s, src.get_token())); });
      weft::this_goroutine::sleep_for(5ms);
      src.request_stop();
      EXPECT_EQ(result.recv(), false);
      EXPECT_LT(clk::now() - t0, 5s) << "procs=" << procs;

      EXPECT_FALSE(weft::this_goroutine::sleep_for(1s, src.get_token()));  // already requested: at once
      std::stop_source other;
      auto t1 = clk::now();
      EXPECT_TRUE(weft::this_goroutine::sleep_for(3ms, other.get_token()));
      EXPECT_GE(clk::now() - t1, 3ms);
      EXPECT_TRUE(weft::this_goroutine::sleep_until(clk::now() + 1ms, std::stop_token{}));
    }, weft::options{.procs = procs});
  }
}

TEST(Sleep, StopTokenWorksOnAPlainThread) {
  std::stop_source src;
  std::thread stopper([&] {
    std::this_thread::sleep_for(5ms);
    src.request_stop();
  });
  auto t0 = clk::now();
  EXPECT_FALSE(weft::this_goroutine::sleep_for(10s, src.get_token()));
  EXPECT_LT(clk::now() - t0, 5s);
  stopper.join();
  std::stop_source other;
  auto t1 = clk::now();
  EXPECT_TRUE(weft::this_goroutine::sleep_for(2ms, other.get_token()));
  EXPECT_GE(clk::now() - t1, 2ms);
}

}  // namespace
