// tests/sync/scope_test.cpp: weft::scope, structured concurrency.
// wait joins everything (also goroutines started during the wait, and the
// arguments' destructors); the first exception is rethrown and stops the
// others, later ones are dropped; request_stop without an error; the
// destructor joins, rethrows only when nothing else is unwinding (and then
// requests stop first); nested scopes; f with and without a token; argument
// forwarding; reuse; misuse outside weft::run; many goroutines per procs.
#include <weft/weft.hpp>

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <stdexcept>
#include <stop_token>
#include <string>
#include <thread>
#include <utility>

#include "weft_test_util.hpp"

namespace {

using namespace std::chrono_literals;
using weft_test::named;
using weft_test::procs_name;
using weft_test::procs_opt;
using weft_test::quartered;

struct first_error : std::runtime_error {
  first_error() : std::runtime_error("first") {}
};
struct later_error : std::runtime_error {
  later_error() : std::runtime_error("later") {}
};

// Loops until the scope's stop is requested, like a worker with no end.
void until_stopped(std::stop_token token, std::atomic<int>& ended) {
  while (!token.stop_requested()) weft::this_goroutine::sleep_for(1ms);
  ++ended;
}

class ScopeProcs : public ::testing::TestWithParam<int> {};

TEST_P(ScopeProcs, WaitJoinsAll) {
  constexpr int kWorkers = 64;
  std::atomic<int> finished{0};
  int seen_at_wait = -1;
  weft::run(
      [&] {
        weft::scope s;
        for (int i = 0; i < kWorkers; ++i) {
          s.go([&finished](std::stop_token, int n) {
            if (n % 3 == 0) weft::this_goroutine::sleep_for(std::chrono::milliseconds(1 + n % 5));
            else for (int y = 0; y < n; ++y) weft::this_goroutine::yield();
            ++finished;
          }, i);
        }
        s.wait();
        seen_at_wait = finished.load();
      },
      procs_opt(GetParam()));
  EXPECT_EQ(seen_at_wait, kWorkers);
}

TEST_P(ScopeProcs, FirstExceptionStopsOthersAndIsRethrown) {
  constexpr int kLoopers = 8;
  std::atomic<int> ended{0};
  bool caught_first = false, stopped = false;
  weft::run(
      [&] {
        weft::scope s;
        for (int i = 0; i < kLoopers; ++i) {
          // Each throws again once stopped: later exceptions are dropped.
          s.go([&ended](std::stop_token t) {
            until_stopped(t, ended);
            throw later_error();
          });
        }
        s.go([] {
          weft::this_goroutine::sleep_for(5ms);
          throw first_error();
        });
        try {
          s.wait();
        } catch (const first_error&) {
          caught_first = true;
        }
        stopped = s.get_stop_token().stop_requested();
      },
      procs_opt(GetParam()));
  EXPECT_TRUE(caught_first);
  EXPECT_TRUE(stopped);
  EXPECT_EQ(ended.load(), kLoopers);
}

TEST_P(ScopeProcs, RequestStopWithoutError) {
  constexpr int kLoopers = 8;
  std::atomic<int> ended{0};
  weft::run(
      [&] {
        weft::scope s;
        for (int i = 0; i < kLoopers; ++i) s.go(until_stopped, std::ref(ended));
        weft::this_goroutine::sleep_for(2ms);
        EXPECT_TRUE(s.request_stop());
        EXPECT_FALSE(s.request_stop());  // already requested
        s.wait();                        // no exception
      },
      procs_opt(GetParam()));
  EXPECT_EQ(ended.load(), kLoopers);
}

TEST_P(ScopeProcs, GoroutinesSpawnIntoTheScopeDuringWait) {
  // A tree of depth kDepth, fan-out 3, grown by the scope's own goroutines
  // after main is already in wait(): 1 + 3 + ... + 3^kDepth goroutines.
  constexpr int kDepth = 5;
  constexpr int kExpected = (243 * 3 - 1) / 2;  // (3^(kDepth+1) - 1) / 2
  std::atomic<int> ran{0};
  int seen_at_wait = -1;
  weft::run(
      [&] {
        weft::scope s;
        struct grow {
          weft::scope* s;
          std::atomic<int>* ran;
          void operator()(int depth) const {
            weft::this_goroutine::sleep_for(1ms);  // let the parent reach wait() first
            ++*ran;
            if (depth == 0) return;
            for (int i = 0; i < 3; ++i) s->go(*this, depth - 1);
          }
        };
        s.go(grow{&s, &ran}, kDepth);
        s.wait();
        seen_at_wait = ran.load();
      },
      procs_opt(GetParam()));
  EXPECT_EQ(seen_at_wait, kExpected);
}

TEST_P(ScopeProcs, ManyGoroutines) {
  const int n = quartered(10000);
  std::atomic<int> sum{0};
  int seen = -1;
  weft::run(
      [&] {
        weft::scope s;
        for (int i = 0; i < n; ++i) s.go([&sum](int v) { sum.fetch_add(v, std::memory_order_relaxed); }, 1);
        s.wait();
        seen = sum.load();
      },
      procs_opt(GetParam()));
  EXPECT_EQ(seen, n);
}

TEST_P(ScopeProcs, NestedScopes) {
  // Each outer goroutine runs an inner scope. One inner goroutine fails: its
  // inner wait() rethrows in outer goroutine 2, which fails the outer scope,
  // whose stop ends the inner goroutines (waiting on the outer token) of the
  // other outer goroutines.
  constexpr int kOuter = 6, kInner = 6;
  std::atomic<int> ended{0};
  bool caught = false;
  weft::run(
      [&] {
        weft::scope outer;
        for (int i = 0; i < kOuter; ++i) {
          outer.go([&ended](std::stop_token outer_token, int which) {
            weft::scope inner;
            for (int j = 0; j < kInner; ++j) {
              inner.go([&ended, outer_token, which, j] {
                if (which != 2) return until_stopped(outer_token, ended);
                weft::this_goroutine::sleep_for(2ms);
                if (j == 3) throw first_error();
              });
            }
            inner.wait();
          }, i);
        }
        try {
          outer.wait();
        } catch (const first_error&) {
          caught = true;
        }
      },
      procs_opt(GetParam()));
  EXPECT_TRUE(caught);
  EXPECT_EQ(ended.load(), (kOuter - 1) * kInner);
}

INSTANTIATE_TEST_SUITE_P(Procs, ScopeProcs, ::testing::ValuesIn(weft_test::all_procs()), procs_name);

TEST(Scope, DestructorJoins) {
  constexpr int kWorkers = 16;
  std::atomic<int> finished{0};
  int seen = -1;
  weft::run(
      [&] {
        {
          weft::scope s;
          for (int i = 0; i < kWorkers; ++i) {
            s.go([&finished] {
              weft::this_goroutine::sleep_for(2ms);
              ++finished;
            });
          }
        }
        seen = finished.load();
      },
      procs_opt(2));
  EXPECT_EQ(seen, kWorkers);
}

TEST(Scope, DestructorRethrowsWhenWaitWasNotCalled) {
  bool caught = false;
  weft::run([&] {
    try {
      weft::scope s;
      s.go([] { throw first_error(); });
    } catch (const first_error&) {
      caught = true;
    }
    // After wait() the exception is gone: the destructor has nothing to throw.
    weft::scope t;
    t.go([] { throw first_error(); });
    EXPECT_THROW(t.wait(), first_error);
  });
  EXPECT_TRUE(caught);
}

TEST(Scope, DestructorDropsItWhileAnotherExceptionUnwinds) {
  std::atomic<int> ended{0};
  bool caught_owner = false;
  weft::run([&] {
    try {
      weft::scope s;
      s.go([] { throw first_error(); });
      // Without the destructor's stop request this would never end.
      s.go(until_stopped, std::ref(ended));
      weft::this_goroutine::sleep_for(2ms);
      throw later_error();
    } catch (const later_error&) {
      caught_owner = true;
    } catch (const first_error&) {
      ADD_FAILURE() << "the scope's exception replaced the unwinding one";
    }
  });
  EXPECT_TRUE(caught_owner);
  EXPECT_EQ(ended.load(), 1);
}

// A scope made while an exception is already unwinding (in a destructor)
// still rethrows: only exceptions newer than the scope count.
TEST(Scope, DestructorRethrowsInsideAnUnwindingDestructor) {
  bool inner_caught = false, outer_caught = false;
  struct cleanup {
    bool* caught;
    ~cleanup() {
      try {
        weft::scope s;
        s.go([] { throw first_error(); });
      } catch (const first_error&) {
        *caught = true;
      }
    }
  };
  weft::run([&] {
    try {
      cleanup c{&inner_caught};
      throw later_error();
    } catch (const later_error&) {
      outer_caught = true;
    }
  });
  EXPECT_TRUE(inner_caught);
  EXPECT_TRUE(outer_caught);
}

TEST(Scope, CallableWithoutToken) {
  int a = 0, b = 0;
  weft::run([&] {
    weft::scope s;
    s.go([&a] { a = 1; });
    s.go([&b](int x, const std::string& y) { b = x + static_cast<int>(y.size()); }, 40, std::string("ab"));
    s.wait();
  });
  EXPECT_EQ(a, 1);
  EXPECT_EQ(b, 42);
}

TEST(Scope, ArgumentsAreDecayCopiedAndMoved) {
  int got = 0;
  std::string copied;
  weft::run([&] {
    weft::scope s;
    auto p = std::make_unique<int>(7);
    s.go([&got](std::stop_token, std::unique_ptr<int> q) { got = *q; }, std::move(p));
    EXPECT_EQ(p, nullptr);
    std::string text = "before";
    s.go([&copied](const std::string& t) {
      weft::this_goroutine::sleep_for(2ms);
      copied = t;
    }, text);
    text = "after";  // the goroutine has its own copy
    s.wait();
  });
  EXPECT_EQ(got, 7);
  EXPECT_EQ(copied, "before");
}

TEST(Scope, ArgumentsAreDestroyedBeforeWaitReturns) {
  constexpr int kWorkers = 32;
  std::atomic<int> destroyed{0};
  int seen = -1;
  weft::run(
      [&] {
        weft::scope s;
        for (int i = 0; i < kWorkers; ++i) {
          // A copy-only argument: the closure's copy outlives the call.
          auto counted = std::shared_ptr<int>(new int(i), [&destroyed](int* q) {
            delete q;
            ++destroyed;
          });
          s.go([](std::shared_ptr<int>) { weft::this_goroutine::yield(); }, std::move(counted));
        }
        s.wait();
        seen = destroyed.load();
      },
      procs_opt(4));
  EXPECT_EQ(seen, kWorkers);
}

TEST(Scope, ReuseAfterWait) {
  int rethrown = 0, rounds_done = 0;
  std::atomic<int> ran{0};
  weft::run([&] {
    weft::scope s;
    s.go([] { throw first_error(); });
    try {
      s.wait();
    } catch (const first_error&) {
      ++rethrown;
    }
    s.wait();  // rethrown once only
    ++rounds_done;
    s.go([&ran](std::stop_token t) {
      EXPECT_TRUE(t.stop_requested());  // stop is sticky
      ++ran;
    });
    s.wait();
    ++rounds_done;
    // A failure after the last wait(): the destructor rethrows it.
    try {
      weft::scope u;
      u.go([] {});
      u.wait();
      u.go([] { throw first_error(); });
    } catch (const first_error&) {
      ++rethrown;
    }
  });
  EXPECT_EQ(rethrown, 2);
  EXPECT_EQ(rounds_done, 2);
  EXPECT_EQ(ran.load(), 1);
}

TEST(Scope, GoOptionsNameTheGoroutine) {
  bool parked = false;
  weft::run(
      [&] {
        weft::scope s;
        weft::chan<int> gate;
        s.go(named("scoped-worker"), [gate](std::stop_token) mutable { (void)gate.recv(); });
        parked = weft_test::wait_parked("scoped-worker", 1);
        gate.close();
        s.wait();
      },
      procs_opt(2));
  EXPECT_TRUE(parked);
}

TEST(Scope, PlainThreadWaits) {
  std::atomic<int> finished{0};
  int thread_saw = -1;
  weft::run(
      [&] {
        weft::scope s;
        for (int i = 0; i < 8; ++i) {
          s.go([&finished] {
            weft::this_goroutine::sleep_for(5ms);
            ++finished;
          });
        }
        std::thread t([&] {
          s.wait();
          thread_saw = finished.load();
        });
        s.wait();
        t.join();
      },
      procs_opt(2));
  EXPECT_EQ(thread_saw, 8);
}

TEST(Scope, GoOutsideRunIsMisuse) {
  weft::scope s;
  EXPECT_THROW(s.go([] {}), weft::misuse_error);
  EXPECT_THROW(s.go(named("x"), [](std::stop_token) {}), weft::misuse_error);
  s.wait();  // nothing was started
  // A plain thread inside weft::run: the same rule as weft::go.
  weft::run([&] {
    std::thread t([&] { EXPECT_THROW(s.go([] {}), weft::misuse_error); });
    t.join();
  });
}

}  // namespace
