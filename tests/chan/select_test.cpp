// tests/chan/select_test.cpp: select, in the spirit of Go's select_test.go
// and the select parts of chan_test.go (written anew): a ready case is
// taken, a non-blocking select never takes default while a case is ready,
// the choice among ready cases is uniform, every value crosses exactly once
// when many goroutines select over overlapping channels, close wakes a
// blocked select, stop tokens as cases and on blocking operations, nil
// channels, the dynamic form, and select from a plain thread.
// Concurrent cases run under procs 1, 2, 4 and 8.
#include <weft/weft.hpp>

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <optional>
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

class SelectProcs : public ::testing::TestWithParam<int> {};

// ---------------------------------------------------------------------------
// Choosing

TEST(Select, TakesTheReadyCaseAndRunsItsCallback) {
  weft::run([] {
    weft::chan<int> a(1), b(1);
    b.send(7);
    int got = 0;
    std::size_t i = weft::select(weft::on_recv(a, [&](std::optional<int>) { got = -1; }),
                                 weft::on_recv(b, [&](std::optional<int> v) { got = *v; }));
    EXPECT_EQ(i, 1u);
    EXPECT_EQ(got, 7);
    EXPECT_EQ(b.size(), 0u);

    bool sent = false;
    i = weft::select(weft::on_recv(a, [] {}), weft::on_send(b, 8, [&] { sent = true; }));
    EXPECT_EQ(i, 1u);
    EXPECT_TRUE(sent);
    EXPECT_EQ(b.recv(), 8);
  }, procs_opt(1));
}

TEST(Select, DefaultWhenNothingIsReady) {
  weft::run([] {
    weft::chan<int> a, b(1);
    b.send(1);  // full: a send case on b is not ready
    bool took_default = false;
    std::size_t i = weft::select(weft::on_recv(a, [] { ADD_FAILURE(); }),
                                 weft::on_send(b, 2, [] { ADD_FAILURE(); }),
                                 weft::on_default([&] { took_default = true; }));
    EXPECT_EQ(i, 2u);
    EXPECT_TRUE(took_default);
    EXPECT_EQ(b.recv(), 1);  // the unsent 2 went nowhere
    EXPECT_EQ(b.size(), 0u);
  }, procs_opt(1));
}

// Go's TestNonblockSelectRace: at every instant c1 or c2 holds a value, so a
// select with default must never take the default.
TEST_P(SelectProcs, NonBlockingSelectNeverTakesDefaultWhileACaseIsReady) {
  const int rounds = quartered(4000);
  std::atomic<int> defaults{0};
  weft::run([&] {
    for (int r = 0; r < rounds; ++r) {
      weft::chan<int> c1(1), c2(1);
      weft::chan<bool> done;
      c1.send(1);
      weft::go([=]() mutable {
        bool ok = true;
        weft::select(weft::on_recv(c1, [] {}), weft::on_recv(c2, [] {}), weft::on_default([&] { ok = false; }));
        done.send(ok);
      });
      c2.send(1);
      weft::select(weft::on_recv(c1, [] {}), weft::on_default());
      if (!*done.recv()) defaults.fetch_add(1);
    }
    EXPECT_TRUE(weft_test::wait_goroutines(1));
  }, procs_opt(GetParam()));
  EXPECT_EQ(defaults.load(), 0);
}

// Four ready cases, many rounds: each must be chosen about a quarter of the
// time. The bound is about 11 standard deviations wide, so it never fails
// by chance; a select that prefers its first (or last) case fails it badly.
TEST(Select, ChoosesUniformlyAmongReadyCases) {
  constexpr int kRounds = 40000;
  int counts[4] = {};
  weft::run([&] {
    weft::chan<int> c[4] = {weft::chan<int>(1), weft::chan<int>(1), weft::chan<int>(1), weft::chan<int>(1)};
    for (int r = 0; r < kRounds; ++r) {
      for (auto& ch : c) ch.try_send(1);  // refill the one that was taken
      std::size_t i = weft::select(weft::on_recv(c[0], [] {}), weft::on_recv(c[1], [] {}),
                                   weft::on_recv(c[2], [] {}), weft::on_recv(c[3], [] {}));
      ++counts[i];
    }
  }, procs_opt(1));
  // expected 10000 each, sigma = sqrt(40000 * 0.25 * 0.75) ~ 87
  for (int k = 0; k < 4; ++k) {
    EXPECT_GT(counts[k], 9000) << "case " << k;
    EXPECT_LT(counts[k], 11000) << "case " << k;
  }
}

