// Durations too long for nanoseconds (hours::max() and friends) mean
// "forever": they must neither wrap around into the past (firing at once)
// nor be refused as non-positive. Regression for issue 11, defect 1.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>

#include "weft_test_util.hpp"
#include <weft/weft.hpp>

namespace {

using namespace std::chrono_literals;
using clk = std::chrono::steady_clock;

// Long enough for a wrapped deadline (in the past) to have fired.
constexpr auto settle = 30ms;

TEST(HugeDuration, SleepForHoursMaxDoesNotReturn) {
  std::atomic<int> woke{0};
  weft::run([&] {
    weft::go([&] {
      weft::this_goroutine::sleep_for(std::chrono::hours::max());
      woke++;
    });
    weft::go([&] {
      weft::this_goroutine::sleep_for(std::chrono::seconds::max());
      woke++;
    });
    weft::this_goroutine::sleep_for(settle);
    EXPECT_EQ(woke.load(), 0);
  });
}

TEST(HugeDuration, SleepUntilFarTimePointDoesNotReturn) {
  std::atomic<int> woke{0};
  weft::run([&] {
    weft::go([&] {
      using hours_point = std::chrono::time_point<clk, std::chrono::hours>;
      weft::this_goroutine::sleep_until(hours_point::max());
      woke++;
    });
    weft::this_goroutine::sleep_for(settle);
    EXPECT_EQ(woke.load(), 0);
  });
}

TEST(HugeDuration, SleepForWithTokenRunsUntilStop) {
  weft::run([] {
    std::stop_source src;
    weft::chan<bool> done(1);
    weft::go([&src, done]() mutable { done.send(weft::this_goroutine::sleep_for(std::chrono::hours::max(), src.get_token())); });
    weft::this_goroutine::sleep_for(settle);
    EXPECT_FALSE(done.try_recv().has_value());
    src.request_stop();
    auto r = done.recv();
    ASSERT_TRUE(r.has_value());
    EXPECT_FALSE(*r);  // cut short by the stop, not "the whole time passed"
  });
}

TEST(HugeDuration, TimerAndResetNeverFire) {
  weft::run([] {
    weft::timer t(std::chrono::hours::max());
    weft::this_goroutine::sleep_for(settle);
    EXPECT_FALSE(t.channel().try_recv().has_value());
    EXPECT_TRUE(t.reset(std::chrono::seconds::max()));  // it was pending
    weft::this_goroutine::sleep_for(settle);
    EXPECT_FALSE(t.channel().try_recv().has_value());
    EXPECT_TRUE(t.stop());
  });
}

TEST(HugeDuration, AfterNeverFires) {
  weft::run([] {
    auto ch = weft::after(std::chrono::minutes::max());
    weft::this_goroutine::sleep_for(settle);
    EXPECT_FALSE(ch.try_recv().has_value());
  });
}

TEST(HugeDuration, TickerWithHugePeriodIsAcceptedAndNeverTicks) {
  weft::run([] {
    weft::ticker k(std::chrono::hours::max());
    weft::this_goroutine::sleep_for(settle);
    EXPECT_FALSE(k.channel().try_recv().has_value());
    k.reset(std::chrono::seconds::max());
    weft::this_goroutine::sleep_for(settle);
    EXPECT_FALSE(k.channel().try_recv().has_value());
  });
}

}  // namespace
