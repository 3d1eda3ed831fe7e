// tests/sync/once_test.cpp: weft::once_flag and weft::call_once, with
// std::call_once's meaning. Exactly one call completes under contention;
// callers that come while it runs park until it ends and then see its
// effects; a call that throws does not count and the next caller runs its
// own function; arguments are forwarded; plain threads outside weft::run.
#include <weft/weft.hpp>

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <memory>
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

class OnceProcs : public ::testing::TestWithParam<int> {};

static_assert(!std::is_copy_constructible_v<weft::once_flag>);
static_assert(!std::is_move_constructible_v<weft::once_flag>);

TEST_P(OnceProcs, ExactlyOneExecutionUnderContention) {
  constexpr int kCallers = 32;
  const int rounds = quartered(40);
  std::atomic<int> bad{0};
  std::vector<int> calls(static_cast<std::size_t>(rounds), 0);
  weft::run(
      [&] {
        for (int r = 0; r < rounds; ++r) {
          weft::once_flag flag;
          int value = 0;  // written by the one call; read by everyone after
          weft::wait_group wg;
          wg.add(kCallers);
          for (int c = 0; c < kCallers; ++c) {
            weft::go([&, r, c] {
              if (c % 3 == 0) weft::this_goroutine::yield();
              weft::call_once(flag, [&] {
                ++calls[static_cast<std::size_t>(r)];
                if (r % 2) weft::this_goroutine::yield();  // others arrive meanwhile
                value = 42;
              });
              if (value != 42) ++bad;  // the call's effects are visible to all
              wg.done();
            });
          }
          wg.wait();
        }
      },
      procs_opt(GetParam()));
  EXPECT_EQ(bad.load(), 0);
  for (int r = 0; r < rounds; ++r) EXPECT_EQ(calls[static_cast<std::size_t>(r)], 1) << "round " << r;
}

TEST_P(OnceProcs, CallersParkWhileTheCallRuns) {
  constexpr int kWaiters = 5;
  std::atomic<int> returned{0};
  bool returned_early = true;
  weft::run(
      [&] {
        weft::once_flag flag;
        weft::chan<int> gate;
        weft::wait_group wg;
        wg.add(1 + kWaiters);
        weft::go(named("caller"), [&] {
          weft::call_once(flag, [&] { (void)gate.recv(); });
          ++returned;
          wg.done();
        });
        EXPECT_TRUE(wait_parked("caller", 1));  // inside the call, on the gate
        for (int i = 0; i < kWaiters; ++i) {
          weft::go(named("once-waiter"), [&] {
            weft::call_once(flag, [] { ADD_FAILURE() << "a second call ran"; });
            ++returned;
            wg.done();
          });
        }
        EXPECT_TRUE(wait_parked("once-waiter", kWaiters));
        returned_early = returned.load() != 0;
        gate.send(1);
        wg.wait();
      },
      procs_opt(GetParam()));
  EXPECT_FALSE(returned_early) << "a caller returned before the call completed";
  EXPECT_EQ(returned.load(), 1 + kWaiters);
}

TEST(Once, ThrowingCallDoesNotCount) {
  weft::run([] {
    weft::once_flag flag;
    int runs = 0;
    EXPECT_THROW(weft::call_once(flag, [&] {
                   ++runs;
                   throw std::runtime_error("first");
                 }),
                 std::runtime_error);
    EXPECT_THROW(weft::call_once(flag, [&] {
                   ++runs;
                   throw std::runtime_error("second");
                 }),
                 std::runtime_error);
    weft::call_once(flag, [&] { ++runs; });
    weft::call_once(flag, [&] { ++runs; });  // done: not called
    EXPECT_EQ(runs, 3);
  });
}

TEST_P(OnceProcs, ThrowingCallRetriedByAWaitingCaller) {
  // The first kThrows calls throw; callers that wait meanwhile take over one
  // at a time until a call completes. Each throw reaches its own caller.
  constexpr int kCallers = 16, kThrows = 4;
  const int rounds = quartered(20);
  std::atomic<int> bad{0};
  weft::run(
      [&] {
        for (int r = 0; r < rounds; ++r) {
          weft::once_flag flag;
          std::atomic<int> attempts{0}, caught{0}, completed{0};
          weft::wait_group wg;
          wg.add(kCallers);
          for (int c = 0; c < kCallers; ++c) {
            weft::go([&] {
              try {
                weft::call_once(flag, [&] {
                  int a = attempts.fetch_add(1);
                  weft::this_goroutine::yield();
                  if (a < kThrows) throw std::runtime_error("attempt " + std::to_string(a));
                  ++completed;
                });
              } catch (const std::runtime_error&) {
                ++caught;
              }
              wg.done();
            });
          }
          wg.wait();
          if (completed.load() != 1 || attempts.load() != kThrows + 1 || caught.load() != kThrows) ++bad;
        }
      },
      procs_opt(GetParam()));
  EXPECT_EQ(bad.load(), 0);
}

TEST(Once, ForwardsArguments) {
  weft::once_flag flag;  // outside weft::run too
  std::string got;
  int out = 0;
  auto p = std::make_unique<int>(7);
  // A move-only argument, a temporary, an lvalue reference.
  weft::call_once(
      flag,
      [&](std::unique_ptr<int> q, const std::string& s, int& o) {
        got = s + std::to_string(*q);
        o = 1;
      },
      std::move(p), std::string("seven="), out);
  EXPECT_EQ(out, 1);
  EXPECT_EQ(got, "seven=7");
  struct counter {
    int n = 0;
    void bump(int by) { n += by; }
  } c;
  weft::once_flag member;
  weft::call_once(member, &counter::bump, c, 5);
  weft::call_once(member, &counter::bump, c, 5);
  EXPECT_EQ(c.n, 5);
}

TEST(Once, PlainThreadsOutsideRun) {
  constexpr int kThreads = 8;
  const int rounds = quartered(200);
  int bad = 0;
  for (int r = 0; r < rounds; ++r) {
    weft::once_flag flag;
    std::atomic<int> calls{0}, attempts{0};
    int value = 0;
    std::atomic<int> saw_value{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&] {
        try {
          weft::call_once(flag, [&] {
            if (attempts.fetch_add(1) == 0 && r % 2) throw std::runtime_error("retry me");
            ++calls;
            std::this_thread::yield();
            value = 9;
          });
          if (value == 9) ++saw_value;
        } catch (const std::runtime_error&) {
        }
      });
    }
    for (auto& t : threads) t.join();
    int throws = r % 2;
    if (calls.load() != 1 || saw_value.load() != kThreads - throws) ++bad;
  }
  EXPECT_EQ(bad, 0);
}

INSTANTIATE_TEST_SUITE_P(Procs, OnceProcs, ::testing::ValuesIn(weft_test::all_procs()), procs_name);

}  // namespace