// Two ready cases, the same channel kind, many positions: neither position
// wins more than its share (a bias in the shuffle for small n shows here).
TEST(Select, ChoosesUniformlyBetweenTwo) {
  constexpr int kRounds = 20000;
  int first = 0;
  weft::run([&] {
    weft::chan<int> a(1), b(1);
    for (int r = 0; r < kRounds; ++r) {
      a.try_send(1);
      b.try_send(1);
      if (weft::select(weft::on_recv(a, [] {}), weft::on_recv(b, [] {})) == 0) ++first;
    }
  }, procs_opt(1));
  // expected 10000, sigma ~ 71
  EXPECT_GT(first, 9200);
  EXPECT_LT(first, 10800);
}

// ---------------------------------------------------------------------------
// Blocking, exactly once, close

TEST_P(SelectProcs, BlockedSelectIsWokenBySendOnAnyOfItsChannels) {
  weft::run([] {
    for (int which = 0; which < 3; ++which) {
      weft::chan<int> c[3];
      weft::chan<int> result(1);
      weft::go(named("selector"), [=]() mutable {
        int got = -1;
        std::size_t i = weft::select(weft::on_recv(c[0], [&](std::optional<int> v) { got = *v; }),
                                     weft::on_recv(c[1], [&](std::optional<int> v) { got = *v; }),
                                     weft::on_recv(c[2], [&](std::optional<int> v) { got = *v; }));
        result.send(static_cast<int>(i) * 100 + got);
      });
      ASSERT_TRUE(wait_parked("selector", 1));
      c[which].send(which + 1);
      EXPECT_EQ(result.recv(), which * 100 + which + 1);
      // The select unlinked its other waiters: the other channels have none.
      EXPECT_FALSE(c[(which + 1) % 3].try_send(0));
    }
  }, procs_opt(GetParam()));
}

// Senders select over sends to several channels, receivers select over
// receives from them (each listing the channels in its own order, so lock
// order matters): every value arrives exactly once, through every capacity.
TEST_P(SelectProcs, EveryValueCrossesExactlyOnceThroughOverlappingSelects) {
  constexpr int kChans = 3, kSenders = 4, kReceivers = 4;
  const int per = quartered(2000);
  for (int cap : {0, 1, 7, 64}) {
    SCOPED_TRACE("capacity " + std::to_string(cap));
    std::vector<std::atomic<int>> seen(static_cast<std::size_t>(kSenders * per));
    weft::run([&] {
      std::vector<weft::chan<int>> c;
      for (int k = 0; k < kChans; ++k) c.emplace_back(cap);
      weft::wait_group senders, receivers;
      senders.add(kSenders);
      receivers.add(kReceivers);
      for (int s = 0; s < kSenders; ++s) {
        weft::go([&, s] {
          for (int i = 0; i < per; ++i) {
            int v = s * per + i;
            if (s % 2 == 0) {
              weft::select(weft::on_send(c[0], v), weft::on_send(c[1], v), weft::on_send(c[2], v));
            } else {
              weft::select(weft::on_send(c[2], v), weft::on_send(c[0], v), weft::on_send(c[1], v));
            }
          }
          senders.done();
        });
      }
      weft::chan<bool> stop;  // closed when every sender is done
      for (int r = 0; r < kReceivers; ++r) {
        weft::go([&, r] {
          bool running = true;
          auto take = [&](std::optional<int> v) { seen[static_cast<std::size_t>(*v)].fetch_add(1); };
          while (running) {
            if (r % 2 == 0) {
              weft::select(weft::on_recv(c[1], take), weft::on_recv(c[2], take), weft::on_recv(c[0], take),
                           weft::on_recv(stop, [&] { running = false; }));
            } else {
              weft::select(weft::on_recv(stop, [&] { running = false; }), weft::on_recv(c[0], take),
                           weft::on_recv(c[2], take), weft::on_recv(c[1], take));
            }
          }
          receivers.done();
        });
      }
      senders.wait();
      // Buffered values may remain: drain them before telling receivers to stop.
      for (auto& ch : c) {
        while (auto v = ch.try_recv()) seen[static_cast<std::size_t>(*v)].fetch_add(1);
      }
      stop.close();
      receivers.wait();
      for (auto& ch : c) {
        while (auto v = ch.try_recv()) seen[static_cast<std::size_t>(*v)].fetch_add(1);
      }
    }, procs_opt(GetParam()));
    int wrong = 0;
    for (auto& s : seen) wrong += s.load() != 1;
    EXPECT_EQ(wrong, 0);
  }
}

