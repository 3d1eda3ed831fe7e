// tests/platform/spin_futex_mutex_test.cpp: sched.lock's lock
// (platform/spin_futex_mutex.hpp) excludes, and a waiter that outlasts its
// spin and sleeps is woken by the unlock.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <thread>
#include <vector>

#include "platform/spin_futex_mutex.hpp"

namespace {

using weft::detail::spin_futex_mutex;

TEST(SpinFutexMutex, ThreadsHammeringItNeverOverlap) {
  spin_futex_mutex mu;
  std::int64_t counter = 0;  // plain: only the lock orders the increments (TSan checks)
  int inside = 0;
  bool overlapped = false;
  constexpr int threads = 4;
  constexpr int per_thread = 100'000;
  std::vector<std::thread> ts;
  for (int t = 0; t < threads; ++t) {
    ts.emplace_back([&] {
      for (int i = 0; i < per_thread; ++i) {
        mu.lock();
        if (++inside != 1) overlapped = true;
        ++counter;
        --inside;
        mu.unlock();
      }
    });
  }
  for (auto& t : ts) t.join();
  EXPECT_FALSE(overlapped);
  EXPECT_EQ(counter, std::int64_t(threads) * per_thread);
}

TEST(SpinFutexMutex, WaitersThatFellAsleepAreWokenByTheUnlock) {
  spin_futex_mutex mu;
  int value = 0;
  std::atomic<int> started{0};
  std::atomic<int> got{0};
  mu.lock();
  std::vector<std::thread> ts;
  for (int t = 0; t < 3; ++t) {
    ts.emplace_back([&] {
      started.fetch_add(1);
      mu.lock();  // held 50 ms: far past the spin, so this sleeps on the futex
      if (value == 42) got.fetch_add(1);
      mu.unlock();
    });
  }
  while (started.load() < 3) std::this_thread::yield();
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  EXPECT_EQ(got.load(), 0) << "a waiter got a held lock";
  value = 42;
  mu.unlock();
  for (auto& t : ts) t.join();  // hangs (ctest's timeout) if a sleeper is never woken
  EXPECT_EQ(got.load(), 3) << "every waiter runs after the holder and sees its write";
}

TEST(SpinFutexMutex, TryLockFailsWhileHeldAndSucceedsWhenFree) {
  spin_futex_mutex mu;
  ASSERT_TRUE(mu.try_lock());
  bool other = true;
  std::thread([&] { other = mu.try_lock(); }).join();
  EXPECT_FALSE(other);
  mu.unlock();
  std::thread([&] {
    other = mu.try_lock();
    if (other) mu.unlock();
  }).join();
  EXPECT_TRUE(other);
}

}  // namespace
