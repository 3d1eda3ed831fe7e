// tests/chan/chan_test.cpp: unbuffered and buffered channels, in the spirit
// of Go's chan_test.go (written anew): delivery exactly once across
// capacities, FIFO order per sender, the rendezvous of unbuffered sends,
// close waking every blocked receiver and sender, draining after close,
// range-for, try_send/try_recv, size and capacity, shared copies, move-only,
// large and throwing element types, misuse, nil channels and equality.
// The concurrent cases run under procs 1, 2, 4 and 8.
#include <weft/weft.hpp>

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <memory>
#include <mutex>
#include <numeric>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <unordered_set>
#include <vector>

#include "weft_test_util.hpp"

namespace {

using weft_test::count_parked;
using weft_test::named;
using weft_test::procs_name;
using weft_test::procs_opt;
using weft_test::wait_parked;

using namespace std::chrono_literals;

constexpr int kScale = weft_test::sanitizer_divisor;

constexpr int scaled(int n) { return std::max(1, n / kScale); }

class ChanProcs : public ::testing::TestWithParam<int> {};

constexpr int kCapacities[] = {0, 1, 2, 3, 5, 8, 13, 21, 34, 55, 89, 144, 199};

// ---------------------------------------------------------------------------
// Delivery and order

TEST_P(ChanProcs, EveryValueDeliveredExactlyOnceAcrossCapacities) {
  const int procs = GetParam();
  constexpr int kSenders = 4, kReceivers = 4;
  const int per = scaled(250);
  for (int cap : kCapacities) {
    SCOPED_TRACE("capacity " + std::to_string(cap));
    std::vector<std::vector<int>> got(kReceivers);
    std::size_t seen_capacity = 12345;
    weft::run(
        [&] {
          weft::chan<int> c(static_cast<std::size_t>(cap));
          seen_capacity = c.capacity();
          weft::wait_group senders, receivers;
          senders.add(kSenders);
          receivers.add(kReceivers);
          for (int s = 0; s < kSenders; ++s) {
            weft::go([&, s] {
              for (int k = 0; k < per; ++k) c.send(s * per + k);
              senders.done();
            });
          }
          for (int r = 0; r < kReceivers; ++r) {
            weft::go([&, r] {
              for (int v : c) got[static_cast<std::size_t>(r)].push_back(v);
              receivers.done();
            });
          }
          senders.wait();
          c.close();
          receivers.wait();
        },
        procs_opt(procs));
    EXPECT_EQ(seen_capacity, static_cast<std::size_t>(cap));
    std::vector<int> all;
    for (const auto& g : got) {
      // Each receiver sees any one sender's values in the order they were sent.
      std::vector<int> last(kSenders, -1);
      for (int v : g) {
        int s = v / per;
        ASSERT_GE(s, 0);
        ASSERT_LT(s, kSenders);
        EXPECT_GT(v, last[static_cast<std::size_t>(s)]) << "sender " << s << " reordered";
        last[static_cast<std::size_t>(s)] = v;
      }
      all.insert(all.end(), g.begin(), g.end());
    }
    std::sort(all.begin(), all.end());
    std::vector<int> want(static_cast<std::size_t>(kSenders * per));
    std::iota(want.begin(), want.end(), 0);
    EXPECT_EQ(all, want) << "values lost or duplicated";
  }
}

TEST_P(ChanProcs, FifoPerSender) {
  const int procs = GetParam();
  constexpr int kSenders = 4;
  const int per = scaled(500);
  for (int cap : {0, 1, 16}) {
    SCOPED_TRACE("capacity " + std::to_string(cap));
    std::vector<int> got;
    weft::run(
        [&] {
          weft::chan<int> c(static_cast<std::size_t>(cap));
          weft::wait_group senders;
          senders.add(kSenders);
          for (int s = 0; s < kSenders; ++s) {
            weft::go([&, s] {
              for (int k = 0; k < per; ++k) c.send(s * per + k);
              senders.done();
            });
          }
          weft::go([&] {
            senders.wait();
            c.close();
          });
          for (int v : c) got.push_back(v);
        },
        procs_opt(procs));
    ASSERT_EQ(got.size(), static_cast<std::size_t>(kSenders * per));
    std::vector<int> next(kSenders, 0);
    for (int v : got) {
      int s = v / per;
      ASSERT_GE(s, 0);
      ASSERT_LT(s, kSenders);
      ASSERT_EQ(v % per, next[static_cast<std::size_t>(s)]) << "sender " << s << " out of order";
      ++next[static_cast<std::size_t>(s)];
    }
  }
}

TEST_P(ChanProcs, SingleSenderOrderIsTotal) {
  const int procs = GetParam();
  const int n = scaled(2000);
  for (int cap : {0, 3, 64}) {
    SCOPED_TRACE("capacity " + std::to_string(cap));
    std::vector<int> got;
    weft::run(
        [&] {
          weft::chan<int> c(static_cast<std::size_t>(cap));
          weft::go([&] {
            for (int k = 0; k < n; ++k) c.send(k);
            c.close();
          });
          for (int v : c) got.push_back(v);
        },
        procs_opt(procs));
    std::vector<int> want(static_cast<std::size_t>(n));
    std::iota(want.begin(), want.end(), 0);
    EXPECT_EQ(got, want);
  }
}

// ---------------------------------------------------------------------------
// Blocking

TEST_P(ChanProcs, UnbufferedSendCompletesOnlyWhenReceived) {
  const int procs = GetParam();
  weft::run(
      [&] {
        weft::chan<int> c;
        std::atomic<bool> sent{false};
        weft::wait_group wg;
        wg.add(1);
        weft::go(named("sender"), [&] {
          c.send(7);
          sent.store(true);
          wg.done();
        });
        EXPECT_TRUE(wait_parked("sender", 1)) << "the sender never blocked";
        weft::this_goroutine::sleep_for(10ms);
        EXPECT_FALSE(sent.load()) << "send returned with no receiver";
        EXPECT_EQ(c.size(), 0u) << "an unbuffered channel holds no value";
        std::optional<int> v = c.recv();
        EXPECT_EQ(v, std::optional<int>(7));
        wg.wait();
        EXPECT_TRUE(sent.load());
      },
      procs_opt(procs));
}

TEST_P(ChanProcs, UnbufferedRecvWaitsForSender) {
  const int procs = GetParam();
  weft::run(
      [&] {
        weft::chan<int> c;
        std::atomic<int> got{-1};
        weft::wait_group wg;
        wg.add(1);
        weft::go(named("receiver"), [&] {
          got.store(c.recv().value_or(-2));
          wg.done();
        });
        EXPECT_TRUE(wait_parked("receiver", 1)) << "the receiver never blocked";
        EXPECT_EQ(got.load(), -1);
        c.send(99);  // the receiver is waiting: completes at once
        wg.wait();
        EXPECT_EQ(got.load(), 99);
      },
      procs_opt(procs));
}

TEST_P(ChanProcs, BufferedSendBlocksOnlyWhenFull) {
  const int procs = GetParam();
  weft::run(
      [&] {
        weft::chan<int> c(2);
        c.send(1);  // room: no receiver needed
        c.send(2);
        EXPECT_EQ(c.size(), 2u);
        std::atomic<bool> sent{false};
        weft::wait_group wg;
        wg.add(1);
        weft::go(named("third"), [&] {
          c.send(3);
          sent.store(true);
          wg.done();
        });
        EXPECT_TRUE(wait_parked("third", 1)) << "a send on a full channel did not block";
        EXPECT_FALSE(sent.load());
        EXPECT_EQ(c.size(), 2u);
        EXPECT_EQ(c.recv(), std::optional<int>(1));
        wg.wait();
        EXPECT_TRUE(sent.load());
        EXPECT_EQ(c.size(), 2u);
        EXPECT_EQ(c.recv(), std::optional<int>(2));
        EXPECT_EQ(c.recv(), std::optional<int>(3));
        EXPECT_EQ(c.size(), 0u);
      },
      procs_opt(procs));
}

// ---------------------------------------------------------------------------
// Close

TEST_P(ChanProcs, CloseWakesEveryBlockedReceiver) {
  const int procs = GetParam();
  constexpr int kWaiters = 8;
  for (int cap : {0, 4}) {
    SCOPED_TRACE("capacity " + std::to_string(cap));
    std::atomic<int> nullopts{0}, values{0};
    weft::run(
        [&] {
          weft::chan<int> c(static_cast<std::size_t>(cap));
          weft::wait_group wg;
          wg.add(kWaiters);
          for (int i = 0; i < kWaiters; ++i) {
            weft::go(named("blocked-recv"), [&] {
              if (c.recv()) ++values; else ++nullopts;
              wg.done();
            });
          }
          EXPECT_TRUE(wait_parked("blocked-recv", kWaiters));
          c.close();
          wg.wait();
        },
        procs_opt(procs));
    EXPECT_EQ(nullopts.load(), kWaiters);
    EXPECT_EQ(values.load(), 0);
  }
}

TEST_P(ChanProcs, CloseWakesEveryBlockedSender) {
  const int procs = GetParam();
  constexpr int kWaiters = 8;
  for (int cap : {0, 3}) {
    SCOPED_TRACE("capacity " + std::to_string(cap));
    std::atomic<int> threw{0}, returned{0}, wrong_message{0};
    std::vector<int> drained;
    weft::run(
        [&] {
          weft::chan<int> c(static_cast<std::size_t>(cap));
          for (int i = 0; i < cap; ++i) c.send(100 + i);  // fill the buffer
          weft::wait_group wg;
          wg.add(kWaiters);
          for (int i = 0; i < kWaiters; ++i) {
            weft::go(named("blocked-send"), [&, i] {
              try {
                c.send(i);
                ++returned;
              } catch (const weft::closed_channel_error& e) {
                ++threw;
                if (std::string(e.what()).find("send on closed channel") == std::string::npos) ++wrong_message;
              }
              wg.done();
            });
          }
          EXPECT_TRUE(wait_parked("blocked-send", kWaiters));
          c.close();
          wg.wait();
          // The buffered values sent before close are still there; the
          // blocked senders' values are not.
          for (int v : c) drained.push_back(v);
        },
        procs_opt(procs));
    EXPECT_EQ(threw.load(), kWaiters);
    EXPECT_EQ(returned.load(), 0);
    EXPECT_EQ(wrong_message.load(), 0);
    std::vector<int> want(static_cast<std::size_t>(cap));
    std::iota(want.begin(), want.end(), 100);
    EXPECT_EQ(drained, want);
  }
}

TEST(Chan, RecvFromClosedDrainsBufferFirst) {
  weft::run([] {
    weft::chan<int> c(5);
    c.send(1);
    c.send(2);
    c.send(3);
    c.close();
    EXPECT_EQ(c.size(), 3u);
    EXPECT_EQ(c.recv(), std::optional<int>(1));
    EXPECT_EQ(c.size(), 2u);
    EXPECT_EQ(c.try_recv(), std::optional<int>(2));
    EXPECT_EQ(c.recv(), std::optional<int>(3));
    EXPECT_EQ(c.size(), 0u);
    EXPECT_EQ(c.recv(), std::nullopt);
    EXPECT_EQ(c.recv(), std::nullopt);  // and stays so
    EXPECT_EQ(c.try_recv(), std::nullopt);
    EXPECT_EQ(c.capacity(), 5u);
    EXPECT_THROW(c.send(4), weft::closed_channel_error);
    EXPECT_EQ(c.recv(), std::nullopt) << "a failed send must not enqueue";
  });
}

TEST(Chan, SendOnClosedThrowsWithGoMessage) {
  weft::run([] {
    weft::chan<int> c;
    c.close();
    try {
      c.send(1);
      ADD_FAILURE() << "send on a closed channel returned";
    } catch (const std::logic_error& e) {
      EXPECT_NE(dynamic_cast<const weft::closed_channel_error*>(&e), nullptr);
      EXPECT_NE(std::string(e.what()).find("send on closed channel"), std::string::npos) << e.what();
    }
  });
}

TEST_P(ChanProcs, RangeForStopsAtClose) {
  const int procs = GetParam();
  const int n = scaled(1000);
  for (int cap : {0, 1, 10}) {
    SCOPED_TRACE("capacity " + std::to_string(cap));
    std::vector<int> got;
    int after = 0;
    weft::run(
        [&] {
          weft::chan<int> c(static_cast<std::size_t>(cap));
          weft::go([&] {
            for (int k = 0; k < n; ++k) c.send(k);
            c.close();
          });
          for (int v : c) got.push_back(v);
          after = 1;  // reached: the loop ended
        },
        procs_opt(procs));
    EXPECT_EQ(after, 1);
    std::vector<int> want(static_cast<std::size_t>(n));
    std::iota(want.begin(), want.end(), 0);
    EXPECT_EQ(got, want);
  }
}

TEST(Chan, RangeForOverClosedBufferedChannel) {
  weft::run([] {
    weft::chan<int> c(4);
    c.send(10);
    c.send(11);
    c.close();
    std::vector<int> got;
    for (int v : c) got.push_back(v);
    EXPECT_EQ(got, (std::vector<int>{10, 11}));
    int more = 0;
    for (int v : c) more += v + 1;  // closed and drained: no iterations
    EXPECT_EQ(more, 0);
  });
}

// ---------------------------------------------------------------------------
// try_send / try_recv, size, capacity

TEST(Chan, TryOpsOnBufferedChannel) {
  weft::run(
      [] {
        weft::chan<int> c(2);
        EXPECT_EQ(c.try_recv(), std::nullopt) << "empty";
        EXPECT_TRUE(c.try_send(1));
        EXPECT_TRUE(c.try_send(2));
        EXPECT_FALSE(c.try_send(3)) << "full";
        EXPECT_EQ(c.size(), 2u);
        EXPECT_EQ(c.try_recv(), std::optional<int>(1));
        EXPECT_TRUE(c.try_send(4));
        EXPECT_EQ(c.try_recv(), std::optional<int>(2));
        EXPECT_EQ(c.try_recv(), std::optional<int>(4));
        EXPECT_EQ(c.try_recv(), std::nullopt);
        EXPECT_EQ(c.size(), 0u);
        EXPECT_TRUE(c.try_send(5));
        c.close();
        EXPECT_THROW(c.try_send(6), weft::closed_channel_error);
        EXPECT_EQ(c.try_recv(), std::optional<int>(5)) << "drains after close";
        EXPECT_EQ(c.try_recv(), std::nullopt);
        EXPECT_THROW(c.try_send(7), weft::closed_channel_error);
      },
      procs_opt(1));
}

TEST_P(ChanProcs, TryOpsOnUnbufferedChannel) {
  const int procs = GetParam();
  weft::run(
      [&] {
        weft::chan<int> c;
        EXPECT_FALSE(c.try_send(1)) << "no receiver waiting";
        EXPECT_EQ(c.try_recv(), std::nullopt) << "no sender waiting";
        EXPECT_EQ(c.size(), 0u);

        // A parked receiver makes try_send succeed, and gets the value.
        std::atomic<int> got{-1};
        weft::wait_group wg;
        wg.add(1);
        weft::go(named("try-receiver"), [&] {
          got.store(c.recv().value_or(-2));
          wg.done();
        });
        EXPECT_TRUE(wait_parked("try-receiver", 1));
        EXPECT_TRUE(c.try_send(42));
        wg.wait();
        EXPECT_EQ(got.load(), 42);

        // A parked sender makes try_recv succeed, and its send return.
        std::atomic<bool> sent{false};
        wg.add(1);
        weft::go(named("try-sender"), [&] {
          c.send(43);
          sent.store(true);
          wg.done();
        });
        EXPECT_TRUE(wait_parked("try-sender", 1));
        EXPECT_FALSE(sent.load());
        EXPECT_EQ(c.try_recv(), std::optional<int>(43));
        wg.wait();
        EXPECT_TRUE(sent.load());

        EXPECT_FALSE(c.try_send(2));
        c.close();
        EXPECT_THROW(c.try_send(3), weft::closed_channel_error);
        EXPECT_EQ(c.try_recv(), std::nullopt);
      },
      procs_opt(procs));
}

TEST_P(ChanProcs, TryOpsUnderContention) {
  // One side uses only try ops, spinning with yield; the other blocks (on an
  // unbuffered channel two try ops never meet, as in Go) or, with a buffer,
  // also uses try ops. Every value is delivered exactly once; a try op that
  // blocked would hang procs=1.
  const int procs = GetParam();
  const int per = scaled(1000);
  constexpr int kSenders = 2, kReceivers = 2;
  enum mode { try_send_only, try_recv_only, both_try };
  for (int cap : {0, 1, 8}) {
    for (mode m : {try_send_only, try_recv_only, both_try}) {
      if (cap == 0 && m == both_try) continue;
      SCOPED_TRACE("capacity " + std::to_string(cap) + " mode " + std::to_string(static_cast<int>(m)));
      std::vector<std::vector<int>> got(kReceivers);
      weft::run(
          [&] {
            weft::chan<int> c(static_cast<std::size_t>(cap));
            std::atomic<int> remaining{kSenders * per};
            weft::wait_group senders, receivers;
            senders.add(kSenders);
            receivers.add(kReceivers);
            for (int s = 0; s < kSenders; ++s) {
              weft::go([&, s] {
                for (int k = 0; k < per; ++k) {
                  if (m == try_recv_only) {
                    c.send(s * per + k);
                  } else {
                    while (!c.try_send(s * per + k)) weft::this_goroutine::yield();
                  }
                }
                senders.done();
              });
            }
            for (int r = 0; r < kReceivers; ++r) {
              weft::go([&, r] {
                auto& mine = got[static_cast<std::size_t>(r)];
                if (m == try_send_only) {
                  for (int v : c) mine.push_back(v);
                } else {
                  while (remaining.load() > 0) {
                    if (std::optional<int> v = c.try_recv()) {
                      mine.push_back(*v);
                      --remaining;
                    } else {
                      weft::this_goroutine::yield();
                    }
                  }
                }
                receivers.done();
              });
            }
            senders.wait();
            if (m == try_send_only) c.close();
            receivers.wait();
          },
          procs_opt(procs));
      std::vector<int> all;
      for (const auto& g : got) all.insert(all.end(), g.begin(), g.end());
      std::sort(all.begin(), all.end());
      std::vector<int> want(static_cast<std::size_t>(kSenders * per));
      std::iota(want.begin(), want.end(), 0);
      EXPECT_EQ(all, want);
    }
  }
}

TEST(Chan, SizeAndCapacity) {
  weft::run([] {
    weft::chan<int> u;
    EXPECT_EQ(u.capacity(), 0u);
    EXPECT_EQ(u.size(), 0u);
    weft::chan<int> z(std::size_t{0});
    EXPECT_EQ(z.capacity(), 0u);
    weft::chan<int> b(7);
    EXPECT_EQ(b.capacity(), 7u);
    EXPECT_EQ(b.size(), 0u);
    for (std::size_t i = 1; i <= 7; ++i) {
      b.send(static_cast<int>(i));
      EXPECT_EQ(b.size(), i);
    }
    EXPECT_FALSE(b.try_send(8));
    EXPECT_EQ(b.size(), 7u);
    for (std::size_t i = 7; i > 0; --i) {
      (void)b.recv();
      EXPECT_EQ(b.size(), i - 1);
    }
    EXPECT_EQ(b.capacity(), 7u);
    weft::chan<int> n = nullptr;
    EXPECT_EQ(n.capacity(), 0u);
    EXPECT_EQ(n.size(), 0u);
  });
}

// DESIGN.md: "chan<T> ch(n): buffered (ch(0) is unbuffered)". The literal 0
// is also a null pointer constant: it must still mean capacity 0, not nil.
TEST(Chan, LiteralZeroCapacityIsUnbuffered) {
  weft::run([] {
    weft::chan<int> z(0);
    EXPECT_FALSE(z == nullptr) << "chan(0) made a nil channel";
    EXPECT_EQ(z.capacity(), 0u);
    EXPECT_FALSE(z.try_send(1)) << "no receiver: an unbuffered send cannot complete";
    z.close();  // a nil channel would throw "close of nil channel"
    EXPECT_EQ(z.recv(), std::nullopt);
    weft::chan<int> b(3);  // an int capacity
    EXPECT_EQ(b.capacity(), 3u);
  });
}

TEST(Chan, NegativeCapacityIsInvalid) {
  weft::run([] {
    EXPECT_THROW(weft::chan<int>(-1), std::invalid_argument);
    int n = -5;
    EXPECT_THROW(weft::chan<int> c(n), std::invalid_argument);
  });
}

// ---------------------------------------------------------------------------
// Sharing and comparison

TEST(Chan, CopiesShareTheChannel) {
  weft::run([] {
    weft::chan<int> a(2);
    weft::chan<int> b = a;
    weft::chan<int> c;
    c = b;
    EXPECT_TRUE(a == b);
    EXPECT_TRUE(b == c);
    b.send(5);
    EXPECT_EQ(a.size(), 1u);
    EXPECT_EQ(c.size(), 1u);
    EXPECT_EQ(a.recv(), std::optional<int>(5));
    c.send(6);
    b.close();
    EXPECT_EQ(a.recv(), std::optional<int>(6));
    EXPECT_EQ(a.recv(), std::nullopt) << "closed through a copy";
    EXPECT_THROW(c.close(), std::logic_error);

    // A copy keeps the channel alive after the original is gone.
    weft::chan<int> keep = nullptr;
    {
      weft::chan<int> tmp(1);
      tmp.send(9);
      keep = tmp;
    }
    EXPECT_EQ(keep.recv(), std::optional<int>(9));

    // A goroutine given a copy by value talks to the same channel.
    weft::chan<int> d;
    weft::go([](weft::chan<int> copy) { copy.send(77); }, d);
    EXPECT_EQ(d.recv(), std::optional<int>(77));
  });
}

TEST(Chan, Equality) {
  weft::run([] {
    weft::chan<int> a;
    weft::chan<int> b;
    weft::chan<int> a2 = a;
    weft::chan<int> n1 = nullptr;
    weft::chan<int> n2 = nullptr;
    EXPECT_TRUE(a == a);
    EXPECT_TRUE(a == a2);
    EXPECT_FALSE(a == b) << "two made channels are distinct";
    EXPECT_TRUE(a != b);
    EXPECT_TRUE(n1 == n2) << "nil equals nil";
    EXPECT_TRUE(n1 == nullptr);
    EXPECT_FALSE(a == nullptr);
    EXPECT_FALSE(a == n1);
    weft::chan<int> moved = std::move(a2);
    EXPECT_TRUE(moved == a);
    b = a;
    EXPECT_TRUE(b == a);
  });
}

// ---------------------------------------------------------------------------
// Element types

TEST_P(ChanProcs, MoveOnlyElements) {
  const int procs = GetParam();
  const int n = scaled(1000);
  for (int cap : {0, 1, 8}) {
    SCOPED_TRACE("capacity " + std::to_string(cap));
    std::vector<int> got;
    int nulls = 0;
    weft::run(
        [&] {
          weft::chan<std::unique_ptr<int>> c(static_cast<std::size_t>(cap));
          weft::go([&] {
            for (int k = 0; k < n; ++k) c.send(std::make_unique<int>(k));
            c.close();
          });
          for (std::unique_ptr<int> p : c) {
            if (!p) { ++nulls; continue; }
            got.push_back(*p);
          }
        },
        procs_opt(procs));
    EXPECT_EQ(nulls, 0);
    std::vector<int> want(static_cast<std::size_t>(n));
    std::iota(want.begin(), want.end(), 0);
    EXPECT_EQ(got, want);
  }
}

TEST(Chan, MoveOnlyTryOpsAndRecv) {
  weft::run([] {
    weft::chan<std::unique_ptr<int>> c(2);
    EXPECT_TRUE(c.try_send(std::make_unique<int>(1)));
    c.send(std::make_unique<int>(2));
    EXPECT_FALSE(c.try_send(std::make_unique<int>(3)));
    std::optional<std::unique_ptr<int>> a = c.try_recv();
    ASSERT_TRUE(a.has_value());
    ASSERT_NE(*a, nullptr);
    EXPECT_EQ(**a, 1);
    std::optional<std::unique_ptr<int>> b = c.recv();
    ASSERT_TRUE(b.has_value());
    ASSERT_NE(*b, nullptr);
    EXPECT_EQ(**b, 2);
    c.close();
    EXPECT_EQ(c.recv(), std::nullopt);
  });
}

using Big = std::array<char, 4096>;

Big make_big(int id) {
  Big b;
  for (std::size_t j = 0; j < b.size(); ++j) b[j] = static_cast<char>((id * 31 + static_cast<int>(j) * 7) % 251);
  b[0] = static_cast<char>(id & 0x7f);
  b[1] = static_cast<char>((id >> 7) & 0x7f);
  return b;
}

int big_id(const Big& b) { return static_cast<int>(b[0]) | (static_cast<int>(b[1]) << 7); }

TEST_P(ChanProcs, LargeElements) {
  const int procs = GetParam();
  const int per = scaled(200);
  constexpr int kSenders = 2, kReceivers = 2;
  for (int cap : {0, 2, 32}) {
    SCOPED_TRACE("capacity " + std::to_string(cap));
    std::vector<std::vector<int>> got(kReceivers);
    std::atomic<int> corrupt{0};
    weft::run(
        [&] {
          weft::chan<Big> c(static_cast<std::size_t>(cap));
          weft::wait_group senders, receivers;
          senders.add(kSenders);
          receivers.add(kReceivers);
          for (int s = 0; s < kSenders; ++s) {
            weft::go([&, s] {
              for (int k = 0; k < per; ++k) c.send(make_big(s * per + k));
              senders.done();
            });
          }
          for (int r = 0; r < kReceivers; ++r) {
            weft::go([&, r] {
              for (const Big& b : c) {
                int id = big_id(b);
                if (b != make_big(id)) ++corrupt;
                got[static_cast<std::size_t>(r)].push_back(id);
              }
              receivers.done();
            });
          }
          senders.wait();
          c.close();
          receivers.wait();
        },
        procs_opt(procs));
    EXPECT_EQ(corrupt.load(), 0);
    std::vector<int> all;
    for (const auto& g : got) all.insert(all.end(), g.begin(), g.end());
    std::sort(all.begin(), all.end());
    std::vector<int> want(static_cast<std::size_t>(kSenders * per));
    std::iota(want.begin(), want.end(), 0);
    EXPECT_EQ(all, want);
  }
}

// A type whose copy constructor throws every third time, and which keeps a
// ledger of the addresses of its live objects: every object constructed must
// be destroyed exactly once.
struct copy_failure : std::runtime_error {
  copy_failure() : std::runtime_error("copy failed") {}
};

struct ledger {
  std::mutex mu;
  std::unordered_set<const void*> live;
  long constructed = 0;
  long destroyed = 0;
  long errors = 0;  // constructed twice at a live address, or destroyed while not live
  std::atomic<long> copy_attempts{0};
  std::atomic<long> copy_throws{0};