TEST_P(SelectProcs, CloseWakesABlockedSelect) {
  weft::run([] {
    weft::chan<int> a, b;
    weft::chan<int> result(1);
    weft::go(named("selector"), [=]() mutable {
      bool closed = false;
      weft::select(weft::on_recv(a, [&](std::optional<int> v) { closed = !v; }), weft::on_recv(b, [] {}));
      result.send(closed ? 1 : 0);
    });
    ASSERT_TRUE(wait_parked("selector", 1));
    a.close();
    EXPECT_EQ(result.recv(), 1);
  }, procs_opt(GetParam()));
}

TEST_P(SelectProcs, CloseMakesABlockedSendCaseThrow) {
  weft::run([] {
    weft::chan<int> a, b;
    weft::chan<int> result(1);
    weft::go(named("selector"), [=]() mutable {
      try {
        weft::select(weft::on_send(a, 1), weft::on_recv(b, [] {}));
        result.send(0);
      } catch (const weft::closed_channel_error&) {
        result.send(1);
      }
    });
    ASSERT_TRUE(wait_parked("selector", 1));
    a.close();
    EXPECT_EQ(result.recv(), 1);
  }, procs_opt(GetParam()));
}

TEST(Select, SendCaseOnAClosedChannelThrows) {
  weft::run([] {
    weft::chan<int> a(1), b;
    a.close();
    EXPECT_THROW(weft::select(weft::on_send(a, 1), weft::on_recv(b, [] {})), weft::closed_channel_error);
    EXPECT_THROW(weft::select(weft::on_send(a, 1), weft::on_default()), weft::closed_channel_error);
  }, procs_opt(1));
}

// A select with a send and a receive case on one unbuffered channel cannot
// meet itself; another goroutine completes one of the two.
TEST_P(SelectProcs, SendAndReceiveOnOneChannelWaitForAPartner) {
  weft::run([] {
    weft::chan<int> c;
    weft::chan<std::size_t> result(1);
    weft::go(named("selector"), [=]() mutable {
      result.send(weft::select(weft::on_send(c, 5), weft::on_recv(c, [] {})));
    });
    ASSERT_TRUE(wait_parked("selector", 1));
    EXPECT_EQ(c.recv(), 5);
    EXPECT_EQ(result.recv(), 0u);
  }, procs_opt(GetParam()));
}

// Callbacks run after the channels are unlocked: using the same channel in
// the callback must not deadlock.
TEST(Select, CallbackMayUseTheSameChannel) {
  weft::run([] {
    weft::chan<int> c(2);
    c.send(1);
    weft::select(weft::on_recv(c, [&](std::optional<int> v) { c.send(*v + 1); }));
    EXPECT_EQ(c.recv(), 2);
  }, procs_opt(1));
}

TEST(Select, MoveOnlyValuesInBothDirections) {
  weft::run([] {
    weft::chan<std::unique_ptr<int>> c(1);
    weft::select(weft::on_send(c, std::make_unique<int>(41)));
    std::unique_ptr<int> got;
    weft::select(weft::on_recv(c, [&](std::optional<std::unique_ptr<int>> v) { got = std::move(*v); }));
    ASSERT_TRUE(got);
    EXPECT_EQ(*got, 41);
  }, procs_opt(1));
}

// ---------------------------------------------------------------------------
// Nil channels and stop tokens

TEST(Select, NilChannelCaseIsNeverReady) {
  weft::run([] {
    weft::chan<int> nil = nullptr;
    bool took_default = false;
    weft::select(weft::on_recv(nil, [] { ADD_FAILURE(); }), weft::on_send(nil, 1, [] { ADD_FAILURE(); }),
                 weft::on_default([&] { took_default = true; }));
    EXPECT_TRUE(took_default);
  }, procs_opt(1));
}

TEST(Select, StopCaseReadyWhenStopAlreadyRequested) {
  weft::run([] {
    std::stop_source src;
    src.request_stop();
    weft::chan<int> c;
    bool stopped = false;
    weft::select(weft::on_recv(c, [] { ADD_FAILURE(); }), weft::on_stop(src.get_token(), [&] { stopped = true; }));
    EXPECT_TRUE(stopped);
  }, procs_opt(1));
}

