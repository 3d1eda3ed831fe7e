// tests/sync/condition_variable_test.cpp: weft::condition_variable. No lost
// wake-up (producer/consumer stress); notify_all wakes all; notify_one wakes
// in FIFO order; timed waits time out within [d, d + 50 ms], never early;
// notify racing timeouts and stop requests wakes each waiter once and hangs
// nothing; a stop request wakes a waiter; misuse; destruction right after
// notify_all; plain threads inside and outside weft::run.
#if defined(__GNUC__) && !defined(__clang__)
// g++ 12 (-O2, ASan) warns that std::stop_source's default constructor uses
// itself uninitialized (libstdc++'s _M_state(*this) only takes its address):
// a false positive inside <stop_token>, which must come after this.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif

#include <weft/weft.hpp>

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <deque>
#include <memory>
#include <mutex>
#include <stop_token>
#include <string>
#include <thread>
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

class CondVarProcs : public ::testing::TestWithParam<int> {};

// A bounded queue on one weft::mutex and two condition variables.
struct bounded_queue {
  weft::mutex mu;
  weft::condition_variable not_empty, not_full;
  std::deque<int> items;
  std::size_t cap;
  explicit bounded_queue(std::size_t c) : cap(c) {}
  void push(int v) {
    std::unique_lock lk(mu);
    not_full.wait(lk, [&] { return items.size() < cap; });
    items.push_back(v);
    not_empty.notify_one();
  }
  int pop() {
    std::unique_lock lk(mu);
    while (items.empty()) not_empty.wait(lk);  // the bare form, looped
    int v = items.front();
    items.pop_front();
    lk.unlock();
    not_full.notify_one();  // outside the lock: allowed
    return v;
  }
};

TEST_P(CondVarProcs, ProducerConsumerLosesNoWakeUp) {
  constexpr int kProducers = 4, kConsumers = 4;
  const int per = quartered(2000);
  long sum = 0, count = 0;
  weft::run(
      [&] {
        bounded_queue q(3);
        weft::wait_group wg;
        std::mutex tally_mu;
        wg.add(kProducers + kConsumers);
        for (int p = 0; p < kProducers; ++p) {
          weft::go([&, p] {
            for (int i = 0; i < per; ++i) q.push(p * per + i + 1);
            wg.done();
          });
        }
        for (int c = 0; c < kConsumers; ++c) {
          weft::go([&] {
            long s = 0, n = 0;
            for (int i = 0; i < per; ++i) {
              s += q.pop();
              ++n;
            }
            {
              std::lock_guard lk(tally_mu);
              sum += s;
              count += n;
            }
            wg.done();  // after the unlock: main's locals die once wait returns
          });
        }
        wg.wait();
      },
      procs_opt(GetParam()));
  long total = static_cast<long>(kProducers) * per;
  EXPECT_EQ(count, total);
  EXPECT_EQ(sum, total * (total + 1) / 2);
}

TEST_P(CondVarProcs, NotifyAllWakesAll) {
  constexpr int kWaiters = 24;
  std::atomic<int> woke{0};
  weft::run(
      [&] {
        weft::mutex mu;
        weft::condition_variable cv;
        bool go = false;
        int waiting = 0;  // GUARDED_BY(mu): counted before wait, which queues under mu
        weft::wait_group wg;
        wg.add(kWaiters);
        for (int i = 0; i < kWaiters; ++i) {
          weft::go([&] {
            std::unique_lock lk(mu);
            ++waiting;
            cv.wait(lk, [&] { return go; });
            ++woke;
            lk.unlock();
            wg.done();
          });
        }
        for (;;) {  // until every waiter is queued on cv
          std::unique_lock lk(mu);
          if (waiting == kWaiters) break;
          lk.unlock();
          weft::this_goroutine::sleep_for(100us);
        }
        weft::this_goroutine::sleep_for(2ms);
        EXPECT_EQ(woke.load(), 0);
        {
          std::lock_guard lk(mu);
          go = true;
        }
        cv.notify_all();
        wg.wait();
      },
      procs_opt(GetParam()));
  EXPECT_EQ(woke.load(), kWaiters);
}

