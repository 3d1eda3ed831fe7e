// tests/sync/shared_mutex_test.cpp: weft::shared_mutex, Go's sync.RWMutex.
// Readers hold it together; a writer holds it alone; a waiting writer keeps
// new readers out (and so is not starved by them); the standard lock
// wrappers; try_lock/try_lock_shared; misuse; plain threads outside
// weft::run.
#include <weft/weft.hpp>

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <mutex>
#include <shared_mutex>
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

class SharedMutexProcs : public ::testing::TestWithParam<int> {};

static_assert(!std::is_copy_constructible_v<weft::shared_mutex>);
static_assert(!std::is_move_constructible_v<weft::shared_mutex>);

// Keeps a running maximum.
void raise_to(std::atomic<int>& max, int v) {
  int m = max.load();
  while (v > m && !max.compare_exchange_weak(m, v)) {
  }
}

TEST_P(SharedMutexProcs, ReadersHoldItTogether) {
  // Each reader, once in, waits (parking) until all kReaders are in at once.
  constexpr int kReaders = 6;
  std::atomic<int> inside{0}, most{0}, arrived{0};
  weft::run(
      [&] {
        weft::shared_mutex mu;
        weft::wait_group wg;
        wg.add(kReaders);
        for (int i = 0; i < kReaders; ++i) {
          weft::go([&] {
            std::shared_lock lk(mu);
            raise_to(most, ++inside);
            ++arrived;
            auto deadline = std::chrono::steady_clock::now() + 10s;
            while (arrived.load() < kReaders && std::chrono::steady_clock::now() < deadline)
              weft::this_goroutine::sleep_for(1ms);
            --inside;
            lk.unlock();  // before done: mu dies once main's wait returns
            wg.done();
          });
        }
        wg.wait();
      },
      procs_opt(GetParam()));
  EXPECT_EQ(most.load(), kReaders) << "readers did not hold the lock at the same time";
}

TEST_P(SharedMutexProcs, WritersExcludeEveryone) {
  constexpr int kGoroutines = 12;
  const int per = quartered(600);
  std::atomic<int> readers_in{0}, writers_in{0}, bad{0}, most_readers{0};
  long value = 0;  // plain: written only under the exclusive lock
  long writes = 0;
  weft::run(
      [&] {
        weft::shared_mutex mu;
        weft::wait_group wg;
        wg.add(kGoroutines);
        for (int g = 0; g < kGoroutines; ++g) {
          weft::go([&, g] {
            for (int k = 0; k < per; ++k) {
              if ((g + k) % 4 == 0) {
                mu.lock();
                if (writers_in.fetch_add(1) != 0 || readers_in.load() != 0) ++bad;
                long v = value;
                if (k % 13 == 0) weft::this_goroutine::yield();  // hold it across a reschedule
                value = v + 1;
                ++writes;
                writers_in.fetch_sub(1);
                mu.unlock();
              } else {
                mu.lock_shared();
                raise_to(most_readers, readers_in.fetch_add(1) + 1);
                if (writers_in.load() != 0) ++bad;
                long v = value;
                if (k % 7 == 0) weft::this_goroutine::yield();
                if (value != v) ++bad;  // no writer while we read
                readers_in.fetch_sub(1);
                mu.unlock_shared();
              }
            }
            wg.done();
          });
        }
        wg.wait();
        EXPECT_TRUE(mu.try_lock()) << "a lock was left held";
        mu.unlock();
      },
      procs_opt(GetParam()));
  EXPECT_EQ(bad.load(), 0);
  EXPECT_EQ(value, writes);
  EXPECT_GT(writes, 0);
}

