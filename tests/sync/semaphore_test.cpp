// tests/sync/semaphore_test.cpp: weft::counting_semaphore and
// weft::binary_semaphore, as std's. Never more than N holders; release
// wakes waiters in FIFO order; timed acquires fail after their timeout (and
// succeed when a release comes first); permits are conserved when releases
// race timeouts; misuse; a semaphore may be destroyed as soon as acquire
// returns; plain threads inside and outside weft::run.
#include <weft/weft.hpp>

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstddef>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <type_traits>
#include <vector>

#include "weft_test_util.hpp"

namespace {

using weft_test::named;
using weft_test::procs_name;
using weft_test::procs_opt;
using weft_test::quartered;
using weft_test::wait_parked;

using namespace std::chrono_literals;
using steady = std::chrono::steady_clock;

class SemaphoreProcs : public ::testing::TestWithParam<int> {};

static_assert(weft::binary_semaphore::max() == 1);
static_assert(weft::counting_semaphore<>::max() == PTRDIFF_MAX);
static_assert(weft::counting_semaphore<5>::max() == 5);
static_assert(!std::is_copy_constructible_v<weft::counting_semaphore<3>>);

TEST_P(SemaphoreProcs, NeverMoreThanNHolders) {
  constexpr int kHolders = 3, kGoroutines = 16;
  const int per = quartered(300);
  std::atomic<int> inside{0}, most{0}, total{0};
  weft::run(
      [&] {
        weft::counting_semaphore<kHolders> sem(kHolders);
        weft::wait_group wg;
        wg.add(kGoroutines);
        for (int g = 0; g < kGoroutines; ++g) {
          weft::go([&, g] {
            for (int k = 0; k < per; ++k) {
              if ((g + k) % 4 == 0) {
                while (!sem.try_acquire()) weft::this_goroutine::yield();
              } else if ((g + k) % 4 == 1) {
                while (!sem.try_acquire_for(1ms)) {
                }
              } else {
                sem.acquire();
              }
              int now = ++inside;
              int m = most.load();
              while (now > m && !most.compare_exchange_weak(m, now)) {
              }
              if (k % 5 == 0) weft::this_goroutine::yield();
              if (k % 50 == 0) weft::this_goroutine::sleep_for(50us);
              --inside;
              ++total;
              sem.release();
            }
            wg.done();
          });
        }
        wg.wait();
        // All permits are back.
        for (int i = 0; i < kHolders; ++i) EXPECT_TRUE(sem.try_acquire());
        EXPECT_FALSE(sem.try_acquire());
      },
      procs_opt(GetParam()));
  EXPECT_LE(most.load(), kHolders);
  EXPECT_GE(most.load(), 1);
  EXPECT_EQ(total.load(), kGoroutines * per);
}

TEST_P(SemaphoreProcs, ReleaseWakesWaitersInFifoOrder) {
  constexpr int kWaiters = 5;
  std::vector<int> order;
  std::mutex order_mu;
  weft::run(
      [&] {
        weft::counting_semaphore<> sem(0);
        weft::wait_group wg;
        wg.add(kWaiters);
        for (int i = 0; i < kWaiters; ++i) {
          std::string name = "sem-" + std::to_string(i);
          weft::go(named(name.c_str()), [&, i] {
            sem.acquire();
            {
              std::lock_guard lk(order_mu);
              order.push_back(i);
            }
            wg.done();
          });
          EXPECT_TRUE(wait_parked(name, 1));
        }
        for (int k = 1; k <= kWaiters; ++k) {
          sem.release();
          for (;;) {
            {
              std::lock_guard lk(order_mu);
              if (static_cast<int>(order.size()) == k) break;
            }
            weft::this_goroutine::sleep_for(100us);
          }
        }
        wg.wait();
      },
      procs_opt(GetParam()));
  std::vector<int> want;
  for (int i = 0; i < kWaiters; ++i) want.push_back(i);
  EXPECT_EQ(order, want);
}

TEST_P(SemaphoreProcs, ReleaseNWakesN) {
  constexpr int kWaiters = 8;
  std::atomic<int> got{0};
  weft::run(
      [&] {
        weft::counting_semaphore<> sem(0);
        weft::wait_group wg;
        wg.add(kWaiters);
        for (int i = 0; i < kWaiters; ++i) {
          weft::go(named("sem-n"), [&] {
            sem.acquire();
            ++got;
            wg.done();
          });
        }
        EXPECT_TRUE(wait_parked("sem-n", kWaiters));
        sem.release(3);
        while (got.load() < 3) weft::this_goroutine::sleep_for(100us);
        weft::this_goroutine::sleep_for(5ms);
        EXPECT_EQ(got.load(), 3) << "release(3) let more than 3 through";
        sem.release(kWaiters - 3 + 2);  // two left over
        wg.wait();
        EXPECT_TRUE(sem.try_acquire());
        EXPECT_TRUE(sem.try_acquire());
        EXPECT_FALSE(sem.try_acquire());
      },
      procs_opt(GetParam()));
  EXPECT_EQ(got.load(), kWaiters);
}

void expect_timeout_within(std::chrono::nanoseconds elapsed, std::chrono::nanoseconds d, const char* what) {
  EXPECT_GE(elapsed, d) << what << " returned early";
  EXPECT_LE(elapsed, d + 50ms) << what << " returned late: " << elapsed.count() << " ns";
}

void check_timed_acquires() {
  weft::binary_semaphore sem(0);
  for (auto d : {1ms, 20ms}) {
    auto t0 = steady::now();
    EXPECT_FALSE(sem.try_acquire_for(d));
    expect_timeout_within(steady::now() - t0, d, "try_acquire_for");
    t0 = steady::now();
    EXPECT_FALSE(sem.try_acquire_until(t0 + d));
    expect_timeout_within(steady::now() - t0, d, "try_acquire_until");
    auto s0 = std::chrono::system_clock::now();
    t0 = steady::now();
    EXPECT_FALSE(sem.try_acquire_until(s0 + d));
    EXPECT_GE(steady::now() - t0, d);
  }
  EXPECT_FALSE(sem.try_acquire_for(0ms));
  EXPECT_FALSE(sem.try_acquire_for(-1s));
  EXPECT_FALSE(sem.try_acquire_until(steady::now() - 1s));
  sem.release();
  EXPECT_TRUE(sem.try_acquire_for(0ms));  // a free permit needs no time
  sem.release();
  EXPECT_TRUE(sem.try_acquire_for(std::chrono::hours::max()));
}

TEST_P(SemaphoreProcs, TimedAcquireFailsAfterTheTimeout) {
  weft::run([] { check_timed_acquires(); }, procs_opt(GetParam()));
}

TEST_P(SemaphoreProcs, TimedAcquireSucceedsWhenReleasedInTime) {
  weft::run(
      [&] {
        weft::binary_semaphore sem(0);
        weft::go([&] {
          weft::this_goroutine::sleep_for(5ms);
          sem.release();
        });
        auto t0 = steady::now();
        EXPECT_TRUE(sem.try_acquire_for(10s));
        EXPECT_LT(steady::now() - t0, 5s);
      },
      procs_opt(GetParam()));
}

TEST_P(SemaphoreProcs, ReleasesRacingTimeoutsConservePermits) {
  // Acquirers with short timeouts race releasers; every permit released is
  // taken exactly once: none lost to a timed-out waiter, none duplicated.
  constexpr int kAcquirers = 6, kReleasers = 2;
  const int per_releaser = quartered(1000);
  std::atomic<long> taken{0};
  long left_over = 0;
  weft::run(
      [&] {
        weft::counting_semaphore<> sem(0);
        std::atomic<bool> releasing{true};
        weft::wait_group acquirers, releasers;
        acquirers.add(kAcquirers);
        releasers.add(kReleasers);
        for (int a = 0; a < kAcquirers; ++a) {
          weft::go([&, a] {
            for (int k = 0; releasing.load(); ++k) {
              if (sem.try_acquire_for(std::chrono::microseconds((a * 31 + k * 7) % 200))) ++taken;
            }
            acquirers.done();
          });
        }
        for (int r = 0; r < kReleasers; ++r) {
          weft::go([&, r] {
            for (int i = 0; i < per_releaser; ++i) {
              sem.release((i + r) % 3 == 0 ? 2 : 1);
              if (i % 4 == 0) weft::this_goroutine::yield();
              if (i % 100 == 0) weft::this_goroutine::sleep_for(50us);
            }
            releasers.done();
          });
        }
        releasers.wait();
        weft::this_goroutine::sleep_for(2ms);
        releasing.store(false);
        acquirers.wait();
        while (sem.try_acquire()) ++left_over;
      },
      procs_opt(GetParam()));
  long released = 0;
  for (int r = 0; r < kReleasers; ++r)
    for (int i = 0; i < per_releaser; ++i) released += (i + r) % 3 == 0 ? 2 : 1;
  EXPECT_EQ(taken.load() + left_over, released);
}

TEST(Semaphore, MisuseThrows) {
  auto check = [] {
    weft::binary_semaphore bin(1);
    try {
      bin.release();
      ADD_FAILURE() << "release beyond max returned";
    } catch (const weft::misuse_error& e) {
      const std::logic_error& base = e;
      EXPECT_NE(std::string(base.what()).find("beyond max"), std::string::npos) << e.what();
    }
    EXPECT_TRUE(bin.try_acquire());  // unchanged: one permit
    EXPECT_FALSE(bin.try_acquire());
    bin.release();
    weft::counting_semaphore<4> four(2);
    EXPECT_THROW(four.release(3), weft::misuse_error);
    EXPECT_THROW(four.release(-1), weft::misuse_error);
    four.release(2);
    for (int i = 0; i < 4; ++i) EXPECT_TRUE(four.try_acquire());
    EXPECT_FALSE(four.try_acquire());
    EXPECT_THROW(weft::counting_semaphore<4>{5}, weft::misuse_error);
    EXPECT_THROW(weft::counting_semaphore<4>{-1}, weft::misuse_error);
    weft::counting_semaphore<> big(PTRDIFF_MAX - 1);
    big.release();
    EXPECT_THROW(big.release(), weft::misuse_error);
  };
  weft::run(check);
  check();  // outside weft::run
}

TEST(Semaphore, ReleaseBeyondMaxWithWaitersIsMisuse) {
  weft::run(
      [] {
        weft::counting_semaphore<2> sem(0);
        weft::wait_group wg;
        wg.add(1);
        weft::go(named("sem-one"), [&] {
          sem.acquire();
          wg.done();
        });
        EXPECT_TRUE(wait_parked("sem-one", 1));
        EXPECT_THROW(sem.release(3), weft::misuse_error);
        sem.release(2);  // one to the waiter, one left
        wg.wait();
        EXPECT_TRUE(sem.try_acquire());
        EXPECT_FALSE(sem.try_acquire());
      },
      procs_opt(2));
}

TEST(Semaphore, MayBeDestroyedAsSoonAsAcquireReturns) {
  // A binary_semaphore as a one-shot signal on the waiter's stack: release
  // must not touch it after the permit is visible. (ASan reports it.)
  for (int procs : {2, 4}) {
    weft::run(
        [] {
          for (int i = 0; i < weft_test::scaled(3000); ++i) {
            weft::binary_semaphore done(0);
            weft::go([&done] { done.release(); });
            done.acquire();
          }
        },
        procs_opt(procs));
  }
}

TEST(Semaphore, PlainThreadsOutsideRun) {
  constexpr int kThreads = 8, kHolders = 2;
  const int per = quartered(3000);
  weft::counting_semaphore<kHolders> sem(kHolders);
  std::atomic<int> inside{0}, bad{0}, total{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int k = 0; k < per; ++k) {
        if ((t + k) % 3 == 0) {
          while (!sem.try_acquire_for(200us)) {
          }
        } else {
          sem.acquire();
        }
        if (++inside > kHolders) ++bad;
        if (k % 300 == 0) std::this_thread::sleep_for(50us);
        --inside;
        ++total;
        sem.release();
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(bad.load(), 0);
  EXPECT_EQ(total.load(), kThreads * per);
  check_timed_acquires();  // from a plain thread: futex timeouts
}

TEST(Semaphore, PlainThreadReleasesToGoroutines) {
  std::atomic<int> got{0};
  weft::run(
      [&] {
        weft::counting_semaphore<> sem(0);
        weft::wait_group wg;
        wg.add(4);
        for (int i = 0; i < 4; ++i) {
          weft::go([&] {
            while (!sem.try_acquire_for(1ms)) {
            }
            ++got;
            wg.done();
          });
        }
        std::thread t([&] {
          for (int i = 0; i < 4; ++i) {
            std::this_thread::sleep_for(1ms);
            sem.release();
          }
        });
        wg.wait();
        t.join();
      },
      procs_opt(2));
  EXPECT_EQ(got.load(), 4);
}

INSTANTIATE_TEST_SUITE_P(Procs, SemaphoreProcs, ::testing::ValuesIn(weft_test::all_procs()), procs_name);

}  // namespace