TEST_P(CondVarProcs, NotifyOneWakesInFifoOrder) {
  constexpr int kWaiters = 6;
  std::vector<int> order;
  weft::run(
      [&] {
        weft::mutex mu;
        weft::condition_variable cv;
        int tickets = 0;  // GUARDED_BY(mu)
        weft::wait_group wg;
        wg.add(kWaiters);
        for (int i = 0; i < kWaiters; ++i) {
          std::string name = "fifo-" + std::to_string(i);
          weft::go(named(name.c_str()), [&, i] {
            std::unique_lock lk(mu);
            cv.wait(lk, [&] { return tickets > 0; });
            --tickets;
            order.push_back(i);
            lk.unlock();
            wg.done();
          });
          EXPECT_TRUE(wait_parked(name, 1));  // queued in this order
        }
        for (int k = 1; k <= kWaiters; ++k) {
          {
            std::lock_guard lk(mu);
            ++tickets;
          }
          cv.notify_one();
          // Wait for the woken one to take its ticket before the next.
          for (;;) {
            std::lock_guard lk(mu);
            if (static_cast<int>(order.size()) == k) break;
            weft::this_goroutine::yield();
          }
        }
        wg.wait();
      },
      procs_opt(GetParam()));
  std::vector<int> want;
  for (int i = 0; i < kWaiters; ++i) want.push_back(i);
  EXPECT_EQ(order, want);
}

// Checks a timed wait that nobody notifies: timeout, after at least d and
// within d + 50 ms.
void expect_timeout_within(std::chrono::nanoseconds elapsed, std::chrono::nanoseconds d, const char* what) {
  EXPECT_GE(elapsed, d) << what << " returned early";
  EXPECT_LE(elapsed, d + 50ms) << what << " returned late: " << elapsed.count() << " ns";
}

TEST_P(CondVarProcs, TimedWaitsTimeOutOnTimeNeverEarly) {
  weft::run(
      [&] {
        weft::mutex mu;
        weft::condition_variable cv;
        for (auto d : {1ms, 5ms, 20ms}) {
          std::unique_lock lk(mu);
          auto t0 = steady::now();
          EXPECT_EQ(cv.wait_for(lk, d), std::cv_status::timeout);
          expect_timeout_within(steady::now() - t0, d, "wait_for");
          EXPECT_TRUE(lk.owns_lock());

          t0 = steady::now();
          EXPECT_EQ(cv.wait_until(lk, t0 + d), std::cv_status::timeout);
          expect_timeout_within(steady::now() - t0, d, "wait_until");

          t0 = steady::now();
          EXPECT_FALSE(cv.wait_for(lk, d, [] { return false; }));
          expect_timeout_within(steady::now() - t0, d, "wait_for(pred)");

          // Another clock converts.
          auto s0 = std::chrono::system_clock::now();
          t0 = steady::now();
          EXPECT_EQ(cv.wait_until(lk, s0 + d), std::cv_status::timeout);
          EXPECT_GE(std::chrono::system_clock::now() - s0, d);
          EXPECT_LE(steady::now() - t0, d + 50ms);
        }
        // Zero, negative and past deadlines time out at once; huge ones are
        // fine while someone notifies.
        std::unique_lock lk(mu);
        EXPECT_EQ(cv.wait_for(lk, 0ms), std::cv_status::timeout);
        EXPECT_EQ(cv.wait_for(lk, -5ms), std::cv_status::timeout);
        EXPECT_EQ(cv.wait_until(lk, steady::now() - 1s), std::cv_status::timeout);
        EXPECT_TRUE(cv.wait_for(lk, std::chrono::hours::max(), [] { return true; }));
        bool flag = false;
        weft::go([&] {
          weft::this_goroutine::sleep_for(2ms);
          std::lock_guard g(mu);
          flag = true;
          cv.notify_one();
        });
        EXPECT_TRUE(cv.wait_for(lk, std::chrono::hours::max(), [&] { return flag; }));
        EXPECT_TRUE(cv.wait_until(lk, steady::time_point::max(), [&] { return flag; }));
      },
      procs_opt(GetParam()));
}