TEST_P(SharedMutexProcs, WaitingWriterBlocksNewReaders) {
  // R1 holds a shared lock; W waits in lock(). R2, arriving after W, must
  // wait too (try_lock_shared fails), and gets in only after W is done.
  std::vector<std::string> order;
  std::mutex order_mu;
  auto note = [&](const char* s) {
    std::lock_guard lk(order_mu);
    order.push_back(s);
  };
  bool try_shared_while_writer_waits = true;
  bool try_lock_while_reader_in = true;
  weft::run(
      [&] {
        weft::shared_mutex mu;
        weft::wait_group wg;
        weft::chan<int> release_r1;
        mu.lock_shared();  // main is R1
        try_lock_while_reader_in = mu.try_lock();
        wg.add(2);
        weft::go(named("writer"), [&] {
          mu.lock();
          note("writer in");
          weft::this_goroutine::sleep_for(5ms);
          note("writer out");
          mu.unlock();
          wg.done();
        });
        EXPECT_TRUE(wait_parked("writer", 1));
        try_shared_while_writer_waits = mu.try_lock_shared();
        if (try_shared_while_writer_waits) mu.unlock_shared();
        weft::go(named("reader2"), [&] {
          mu.lock_shared();
          note("reader2 in");
          mu.unlock_shared();
          wg.done();
        });
        EXPECT_TRUE(wait_parked("reader2", 1)) << "a new reader got past a waiting writer";
        weft::this_goroutine::sleep_for(5ms);
        note("reader1 out");
        mu.unlock_shared();
        wg.wait();
      },
      procs_opt(GetParam()));
  EXPECT_FALSE(try_lock_while_reader_in);
  EXPECT_FALSE(try_shared_while_writer_waits) << "try_lock_shared got past a waiting writer";
  std::vector<std::string> want{"reader1 out", "writer in", "writer out", "reader2 in"};
  EXPECT_EQ(order, want);
}

TEST_P(SharedMutexProcs, WriterNotStarvedByReaders) {
  // Readers overlap so that, without writer preference, the reader count
  // would never fall to zero. The writer must still get in promptly.
  constexpr int kReaders = 4;
  std::atomic<bool> stop{false};
  std::atomic<int> writer_got{0};
  std::chrono::nanoseconds worst{0};
  weft::run(
      [&] {
        weft::shared_mutex mu;
        weft::wait_group wg;
        wg.add(kReaders);
        for (int i = 0; i < kReaders; ++i) {
          weft::go([&] {
            while (!stop.load()) {
              std::shared_lock lk(mu);
              weft::this_goroutine::sleep_for(200us);
            }
            wg.done();
          });
        }
        weft::this_goroutine::sleep_for(2ms);
        for (int k = 0; k < 5; ++k) {
          auto t0 = std::chrono::steady_clock::now();
          {
            std::lock_guard lk(mu);
            ++writer_got;
          }
          worst = std::max<std::chrono::nanoseconds>(worst, std::chrono::steady_clock::now() - t0);
          weft::this_goroutine::sleep_for(1ms);
        }
        stop.store(true);
        wg.wait();
      },
      procs_opt(GetParam()));
  EXPECT_EQ(writer_got.load(), 5);
  EXPECT_LT(worst, 500ms) << "the writer waited " << worst.count() << " ns";
}

TEST_P(SharedMutexProcs, StandardLockWrappers) {
  constexpr int kGoroutines = 8;
  const int per = quartered(500);
  long a = 0, b = 0;
  long reads = 0;
  std::atomic<long> shared_reads{0};
  weft::run(
      [&] {
        weft::shared_mutex smu;
        weft::mutex mu;
        weft::wait_group wg;
        wg.add(kGoroutines);
        for (int g = 0; g < kGoroutines; ++g) {
          weft::go([&, g] {
            for (int k = 0; k < per; ++k) {
              switch ((g + k) % 5) {
                case 0: {
                  std::shared_lock lk(smu);
                  EXPECT_TRUE(lk.owns_lock());
                  shared_reads += a >= 0;
                  break;
                }
                case 1: {
                  std::lock_guard lk(smu);
                  ++a;
                  break;
                }
                case 2: {
                  std::unique_lock lk(smu);
                  ++a;
                  lk.unlock();
                  lk.lock();
                  ++a;
                  break;
                }
                case 3: {
                  // Opposite orders in different goroutines: no deadlock.
                  if (g % 2 == 0) {
                    std::scoped_lock lk(smu, mu);
                    ++b;
                  } else {
                    std::scoped_lock lk(mu, smu);
                    ++b;
                  }
                  break;
                }
                default: {
                  std::shared_lock lk(smu, std::try_to_lock);
                  if (!lk.owns_lock()) lk.lock();
                  shared_reads += b >= 0;
                }
              }
            }
            wg.done();
          });
        }
        wg.wait();
        reads = shared_reads.load();
        std::unique_lock lk(smu, std::try_to_lock);
        EXPECT_TRUE(lk.owns_lock());
      },
      procs_opt(GetParam()));
  long want_a = 0, want_b = 0, want_reads = 0;
  for (int g = 0; g < kGoroutines; ++g) {
    for (int k = 0; k < per; ++k) {
      switch ((g + k) % 5) {
        case 1: want_a += 1; break;
        case 2: want_a += 2; break;
        case 3: want_b += 1; break;
        default: want_reads += 1;
      }
    }
  }
  EXPECT_EQ(a, want_a);
  EXPECT_EQ(b, want_b);
  EXPECT_EQ(reads, want_reads);
}