TEST_P(SelectProcs, StopWakesABlockedSelectFromAGoroutineOrAThread) {
  for (bool from_thread : {false, true}) {
    SCOPED_TRACE(from_thread ? "stop from a plain thread" : "stop from a goroutine");
    weft::run([&] {
      std::stop_source src;
      weft::chan<int> c, nil = nullptr;
      weft::chan<int> result(1);
      weft::go(named("selector"), [=]() mutable {
        int how = 0;
        weft::select(weft::on_recv(c, [&] { how = 1; }), weft::on_recv(nil, [&] { how = 2; }),
                     weft::on_stop(src.get_token(), [&] { how = 3; }));
        result.send(how);
      });
      ASSERT_TRUE(wait_parked("selector", 1));
      if (from_thread) {
        std::thread([&] { src.request_stop(); }).join();
      } else {
        src.request_stop();
      }
      EXPECT_EQ(result.recv(), 3);
      EXPECT_FALSE(c.try_send(1));  // the select left no waiter behind
      EXPECT_TRUE(weft_test::wait_goroutines(1));
    }, procs_opt(GetParam()));
  }
}

// A stop requested while a value is racing to the select: exactly one case
// wins each round, and nothing is lost (a value not taken stays in c).
TEST_P(SelectProcs, StopRacingWithASendLosesNothing) {
  const int rounds = quartered(2000);
  int lost = 0;
  weft::run([&] {
    for (int r = 0; r < rounds; ++r) {
      std::stop_source src;
      weft::chan<int> c(1);
      weft::chan<int> result(1);
      weft::go([=]() mutable {
        int got = 0;
        weft::select(weft::on_recv(c, [&](std::optional<int> v) { got = *v; }), weft::on_stop(src.get_token(), [] {}));
        result.send(got);
      });
      weft::go([=]() mutable { src.request_stop(); });
      c.send(r + 1);
      int got = *result.recv();
      std::optional<int> left = c.try_recv();
      if ((got == r + 1) == left.has_value()) ++lost;  // exactly one of them has the value
    }
  }, procs_opt(GetParam()));
  EXPECT_EQ(lost, 0);
}

TEST_P(SelectProcs, BlockingChannelOperationsTakeAStopToken) {
  weft::run([] {
    std::stop_source src;
    weft::chan<int> c;
    weft::chan<int> result(2);
    weft::go(named("receiver"), [=]() mutable { result.send(c.recv(src.get_token()).value_or(-1)); });
    weft::go(named("sender"), [=]() mutable { result.send(c.send(9, src.get_token()) ? 1 : 0); });
    // The two may meet each other: then the receiver gets 9 and the sender true.
    weft::this_goroutine::sleep_for(5ms);
    src.request_stop();
    int a = *result.recv(), b = *result.recv();
    bool met = (a == 9 && b == 1) || (a == 1 && b == 9);
    bool stopped = (a == -1 && b == 0) || (a == 0 && b == -1);
    EXPECT_TRUE(met || stopped) << a << " " << b;

    // Stop already requested and no partner: both give up at once.
    weft::chan<int> lonely;
    EXPECT_EQ(lonely.recv(src.get_token()), std::nullopt);
    EXPECT_FALSE(lonely.send(4, src.get_token()));
    // A token that can never be stopped: plain blocking operations.
    weft::chan<int> buffered(1);
    EXPECT_TRUE(buffered.send(4, std::stop_token{}));
    EXPECT_EQ(buffered.recv(std::stop_token{}), 4);
  }, procs_opt(GetParam()));
}

// ---------------------------------------------------------------------------
// The dynamic form, big selects, plain threads

TEST(Select, DynamicFormOverARuntimeListOfCases) {
  weft::run([] {
    constexpr int kChans = 20;  // more than select keeps on its stack
    std::vector<weft::chan<int>> c;
    for (int k = 0; k < kChans; ++k) c.emplace_back(1);
    int got = -1;
    std::vector<weft::select_case> cases;
    for (int k = 0; k < kChans; ++k) {
      cases.emplace_back(weft::on_recv(c[static_cast<std::size_t>(k)], [&](std::optional<int> v) { got = *v; }));
    }
    c[13].send(130);
    EXPECT_EQ(weft::select(cases), 13u);
    EXPECT_EQ(got, 130);

    // Every channel ready: each index comes up (20 of them in 2000 rounds).
    std::vector<int> counts(kChans);
    for (int r = 0; r < 2000; ++r) {
      for (auto& ch : c) ch.try_send(1);
      ++counts[weft::select(cases)];
    }
    for (int k = 0; k < kChans; ++k) EXPECT_GT(counts[static_cast<std::size_t>(k)], 40) << "case " << k;

    cases.emplace_back(weft::on_default());
    for (auto& ch : c) while (ch.try_recv()) {}
    EXPECT_EQ(weft::select(cases), static_cast<std::size_t>(kChans));
    cases.emplace_back(weft::on_default());
    EXPECT_THROW(weft::select(cases), std::invalid_argument);
  }, procs_opt(1));
}