TEST_P(CondVarProcs, NotifiedBeforeTheDeadlineIsNoTimeout) {
  weft::run(
      [&] {
        weft::mutex mu;
        weft::condition_variable cv;
        bool flag = false;
        weft::go([&] {
          weft::this_goroutine::sleep_for(5ms);
          std::lock_guard lk(mu);
          flag = true;
          cv.notify_all();
        });
        std::unique_lock lk(mu);
        auto t0 = steady::now();
        EXPECT_TRUE(cv.wait_for(lk, 10s, [&] { return flag; }));
        EXPECT_LT(steady::now() - t0, 5s);
      },
      procs_opt(GetParam()));
}

TEST_P(CondVarProcs, NotifyRacingTimeoutsWakesEachOnce) {
  // Waiters wait with short timeouts while notifiers notify_one and
  // notify_all at random. A double wake-up of a goroutine is fatal in the
  // runtime; here also: a wait returns no_timeout at most once per notify
  // (nothing is spurious in weft), every token is consumed, nothing hangs.
  constexpr int kWaiters = 8, kNotifiers = 2;
  const int tokens_per_notifier = quartered(400);
  std::atomic<long> no_timeouts{0}, notifies{0};
  long consumed = 0;
  weft::run(
      [&] {
        weft::mutex mu;
        weft::condition_variable cv;
        long tokens = 0;  // GUARDED_BY(mu)
        bool producers_done = false;
        weft::wait_group wg, producers;
        wg.add(kWaiters);
        producers.add(kNotifiers);
        for (int w = 0; w < kWaiters; ++w) {
          weft::go([&, w] {
            std::unique_lock lk(mu);
            for (int k = 0;; ++k) {
              if (tokens > 0) {
                --tokens;
                ++consumed;
                continue;
              }
              if (producers_done) break;
              auto d = std::chrono::microseconds((w * 37 + k * 11) % 300);
              if (cv.wait_for(lk, d) == std::cv_status::no_timeout) ++no_timeouts;
            }
            lk.unlock();
            wg.done();
          });
        }
        for (int n = 0; n < kNotifiers; ++n) {
          weft::go([&, n] {
            for (int i = 0; i < tokens_per_notifier; ++i) {
              {
                std::lock_guard lk(mu);
                ++tokens;
              }
              if ((i + n) % 5 == 0) {
                cv.notify_all();
                notifies += kWaiters;  // wakes at most every waiter
              } else {
                cv.notify_one();
                ++notifies;
              }
              if (i % 3 == 0) weft::this_goroutine::yield();
              if (i % 50 == 0) weft::this_goroutine::sleep_for(100us);
            }
            producers.done();
          });
        }
        producers.wait();
        {
          std::lock_guard lk(mu);
          producers_done = true;
        }
        cv.notify_all();
        notifies += kWaiters;
        wg.wait();
      },
      procs_opt(GetParam()));
  EXPECT_EQ(consumed, static_cast<long>(kNotifiers) * tokens_per_notifier);
  EXPECT_LE(no_timeouts.load(), notifies.load());
}

