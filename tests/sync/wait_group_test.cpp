// tests/sync/wait_group_test.cpp: weft::wait_group, Go's sync.WaitGroup.
// wait returns only after every done; many waiters all wake; wait on zero
// returns at once; going negative is misuse; reuse after zero; plain threads
// can wait, inside and outside weft::run.
#include <weft/weft.hpp>

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "weft_test_util.hpp"

namespace {

using weft_test::count_parked;
using weft_test::named;
using weft_test::procs_name;
using weft_test::procs_opt;
using weft_test::wait_parked;

using namespace std::chrono_literals;

using weft_test::quartered;

class WaitGroupProcs : public ::testing::TestWithParam<int> {};

TEST_P(WaitGroupProcs, WaitReturnsOnlyAfterAllDone) {
  const int procs = GetParam();
  constexpr int kWorkers = 16;
  std::atomic<int> finished{0};
  int seen_at_wait = -1;
  weft::run(
      [&] {
        weft::wait_group wg;
        wg.add(kWorkers);
        for (int i = 0; i < kWorkers; ++i) {
          weft::go([&, i] {
            // Spread the finishes out: some yield, some sleep.
            if (i % 3 == 0) weft::this_goroutine::sleep_for(std::chrono::milliseconds(1 + i % 5));
            else for (int y = 0; y < i; ++y) weft::this_goroutine::yield();
            ++finished;
            wg.done();
          });
        }
        wg.wait();
        seen_at_wait = finished.load();
      },
      procs_opt(procs));
  EXPECT_EQ(seen_at_wait, kWorkers);
}

TEST_P(WaitGroupProcs, WaiterStaysParkedUntilLastDone) {
  const int procs = GetParam();
  std::atomic<bool> waiter_returned{false};
  bool returned_early = true;
  weft::run(
      [&] {
        weft::wait_group wg, waiter_done;
        weft::chan<int> gate;
        wg.add(3);
        waiter_done.add(1);
        weft::go(named("waiter"), [&] {
          wg.wait();
          waiter_returned.store(true);
          waiter_done.done();
        });
        // Two finish at once; the third waits for the gate.
        weft::go([&] { wg.done(); });
        weft::go([&] { wg.done(); });
        weft::go([&] {
          (void)gate.recv();
          wg.done();
        });
        EXPECT_TRUE(wait_parked("waiter", 1)) << "wait() did not park with a count of 1";
        weft::this_goroutine::sleep_for(10ms);
        returned_early = waiter_returned.load();
        gate.send(1);
        waiter_done.wait();
      },
      procs_opt(procs));
  EXPECT_FALSE(returned_early) << "wait returned before the last done";
  EXPECT_TRUE(waiter_returned.load());
}

TEST_P(WaitGroupProcs, ManyWaitersAllWake) {
  const int procs = GetParam();
  constexpr int kWaiters = 32;
  std::atomic<int> woke{0};
  weft::run(
      [&] {
        weft::wait_group wg, all_woke;
        wg.add(1);
        all_woke.add(kWaiters);
        for (int i = 0; i < kWaiters; ++i) {
          weft::go(named("many-waiter"), [&] {
            wg.wait();
            ++woke;
            all_woke.done();
          });
        }
        EXPECT_TRUE(wait_parked("many-waiter", kWaiters));
        EXPECT_EQ(woke.load(), 0);
        wg.done();
        all_woke.wait();
      },
      procs_opt(procs));
  EXPECT_EQ(woke.load(), kWaiters);
}

TEST(WaitGroup, WaitOnZeroReturnsAtOnce) {
  int reached = 0;
  weft::run(
      [&] {
        weft::wait_group wg;
        wg.wait();  // never added: would park forever (a deadlock at procs=1) if it blocked
        ++reached;
        wg.add(2);
        wg.done();
        wg.done();
        wg.wait();
        ++reached;
        wg.add(0);
        wg.wait();
        ++reached;
      },
      procs_opt(1));
  EXPECT_EQ(reached, 3);
  weft::wait_group outside;
  outside.wait();  // a plain thread, outside weft::run
  outside.add(1);
  outside.done();
  outside.wait();
}

TEST(WaitGroup, NegativeCounterThrowsMisuse) {
  auto check = [](weft::wait_group& wg, auto&& op) {
    try {
      op();
      ADD_FAILURE() << "a negative count did not throw";
    } catch (const weft::misuse_error& e) {
      const std::logic_error& base = e;  // misuse_error is a std::logic_error
      EXPECT_NE(std::string(base.what()).find("negative"), std::string::npos) << e.what();
    }
    // The throwing call changed nothing: the group is usable at zero.
    wg.wait();
    wg.add(1);
    wg.done();
    wg.wait();
  };
  weft::run([&] {
    weft::wait_group wg;
    check(wg, [&] { wg.done(); });
    check(wg, [&] { wg.add(-1); });
    wg.add(2);
    EXPECT_THROW(wg.add(-3), weft::misuse_error);  // 2 - 3 < 0; the count stays 2
    wg.done();
    wg.done();
    EXPECT_THROW(wg.done(), weft::misuse_error) << "the failed add(-3) changed the count";
    wg.wait();
  });
  // Outside weft::run too.
  weft::wait_group plain;
  EXPECT_THROW(plain.done(), weft::misuse_error);
}

TEST_P(WaitGroupProcs, ReuseAfterZero) {
  const int procs = GetParam();
  const int rounds = quartered(50);
  constexpr int kPerRound = 8;
  std::vector<int> seen;
  weft::run(
      [&] {
        weft::wait_group wg;
        std::atomic<int> total{0};
        for (int r = 0; r < rounds; ++r) {
          wg.add(kPerRound);
          for (int i = 0; i < kPerRound; ++i) {
            weft::go([&] {
              weft::this_goroutine::yield();
              ++total;
              wg.done();
            });
          }
          wg.wait();
          seen.push_back(total.load());
        }
      },
      procs_opt(procs));
  ASSERT_EQ(seen.size(), static_cast<std::size_t>(rounds));
  for (int r = 0; r < rounds; ++r) EXPECT_EQ(seen[static_cast<std::size_t>(r)], (r + 1) * kPerRound) << "round " << r;
}

TEST_P(WaitGroupProcs, PlainThreadWaitsForGoroutines) {
  // A std::thread started inside weft::run waits (on a futex) for a group
  // that goroutines complete. Main waits for the group too, then joins the
  // thread, which by then has been woken and only has to return.
  const int procs = GetParam();
  constexpr int kWorkers = 8;
  std::atomic<int> finished{0};
  std::atomic<int> thread_saw{-1};
  std::atomic<bool> thread_waiting{false};
  weft::run(
      [&] {
        weft::wait_group wg;
        wg.add(kWorkers);
        std::thread t([&] {
          thread_waiting.store(true);
          wg.wait();
          thread_saw.store(finished.load());
        });
        for (int i = 0; i < kWorkers; ++i) {
          weft::go([&] {
            // Let the thread get to wait() first (most of the time).
            while (!thread_waiting.load()) weft::this_goroutine::sleep_for(1ms);
            weft::this_goroutine::sleep_for(10ms);
            ++finished;
            wg.done();
          });
        }
        wg.wait();
        t.join();
      },
      procs_opt(procs));
  EXPECT_EQ(thread_saw.load(), kWorkers);
}

TEST(WaitGroup, PlainThreadsOutsideRun) {
  constexpr int kWorkers = 8, kWaiters = 4;
  weft::wait_group wg;
  std::atomic<int> finished{0};
  std::vector<int> saw(kWaiters, -1);
  wg.add(kWorkers);
  std::vector<std::thread> threads;
  for (int w = 0; w < kWaiters; ++w) {
    threads.emplace_back([&, w] {
      wg.wait();
      saw[static_cast<std::size_t>(w)] = finished.load();
    });
  }
  for (int i = 0; i < kWorkers; ++i) {
    threads.emplace_back([&, i] {
      std::this_thread::sleep_for(std::chrono::milliseconds(5 + i));
      ++finished;
      wg.done();
    });
  }
  for (auto& t : threads) t.join();
  for (int s : saw) EXPECT_EQ(s, kWorkers);
}

INSTANTIATE_TEST_SUITE_P(Procs, WaitGroupProcs, ::testing::Values(1, 2, 4, 8), procs_name);

}  // namespace

namespace {

// A wait_group may be destroyed as soon as wait() returns, while the done()
// that released it is still returning on another thread: done() must not
// touch the wait_group after the count reached zero unless a waiter still
// needs it. (ASan reports the stack-use-after-scope if it does; elsewhere
// the next frame's data gets corrupted.)
TEST(WaitGroup, MayBeDestroyedAsSoonAsWaitReturns) {
  for (int procs : {2, 4}) {
    weft::run([] {
      for (int i = 0; i < weft_test::scaled(5000); ++i) {
        weft::wait_group wg;
        wg.add(1);
        weft::go([&wg] { wg.done(); });
        wg.wait();
        // wg dies here; a later iteration's wg reuses the same stack slot.
      }
    }, weft::options{.procs = procs});
  }
}

}  // namespace