TEST(Select, DynamicCaseKeepsItsChannelAlive) {
  weft::run([] {
    std::vector<weft::select_case> cases;
    {
      weft::chan<int> c(1);
      c.send(5);
      cases.emplace_back(weft::on_recv(c, [](std::optional<int> v) { EXPECT_EQ(v, 5); }));
    }  // the last chan handle is gone; the case still holds the channel
    EXPECT_EQ(weft::select(cases), 0u);
  }, procs_opt(1));
}

TEST(Select, WorksBetweenPlainThreadsAndGoroutines) {
  weft::chan<int> a, b;
  weft::chan<int> result(1);
  std::thread t([&] {
    int got = 0;
    weft::select(weft::on_recv(a, [&](std::optional<int> v) { got = *v; }),
                 weft::on_recv(b, [&](std::optional<int> v) { got = -*v; }));
    result.send(got);
  });
  weft::run([&] {
    weft::this_goroutine::sleep_for(5ms);
    b.send(4);
    EXPECT_EQ(result.recv(), -4);
  }, procs_opt(2));
  t.join();
}

// Many goroutines ping-pong through selects over the same two channels in
// opposite orders: a lock-order mistake deadlocks here.
TEST_P(SelectProcs, OppositeOrdersDoNotDeadlock) {
  const int rounds = quartered(4000);
  weft::run([&] {
    weft::chan<int> x, y;
    weft::wait_group wg;
    constexpr int kPairs = 8;
    wg.add(2 * kPairs);
    for (int p = 0; p < kPairs; ++p) {
      weft::go([&] {
        for (int i = 0; i < rounds; ++i) weft::select(weft::on_send(x, i), weft::on_recv(y, [] {}));
        wg.done();
      });
      weft::go([&] {
        for (int i = 0; i < rounds; ++i) weft::select(weft::on_recv(x, [] {}), weft::on_send(y, i));
        wg.done();
      });
    }
    wg.wait();
  }, procs_opt(GetParam()));
}

INSTANTIATE_TEST_SUITE_P(Procs, SelectProcs, ::testing::Values(1, 2, 4, 8), procs_name);

// Issue 11, defect 7: a dynamic send case of a T whose move may throw (the
// channel boxes it) sent a null box when chosen a second time, and the
// receiver crashed. A copyable T is now sent afresh each time; a move-only
// one is spent after one send and a second choice is misuse.
struct throwing_move {
  std::string s;
  explicit throwing_move(std::string v) : s(std::move(v)) {}
  throwing_move(const throwing_move&) = default;
  throwing_move(throwing_move&& o) noexcept(false) : s(std::move(o.s)) {}
};

TEST(SelectDynamic, SendCaseOfABoxedTypeSendsItsValueEachTime) {
  weft::run([] {
    weft::chan<throwing_move> ch(4);
    std::vector<weft::select_case> cases;
    cases.emplace_back(weft::on_send(ch, throwing_move("x")));
    for (int i = 0; i < 3; ++i) EXPECT_EQ(weft::select(cases), 0u);
    for (int i = 0; i < 3; ++i) {
      auto v = ch.recv();
      ASSERT_TRUE(v.has_value());
      EXPECT_EQ(v->s, "x");
    }
    weft::chan<std::string> plain(2);
    std::vector<weft::select_case> plain_cases;
    plain_cases.emplace_back(weft::on_send(plain, std::string("y")));
    weft::select(plain_cases);
    weft::select(plain_cases);
    EXPECT_EQ(plain.recv(), "y");
    EXPECT_EQ(plain.recv(), "y");  // not a moved-from string
  }, weft::options{.procs = 1});
}

TEST(SelectDynamic, SendCaseOfAMoveOnlyTypeIsSpentAfterOneSend) {
  weft::run([] {
    weft::chan<std::unique_ptr<int>> ch(2);
    std::vector<weft::select_case> cases;
    cases.emplace_back(weft::on_send(ch, std::make_unique<int>(5)));
    weft::select(cases);
    EXPECT_THROW(weft::select(cases), weft::misuse_error);
    EXPECT_EQ(**ch.recv(), 5);
    EXPECT_EQ(ch.size(), 0u);
    auto once = weft::on_send(ch, std::make_unique<int>(6));  // the variadic form too
    weft::select(once);
    EXPECT_THROW(weft::select(once), weft::misuse_error);
  }, weft::options{.procs = 1});
}

}  // namespace