TEST(SharedMutex, TryLockAndTryLockShared) {
  weft::run([] {
    weft::shared_mutex mu;
    EXPECT_TRUE(mu.try_lock_shared());
    EXPECT_TRUE(mu.try_lock_shared());
    EXPECT_FALSE(mu.try_lock());
    mu.unlock_shared();
    mu.unlock_shared();
    EXPECT_TRUE(mu.try_lock());
    EXPECT_FALSE(mu.try_lock());
    EXPECT_FALSE(mu.try_lock_shared());
    mu.unlock();
    EXPECT_TRUE(mu.try_lock_shared());
    mu.unlock_shared();
  });
}

TEST(SharedMutex, MisuseThrows) {
  auto expect_misuse = [](auto&& op, const std::string& words) {
    try {
      op();
      ADD_FAILURE() << "no misuse_error; wanted \"" << words << "\"";
    } catch (const weft::misuse_error& e) {
      const std::logic_error& base = e;
      EXPECT_NE(std::string(base.what()).find(words), std::string::npos) << e.what();
    }
  };
  auto check = [&](weft::shared_mutex& mu) {
    expect_misuse([&] { mu.unlock(); }, "sync: Unlock of unlocked RWMutex");
    expect_misuse([&] { mu.unlock_shared(); }, "sync: RUnlock of unlocked RWMutex");
    mu.lock_shared();
    expect_misuse([&] { mu.unlock(); }, "sync: Unlock of unlocked RWMutex");  // a reader holds it
    mu.unlock_shared();
    mu.lock();
    expect_misuse([&] { mu.unlock_shared(); }, "sync: RUnlock of unlocked RWMutex");  // a writer holds it
    mu.unlock();
    expect_misuse([&] { mu.unlock(); }, "sync: Unlock of unlocked RWMutex");  // twice
    // Still working, and free.
    EXPECT_TRUE(mu.try_lock());
    mu.unlock();
    EXPECT_TRUE(mu.try_lock_shared());
    EXPECT_TRUE(mu.try_lock_shared());
    mu.unlock_shared();
    mu.unlock_shared();
    EXPECT_TRUE(mu.try_lock());
    mu.unlock();
  };
  weft::run([&] {
    weft::shared_mutex mu;
    check(mu);
  });
  weft::shared_mutex plain;  // outside weft::run
  check(plain);
}

TEST(SharedMutex, PlainThreadsOutsideRun) {
  constexpr int kThreads = 6;
  const int per = quartered(4000);
  weft::shared_mutex mu;
  std::atomic<int> readers_in{0}, writers_in{0}, bad{0}, most_readers{0};
  long value = 0, writes = 0;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int k = 0; k < per; ++k) {
        if ((t + k) % 3 == 0) {
          std::lock_guard lk(mu);
          if (writers_in.fetch_add(1) != 0 || readers_in.load() != 0) ++bad;
          ++value;
          ++writes;
          if (k % 500 == 0) std::this_thread::sleep_for(100us);
          writers_in.fetch_sub(1);
        } else {
          std::shared_lock lk(mu);
          raise_to(most_readers, readers_in.fetch_add(1) + 1);
          if (writers_in.load() != 0) ++bad;
          if (k % 200 == 0) std::this_thread::sleep_for(100us);
          readers_in.fetch_sub(1);
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(bad.load(), 0);
  EXPECT_EQ(value, writes);
}

TEST(SharedMutex, PlainThreadWriterWaitsForGoroutineReaders) {
  // Inside weft::run: a plain thread's lock() sleeps until the goroutine
  // readers leave; main keeps a timer armed meanwhile (sleep_for), so the
  // runtime never sees every goroutine asleep.
  std::atomic<bool> writer_in{false};
  bool early = true;
  weft::run(
      [&] {
        weft::shared_mutex mu;
        mu.lock_shared();
        std::thread t([&] {
          mu.lock();
          writer_in.store(true);
          mu.unlock();
        });
        weft::this_goroutine::sleep_for(20ms);
        early = writer_in.load();
        mu.unlock_shared();
        while (!writer_in.load()) weft::this_goroutine::sleep_for(1ms);
        t.join();
      },
      procs_opt(2));
  EXPECT_FALSE(early) << "the writer got in while a reader held the lock";
  EXPECT_TRUE(writer_in.load());
}

INSTANTIATE_TEST_SUITE_P(Procs, SharedMutexProcs, ::testing::ValuesIn(weft_test::all_procs()), procs_name);

}  // namespace
