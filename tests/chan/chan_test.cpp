// tests/chan/chan_test.cpp: unbuffered and buffered channels, in the spirit
// of Go's chan_test.go (written anew): delivery exactly once across
// capacities, FIFO order per sender, the rendezvous of unbuffered sends,
// close waking every blocked receiver and sender, draining after close,
// range-for, try_send/try_recv, size and capacity. Element types, sharing,
// misuse and nil channels are in chan_types_test.cpp.
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

using weft_test::quartered;

class ChanProcs : public ::testing::TestWithParam<int> {};

constexpr int kCapacities[] = {0, 1, 2, 3, 5, 8, 13, 21, 34, 55, 89, 144, 199};

// ---------------------------------------------------------------------------
// Delivery and order

TEST_P(ChanProcs, EveryValueDeliveredExactlyOnceAcrossCapacities) {
  const int procs = GetParam();
  constexpr int kSenders = 4, kReceivers = 4;
  const int per = quartered(250);
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
  const int per = quartered(500);
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
  const int n = quartered(2000);
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
  const int n = quartered(1000);
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
  const int per = quartered(1000);
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

INSTANTIATE_TEST_SUITE_P(Procs, ChanProcs, ::testing::Values(1, 2, 4, 8), procs_name);

}  // namespace