TEST_P(CondVarProcs, StopRequestWakesAWaiter) {
  weft::run(
      [&] {
        weft::mutex mu;
        weft::condition_variable cv;
        // A waiter parked in wait(lk, st, pred) returns pred() once stop is
        // requested, from a goroutine.
        {
          std::stop_source src;
          bool returned = true, done = false;
          weft::wait_group wg;
          wg.add(1);
          weft::go(named("stop-waiter"), [&] {
            std::unique_lock lk(mu);
            returned = cv.wait(lk, src.get_token(), [] { return false; });
            EXPECT_TRUE(lk.owns_lock());
            done = true;
            lk.unlock();
            wg.done();
          });
          EXPECT_TRUE(wait_parked("stop-waiter", 1));
          src.request_stop();
          wg.wait();
          EXPECT_FALSE(returned);
          EXPECT_TRUE(done);
        }
        // Already requested: returns pred() at once, without parking.
        {
          std::stop_source src;
          src.request_stop();
          std::unique_lock lk(mu);
          EXPECT_FALSE(cv.wait(lk, src.get_token(), [] { return false; }));
          EXPECT_TRUE(cv.wait(lk, src.get_token(), [] { return true; }));
          EXPECT_FALSE(cv.wait_for(lk, src.get_token(), 1h, [] { return false; }));
        }
        // wait_for: stop wins long before the deadline.
        {
          std::stop_source src;
          weft::go([&] {
            weft::this_goroutine::sleep_for(5ms);
            src.request_stop();
          });
          std::unique_lock lk(mu);
          auto t0 = steady::now();
          EXPECT_FALSE(cv.wait_for(lk, src.get_token(), 10s, [] { return false; }));
          EXPECT_LT(steady::now() - t0, 5s);
        }
        // wait_until: the deadline wins when nobody stops.
        {
          std::stop_source src;
          std::unique_lock lk(mu);
          auto t0 = steady::now();
          EXPECT_FALSE(cv.wait_until(lk, src.get_token(), t0 + 10ms, [] { return false; }));
          expect_timeout_within(steady::now() - t0, 10ms, "wait_until(stop_token)");
        }
        // A plain thread requests stop.
        {
          std::stop_source src;
          std::unique_lock lk(mu);
          std::thread t([&] {
            std::this_thread::sleep_for(5ms);
            src.request_stop();
          });
          EXPECT_FALSE(cv.wait_for(lk, src.get_token(), 10s, [] { return false; }));
          lk.unlock();
          t.join();
        }
        // A notify while stop is possible but not requested still wakes it.
        {
          std::stop_source src;
          bool flag = false;
          weft::go([&] {
            weft::this_goroutine::sleep_for(2ms);
            std::lock_guard lk(mu);
            flag = true;
            cv.notify_one();
          });
          std::unique_lock lk(mu);
          EXPECT_TRUE(cv.wait(lk, src.get_token(), [&] { return flag; }));
        }
      },
      procs_opt(GetParam()));
}

TEST_P(CondVarProcs, StopNotifyAndTimeoutRace) {
  // Each round: a waiter with a stop token and a short deadline; a notifier
  // and a stopper race it. Whatever wins, the waiter returns once, holding
  // the lock, and nothing hangs.
  const int rounds = quartered(300);
  std::atomic<int> returned{0};
  weft::run(
      [&] {
        weft::mutex mu;
        weft::condition_variable cv;
        for (int r = 0; r < rounds; ++r) {
          std::stop_source src;
          weft::wait_group wg;
          wg.add(3);
          weft::go([&, r] {
            std::unique_lock lk(mu);
            (void)cv.wait_for(lk, src.get_token(), std::chrono::microseconds(r % 200), [] { return false; });
            EXPECT_TRUE(lk.owns_lock());
            ++returned;
            lk.unlock();
            wg.done();
          });
          weft::go([&, r] {
            if (r % 2) weft::this_goroutine::yield();
            cv.notify_one();
            wg.done();
          });
          weft::go([&, r] {
            if (r % 3) weft::this_goroutine::yield();
            src.request_stop();
            wg.done();
          });
          wg.wait();
        }
      },
      procs_opt(GetParam()));
  EXPECT_EQ(returned.load(), rounds);
}

TEST_P(CondVarProcs, DestroyedRightAfterNotifyAll) {
  // std allows destroying a condition variable once all its waiters are
  // notified, before they return. Some of them also have timers racing the
  // notify. (ASan reports a waiter that touches the freed object.)
  constexpr int kWaiters = 6;
  const int rounds = quartered(100);
  weft::run(
      [&] {
        weft::mutex mu;
        for (int r = 0; r < rounds; ++r) {
          auto cv = std::make_unique<weft::condition_variable>();
          weft::condition_variable* cvp = cv.get();
          int queued = 0;  // GUARDED_BY(mu)
          bool go = false;
          weft::wait_group wg;
          wg.add(kWaiters);
          for (int i = 0; i < kWaiters; ++i) {
            weft::go([&, i, cvp] {
              std::unique_lock lk(mu);
              ++queued;
              if (i % 2) {
                cvp->wait(lk, [&] { return go; });
              } else {
                (void)cvp->wait_for(lk, std::chrono::microseconds(50 * i), [&] { return go; });
                // After a timeout it must not wait again: the cv may be gone.
              }
              lk.unlock();
              wg.done();
            });
          }
          for (;;) {
            std::unique_lock lk(mu);
            if (queued == kWaiters) {
              go = true;
              cvp->notify_all();
              break;
            }
            lk.unlock();
            weft::this_goroutine::yield();
          }
          cv.reset();  // the waiters are still on their way out
          wg.wait();
        }
      },
      procs_opt(GetParam()));
}

