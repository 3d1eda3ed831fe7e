// tests/runtime/sysmon_test.cpp: sysmon's deep sleep (runtime/sysmon.cpp).
// An idle program's sysmon sleeps; the first P out of the idle list wakes
// it, so its duties (here: handing off the P of a long blocking call) are
// done as promptly as before, not after the deep sleep's 1 s bound.
#include <weft/blocking.hpp>
#include <weft/weft.hpp>

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>

#include "testing.hpp"
#include "weft_test_util.hpp"

namespace {

using namespace std::chrono_literals;

TEST(Sysmon, SleepsWhileIdleAndWakesForABlockingCall) {
  std::atomic<bool> slept{false};
  bool ran_during_call = false;
  weft::run(
      [&] {
        // Idle: every P idle for a while, so sysmon goes to its deep sleep.
        // Seen from a plain thread: a goroutine that looks holds a P, which
        // wakes sysmon.
        std::atomic<bool> watching{true};
        std::thread watcher([&] {
          while (watching.load() && !slept) {
            slept = weft::testing::sysmon_in_deep_sleep();
            std::this_thread::sleep_for(1ms);
          }
        });
        weft::this_goroutine::sleep_for(500ms);
        watching = false;
        watcher.join();
        std::atomic<bool> ran{false};
        weft::go([&ran] { ran = true; });
        // One P, held by this blocking call: the goroutine above runs
        // during it only if a woken sysmon hands the P off.
        ran_during_call = weft::blocking([&ran] {
          for (int i = 0; i < 300 && !ran.load(); ++i) std::this_thread::sleep_for(1ms);
          return ran.load();
        });
      },
      weft::options{.procs = 1, .runtime = {}});
  EXPECT_TRUE(slept) << "sysmon never slept in an idle program";
  EXPECT_TRUE(ran_during_call) << "the P of a 300 ms blocking call was not handed off";
}

// A program that waits between short bursts (a remote call's client: a
// reply every ~50 us) is all idle at many of sysmon's looks. A deep sleep
// at each cost it a futex wake from the next P taken and a thread wake-up
// where a look costs one; so sysmon sleeps deeply only when no goroutine
// has run since its previous look. Here a goroutine wakes every 100 us for
// 300 ms: before, sysmon slept deeply 35-37 times.
TEST(Sysmon, DoesNotSleepDeeplyBetweenShortBursts) {
  std::uint64_t deep = 0;
  weft::run(
      [&] {
        const std::uint64_t before = weft::testing::sysmon_deep_sleeps();
        for (auto t = std::chrono::steady_clock::now(); std::chrono::steady_clock::now() - t < 300ms;)
          weft::this_goroutine::sleep_for(100us);
        deep = weft::testing::sysmon_deep_sleeps() - before;
      },
      weft::options{.procs = 2, .runtime = {}});
  // Not zero: on a loaded machine (and under sanitizers) a 100 us sleep
  // can outlast two of sysmon's looks, and then nothing ran between them.
  EXPECT_LE(deep, weft_test::sanitized ? 15u : 8u)
      << "deep sleeps of sysmon while a goroutine woke every 100 us for 300 ms";
}

}  // namespace