  void born(const void* p) {
    std::lock_guard lk(mu);
    ++constructed;
    if (!live.insert(p).second) ++errors;
  }
  void died(const void* p) {
    std::lock_guard lk(mu);
    ++destroyed;
    if (live.erase(p) != 1) ++errors;
  }
  void reset() {
    std::lock_guard lk(mu);
    live.clear();
    constructed = destroyed = errors = 0;
    copy_attempts = 0;
    copy_throws = 0;
  }
};

template <bool NothrowMove>
struct Tracked {
  static ledger& book() {
    static ledger l;
    return l;
  }
  int id;
  bool valid = true;  // false once moved from

  explicit Tracked(int i) : id(i) { book().born(this); }
  Tracked(const Tracked& o) : id(o.id), valid(o.valid) {
    if (book().copy_attempts.fetch_add(1) % 3 == 2) {
      ++book().copy_throws;
      throw copy_failure();
    }
    book().born(this);
  }
  Tracked(Tracked&& o) noexcept(NothrowMove) : id(o.id), valid(o.valid) {
    o.valid = false;
    book().born(this);
  }
  Tracked& operator=(const Tracked&) = delete;
  Tracked& operator=(Tracked&&) = delete;
  ~Tracked() { book().died(this); }
};

static_assert(std::is_nothrow_move_constructible_v<Tracked<true>>);
static_assert(!std::is_nothrow_move_constructible_v<Tracked<false>>);

template <bool NothrowMove>
void throwing_copies(int procs) {
  using T = Tracked<NothrowMove>;
  constexpr int kSenders = 3, kReceivers = 3;
  const int per = scaled(300);
  for (int cap : {0, 1, 7}) {
    SCOPED_TRACE("capacity " + std::to_string(cap));
    T::book().reset();
    std::vector<std::vector<int>> got(kReceivers);
    std::atomic<int> invalid{0};
    std::atomic<long> caught{0};
    weft::run(
        [&] {
          weft::chan<T> c(static_cast<std::size_t>(cap));
          weft::wait_group senders, receivers;
          senders.add(kSenders);
          receivers.add(kReceivers);
          for (int s = 0; s < kSenders; ++s) {
            weft::go([&, s] {
              for (int k = 0; k < per; ++k) {
                T original(s * per + k);
                for (;;) {
                  try {
                    c.send(original);  // the copy into send's parameter may throw, here
                    break;
                  } catch (const copy_failure&) {
                    ++caught;
                  }
                }
              }
              senders.done();
            });
          }
          for (int r = 0; r < kReceivers; ++r) {
            weft::go([&, r] {
              while (std::optional<T> v = c.recv()) {
                if (!v->valid) ++invalid;
                got[static_cast<std::size_t>(r)].push_back(v->id);
              }
              receivers.done();
            });
          }
          senders.wait();
          c.close();
          receivers.wait();
        },
        procs_opt(procs));
    ledger& l = T::book();
    EXPECT_GT(caught.load(), 0) << "no copy threw: the test did not test anything";
    EXPECT_EQ(caught.load(), l.copy_throws.load()) << "a copy threw outside the senders' call sites";
    EXPECT_EQ(invalid.load(), 0) << "received a moved-from object";
    std::vector<int> all;
    for (const auto& g : got) all.insert(all.end(), g.begin(), g.end());
    std::sort(all.begin(), all.end());
    std::vector<int> want(static_cast<std::size_t>(kSenders * per));
    std::iota(want.begin(), want.end(), 0);
    EXPECT_EQ(all, want) << "values lost or duplicated";
    std::lock_guard lk(l.mu);
    EXPECT_EQ(l.errors, 0) << "an object was constructed over a live one or destroyed twice";
    EXPECT_EQ(l.constructed, l.destroyed);
    EXPECT_TRUE(l.live.empty()) << l.live.size() << " objects never destroyed";
  }
}

TEST_P(ChanProcs, ThrowingCopyNothrowMove) { throwing_copies<true>(GetParam()); }
TEST_P(ChanProcs, ThrowingCopyThrowingMove) { throwing_copies<false>(GetParam()); }

TEST(Chan, ThrowingCopyLeavesChannelUntouched) {
  using T = Tracked<true>;
  T::book().reset();
  weft::run([] {
    weft::chan<T> c(4);
    T a(1);
    int throws = 0;
    for (int i = 0; i < 6; ++i) {
      try {
        c.send(a);
      } catch (const copy_failure&) {
        ++throws;
      }
    }
    EXPECT_EQ(throws, 2);  // copies 3 and 6
    EXPECT_EQ(c.size(), 4u) << "exactly the sends that did not throw went in";
    c.close();
    int n = 0;
    while (std::optional<T> v = c.recv()) {
      EXPECT_TRUE(v->valid);
      EXPECT_EQ(v->id, 1);
      ++n;
    }
    EXPECT_EQ(n, 4);
  });
  std::lock_guard lk(T::book().mu);
  EXPECT_EQ(T::book().errors, 0);
  EXPECT_EQ(T::book().constructed, T::book().destroyed);
  EXPECT_TRUE(T::book().live.empty());
}

// ---------------------------------------------------------------------------
// Misuse and nil channels

TEST(Chan, CloseOfClosedChannelThrows) {
  weft::run([] {
    for (std::size_t cap : {std::size_t{0}, std::size_t{3}}) {
      weft::chan<int> c(cap);
      c.close();
      try {
        c.close();
        ADD_FAILURE() << "second close returned";
      } catch (const std::logic_error& e) {
        EXPECT_NE(std::string(e.what()).find("close of closed channel"), std::string::npos) << e.what();
      }
      // Still closed, still usable as a closed channel.
      EXPECT_EQ(c.recv(), std::nullopt);
    }
  });
}

TEST(Chan, CloseOfNilChannelThrows) {
  weft::run([] {
    weft::chan<int> c = nullptr;
    try {
      c.close();
      ADD_FAILURE() << "close of a nil channel returned";
    } catch (const std::logic_error& e) {
      EXPECT_NE(std::string(e.what()).find("close of nil channel"), std::string::npos) << e.what();
    }
  });
}

TEST(Chan, NilChannelTryOps) {
  weft::run([] {
    weft::chan<int> c = nullptr;
    EXPECT_TRUE(c == nullptr);
    EXPECT_FALSE(c.try_send(1));
    EXPECT_EQ(c.try_recv(), std::nullopt);
    EXPECT_EQ(c.size(), 0u);
    EXPECT_EQ(c.capacity(), 0u);
    weft::chan<std::unique_ptr<int>> m = nullptr;
    EXPECT_FALSE(m.try_send(std::make_unique<int>(1)));
    EXPECT_EQ(m.try_recv(), std::nullopt);
  });
}

TEST(Chan, NilChannelBlocksForever) {
  // Goroutines blocked on a nil channel stay blocked; main's return abandons
  // them, as in Go.
  std::atomic<int> returned{0};
  weft::run(
      [&] {
        weft::chan<int> c = nullptr;
        weft::go(named("nil-recv"), [&returned, c]() mutable {
          (void)c.recv();
          ++returned;
        });
        weft::go(named("nil-send"), [&returned, c]() mutable {
          c.send(1);
          ++returned;
        });
        // Something else to do with a timer armed, so the runtime is never
        // "all asleep" while we watch.
        EXPECT_TRUE(wait_parked("nil-recv", 1));
        EXPECT_TRUE(wait_parked("nil-send", 1));
        weft::this_goroutine::sleep_for(20ms);
        EXPECT_EQ(returned.load(), 0);
      },
      procs_opt(2));
  EXPECT_EQ(returned.load(), 0);
}

INSTANTIATE_TEST_SUITE_P(Procs, ChanProcs, ::testing::Values(1, 2, 4, 8), procs_name);

}  // namespace
