// tests/sync/scope_limit_test.cpp: weft::scope's limit (errgroup.SetLimit)
// and deadline (context.WithTimeout). A limit bounds the goroutines running
// at once, parks go() and fails try_go() at it, gives permits back also on
// failure, and cannot change under running goroutines; a deadline requests
// stop on time (also while the destructor joins), at once when already
// passed, never when the work ends first, and its goroutine goes away with
// the scope.
#include <weft/weft.hpp>

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <stdexcept>
#include <stop_token>
#include <thread>

#include "weft_test_util.hpp"

namespace {

using namespace std::chrono_literals;
using steady = std::chrono::steady_clock;
using weft_test::named;
using weft_test::procs_name;
using weft_test::procs_opt;
using weft_test::wait_goroutines;
using weft_test::wait_parked;

// How late a deadline may act: generous, the machine is shared.
constexpr auto late_margin = weft_test::sanitized ? 2s : 1s;

class ScopeLimitProcs : public ::testing::TestWithParam<int> {};

TEST_P(ScopeLimitProcs, NoMoreThanTheLimitRunAtOnce) {
  constexpr int kLimit = 3;
  constexpr int kWorkers = 30;
  std::atomic<int> running{0}, most{0}, finished{0};
  weft::run(
      [&] {
        weft::scope s;
        s.set_limit(kLimit);
        for (int i = 0; i < kWorkers; ++i) {
          s.go([&] {
            const int now = ++running;
            int seen = most.load();
            while (now > seen && !most.compare_exchange_weak(seen, now)) {
            }
            weft::this_goroutine::sleep_for(2ms);
            --running;
            ++finished;
          });
        }
        s.wait();
      },
      procs_opt(GetParam()));
  EXPECT_EQ(finished.load(), kWorkers);
  EXPECT_EQ(most.load(), kLimit);
}

TEST_P(ScopeLimitProcs, GoParksAtTheLimitUntilOneEnds) {
  std::atomic<bool> second_ran{false};
  weft::run(
      [&] {
        weft::scope s;
        s.set_limit(1);
        weft::chan<int> release;
        s.go([release]() mutable { release.recv(); });
        weft::chan<int> started(1);
        weft::go(named("starter"), [&s, &second_ran, started]() mutable {
          s.go([&second_ran] { second_ran = true; });  // parks: the limit is reached
          started.send(1);
        });
        ASSERT_TRUE(wait_parked("starter", 1));
        EXPECT_FALSE(second_ran.load());
        release.close();
        started.recv();
        s.wait();
      },
      procs_opt(GetParam()));
  EXPECT_TRUE(second_ran.load());
}

TEST_P(ScopeLimitProcs, DeadlineStopsTheGoroutines) {
  constexpr int kWorkers = 16;
  std::atomic<int> ended{0};
  steady::duration took{};
  bool exceeded_before = true, exceeded_after = false;
  weft::run(
      [&] {
        const auto start = steady::now();
        weft::scope s(30ms);
        exceeded_before = s.deadline_exceeded();
        for (int i = 0; i < kWorkers; ++i) {
          if (i % 2 == 0) {
            s.go([&ended](std::stop_token t) {
              while (!t.stop_requested()) weft::this_goroutine::sleep_for(1ms);
              ++ended;
            });
          } else {
            s.go([&ended](std::stop_token t) {
              EXPECT_FALSE(weft::this_goroutine::sleep_for(1h, t));  // cut short by the stop
              ++ended;
            });
          }
        }
        s.wait();
        took = steady::now() - start;
        exceeded_after = s.deadline_exceeded();
      },
      procs_opt(GetParam()));
  EXPECT_EQ(ended.load(), kWorkers);
  EXPECT_FALSE(exceeded_before);
  EXPECT_TRUE(exceeded_after);
  EXPECT_GE(took, 30ms);
  EXPECT_LT(took, 30ms + late_margin);
}

INSTANTIATE_TEST_SUITE_P(Procs, ScopeLimitProcs, ::testing::ValuesIn(weft_test::all_procs()), procs_name);

TEST(ScopeLimit, TryGoFailsAtTheLimit) {
  weft::run(
      [] {
        weft::scope s;
        EXPECT_TRUE(s.try_go([] {}));  // no limit: always starts
        s.wait();
        s.set_limit(2);
        weft::chan<int> release;
        EXPECT_TRUE(s.try_go([release]() mutable { release.recv(); }));
        EXPECT_TRUE(s.try_go([release]() mutable { release.recv(); }));
        std::atomic<bool> ran{false};
        EXPECT_FALSE(s.try_go([&ran] { ran = true; }));
        release.close();
        s.wait();  // both ended: their permits are back
        EXPECT_TRUE(s.try_go([&ran] { ran = true; }));
        s.wait();
        EXPECT_TRUE(ran.load());
      },
      procs_opt(2));
}

TEST(ScopeLimit, ZeroLetsNothingStartAndNegativeRemovesTheLimit) {
  weft::run(
      [] {
        weft::scope s;
        s.set_limit(0);
        EXPECT_FALSE(s.try_go([] {}));
        s.set_limit(-1);
        weft::chan<int> release;
        for (int i = 0; i < 50; ++i) s.go([release]() mutable { release.recv(); });  // none parks
        release.close();
        s.wait();
      },
      procs_opt(1));
}

TEST(ScopeLimit, FailingGoroutinesGiveTheirPermitBack) {
  int caught = 0;
  weft::run(
      [&] {
        weft::scope s;
        s.set_limit(1);
        for (int round = 0; round < 3; ++round) {
          s.go([] { throw std::runtime_error("boom"); });
          try {
            s.wait();
          } catch (const std::runtime_error&) {
            ++caught;
          }
        }
        EXPECT_TRUE(s.try_go([] {}));
        s.wait();
      },
      procs_opt(2));
  EXPECT_EQ(caught, 3);
}

TEST(ScopeLimit, ChangingItUnderRunningGoroutinesIsMisuse) {
  weft::run(
      [] {
        weft::scope s;
        weft::chan<int> release;
        s.go([release]() mutable { release.recv(); });  // before any limit: does not count
        s.set_limit(1);
        s.go([release]() mutable { release.recv(); });
        EXPECT_THROW(s.set_limit(4), weft::misuse_error);
        EXPECT_FALSE(s.try_go([] {}));  // the failed change left the limit alone
        release.close();
        s.wait();
        s.set_limit(4);  // nothing runs under the old limit now
        for (int i = 0; i < 4; ++i) EXPECT_TRUE(s.try_go([] { weft::this_goroutine::sleep_for(20ms); }));
        s.wait();
      },
      procs_opt(2));
}

TEST(ScopeDeadline, WorkDoneFirstIsNotCutAndTheDeadlineGoroutineLeaves) {
  weft::run(
      [] {
        {
          weft::scope s(10s);
          EXPECT_EQ(weft::num_goroutines(), 2u);  // main and the deadline's goroutine
          std::atomic<int> n{0};
          for (int i = 0; i < 8; ++i) s.go([&n](std::stop_token t) { n += t.stop_requested() ? 100 : 1; });
          s.wait();
          EXPECT_EQ(n.load(), 8);
          EXPECT_FALSE(s.deadline_exceeded());
          EXPECT_FALSE(s.get_stop_token().stop_requested());
        }
        EXPECT_TRUE(wait_goroutines(1));
      },
      procs_opt(2));
}

TEST(ScopeDeadline, APassedDeadlineStopsAtOnceWithoutAGoroutine) {
  weft::run(
      [] {
        weft::scope past(steady::now() - 1s);
        EXPECT_TRUE(past.get_stop_token().stop_requested());
        EXPECT_TRUE(past.deadline_exceeded());
        weft::scope negative(-5ms);
        EXPECT_TRUE(negative.get_stop_token().stop_requested());
        weft::scope zero(0s);
        EXPECT_TRUE(zero.get_stop_token().stop_requested());
        // No deadline at all, spelled three ways.
        weft::scope never(steady::time_point::max());
        weft::scope forever(std::chrono::hours::max());
        weft::scope plain;
        for (weft::scope* s : {&never, &forever, &plain}) {
          EXPECT_EQ(s->deadline(), steady::time_point::max());
          EXPECT_FALSE(s->deadline_exceeded());
          EXPECT_FALSE(s->get_stop_token().stop_requested());
        }
        EXPECT_EQ(weft::num_goroutines(), 1u);
        // Started after the stop: they see it at once.
        std::atomic<bool> saw{false};
        past.go([&saw](std::stop_token t) { saw = t.stop_requested(); });
        past.wait();
        EXPECT_TRUE(saw.load());
      },
      procs_opt(1));
}

TEST(ScopeDeadline, TheDestructorsJoinEndsAtTheDeadline) {
  std::atomic<int> ended{0};
  steady::duration took{};
  weft::run(
      [&] {
        const auto start = steady::now();
        {
          weft::scope s(steady::now() + 30ms);
          for (int i = 0; i < 4; ++i) {
            s.go([&ended](std::stop_token t) {
              weft::this_goroutine::sleep_for(1h, t);
              ++ended;
            });
          }
        }  // no wait(): the destructor joins, and the deadline still applies
        took = steady::now() - start;
      },
      procs_opt(2));
  EXPECT_EQ(ended.load(), 4);
  EXPECT_GE(took, 30ms);
  EXPECT_LT(took, 30ms + late_margin);
}

TEST(ScopeDeadline, OnAPlainThreadIsMisuse) {
  EXPECT_THROW(weft::scope s(1s), weft::misuse_error);  // outside weft::run
  bool threw = false;
  weft::run(
      [&] {
        std::thread([&] {
          try {
            weft::scope s(1s);
          } catch (const weft::misuse_error&) {
            threw = true;
          }
        }).join();
      },
      procs_opt(1));
  EXPECT_TRUE(threw);
}

}  // namespace