TEST(CondVar, WaitWithoutTheLockIsMisuse) {
  weft::run([] {
    weft::mutex mu;
    weft::condition_variable cv;
    std::unique_lock lk(mu, std::defer_lock);
    EXPECT_THROW(cv.wait(lk), weft::misuse_error);
    EXPECT_THROW((void)cv.wait_for(lk, 1ms), weft::misuse_error);
    std::unique_lock<weft::mutex> none;
    EXPECT_THROW(cv.wait(none), weft::misuse_error);
    EXPECT_FALSE(lk.owns_lock());
    EXPECT_TRUE(mu.try_lock());
    mu.unlock();
    cv.notify_one();  // with nobody waiting: nothing
    cv.notify_all();
  });
}

TEST(CondVar, PlainThreadsOutsideRun) {
  // Producer/consumer between std::threads, then timed waits and a stop.
  constexpr int kProducers = 3, kConsumers = 3;
  const int per = quartered(3000);
  bounded_queue q(2);
  std::atomic<long> sum{0};
  std::vector<std::thread> threads;
  for (int p = 0; p < kProducers; ++p) {
    threads.emplace_back([&, p] {
      for (int i = 0; i < per; ++i) q.push(p * per + i + 1);
    });
  }
  for (int c = 0; c < kConsumers; ++c) {
    threads.emplace_back([&] {
      for (int i = 0; i < per; ++i) sum += q.pop();
    });
  }
  for (auto& t : threads) t.join();
  long total = static_cast<long>(kProducers) * per;
  EXPECT_EQ(sum.load(), total * (total + 1) / 2);

  weft::mutex mu;
  weft::condition_variable cv;
  for (auto d : {1ms, 20ms}) {
    std::unique_lock lk(mu);
    auto t0 = steady::now();
    EXPECT_EQ(cv.wait_for(lk, d), std::cv_status::timeout);
    expect_timeout_within(steady::now() - t0, d, "plain wait_for");
    t0 = steady::now();
    EXPECT_FALSE(cv.wait_until(lk, t0 + d, [] { return false; }));
    expect_timeout_within(steady::now() - t0, d, "plain wait_until");
  }
  std::stop_source src;
  std::thread stopper([&] {
    std::this_thread::sleep_for(5ms);
    src.request_stop();
  });
  {
    std::unique_lock lk(mu);
    EXPECT_FALSE(cv.wait(lk, src.get_token(), [] { return false; }));
  }
  stopper.join();
  // A notify from one thread wakes a timed waiter on another.
  bool flag = false;
  std::thread notifier([&] {
    std::this_thread::sleep_for(5ms);
    std::lock_guard lk(mu);
    flag = true;
    cv.notify_one();
  });
  {
    std::unique_lock lk(mu);
    EXPECT_TRUE(cv.wait_for(lk, 10s, [&] { return flag; }));
  }
  notifier.join();
}

TEST_P(CondVarProcs, GoroutinesAndPlainThreadsTogether) {
  // Inside weft::run: goroutine producers and a plain-thread consumer on one
  // queue. Main polls with sleep_for, so a timer is always armed and the
  // runtime never takes the producers, parked until the thread pops, for a
  // deadlock.
  const int per = quartered(2000);
  std::atomic<long> got{0};
  weft::run(
      [&] {
        bounded_queue q(4);
        std::thread consumer([&] {
          for (int i = 0; i < 2 * per; ++i) got += q.pop();
        });
        weft::wait_group wg;
        wg.add(2);
        for (int p = 0; p < 2; ++p) {
          weft::go([&, p] {
            for (int i = 0; i < per; ++i) q.push(p * per + i + 1);
            wg.done();
          });
        }
        while (got.load() != static_cast<long>(2 * per) * (2 * per + 1) / 2) weft::this_goroutine::sleep_for(1ms);
        wg.wait();
        consumer.join();
      },
      procs_opt(GetParam()));
  EXPECT_EQ(got.load(), static_cast<long>(2 * per) * (2 * per + 1) / 2);
}

INSTANTIATE_TEST_SUITE_P(Procs, CondVarProcs, ::testing::ValuesIn(weft_test::all_procs()), procs_name);

}  // namespace
