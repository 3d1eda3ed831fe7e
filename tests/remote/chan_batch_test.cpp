// tests/remote/chan_batch_test.cpp: a remote channel's pipelined send_all
// and recv_some (src/remote/chan_batch.cpp) against a real weftd, and in
// the process when not attached: every value once, in the channel's order,
// and a close that stops a batch where it happened.
#include <weft/remote.hpp>
#include <weft/weft.hpp>

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "remote/weftd_fixture.hpp"
#include "weft_test_util.hpp"

namespace {

using ChanBatch = weft_test::weftd_test;

std::vector<int> range(int from, int to) {
  std::vector<int> v;
  for (int i = from; i < to; ++i) v.push_back(i);
  return v;
}

// Two consumers taking batches while a producer sends batches through a
// small buffer: each consumer sees increasing values, and together they
// see each value exactly once.
void every_value_once_in_order(int procs, const weft::options& o) {
  const int n = weft_test::scaled(4000);
  std::vector<std::vector<int>> got(2);
  weft::run(
      [&] {
        weft::remote::chan<int> c("batch.order." + std::to_string(procs), 16);
        weft::wait_group wg;
        wg.add(2);
        for (int k = 0; k < 2; ++k) {
          weft::go([&, k] {
            for (;;) {
              std::vector<int> some = c.recv_some(64);
              if (some.empty()) break;
              EXPECT_LE(some.size(), 64u);
              got[static_cast<std::size_t>(k)].insert(got[static_cast<std::size_t>(k)].end(), some.begin(),
                                                      some.end());
            }
            wg.done();
          });
        }
        for (int i = 0; i < n; i += 100) c.send_all(range(i, std::min(n, i + 100)));
        c.close();
        wg.wait();
      },
      o);
  std::vector<bool> seen(static_cast<std::size_t>(n), false);
  std::size_t total = 0;
  for (const std::vector<int>& g : got) {
    for (std::size_t i = 0; i < g.size(); ++i) {
      if (i > 0) {
        EXPECT_LT(g[i - 1], g[i]) << "a consumer saw values out of order";
      }
      ASSERT_GE(g[i], 0);
      ASSERT_LT(g[i], n);
      EXPECT_FALSE(seen[static_cast<std::size_t>(g[i])]) << "value " << g[i] << " twice";
      seen[static_cast<std::size_t>(g[i])] = true;
    }
    total += g.size();
  }
  EXPECT_EQ(total, static_cast<std::size_t>(n));
}

TEST_F(ChanBatch, EveryValueArrivesOnceAndInOrder) {
  for (int procs : {1, 2, 4}) {
    SCOPED_TRACE(procs);
    every_value_once_in_order(procs, attached(procs));
  }
}

TEST(ChanBatchLocal, EveryValueArrivesOnceAndInOrder) {
  for (int procs : {1, 2, 4}) {
    SCOPED_TRACE(procs);
    every_value_once_in_order(procs, weft_test::procs_opt(procs));
  }
}

// A batch blocked on a full channel when it closes: the values that got
// in before the close stay, in order; none after it does; send_all throws.
void close_stops_a_batch(const weft::options& o) {
  weft::run(
      [] {
        weft::remote::chan<int> c("batch.close", 8);
        c.send_all({100, 101, 102, 103});
        weft::chan<bool> threw(1);
        weft::go([&] {
          try {
            c.send_all(range(0, 10));  // 4 fit, 6 wait
            threw.send(false);
          } catch (const weft::closed_channel_error&) {
            threw.send(true);
          }
        });
        while (c.size() < 8) weft::this_goroutine::sleep_for(std::chrono::milliseconds(1));
        weft::this_goroutine::sleep_for(std::chrono::milliseconds(20));  // the 6 wait in the server
        c.close();
        EXPECT_EQ(threw.recv(), true);
        std::vector<int> left;
        for (int v : c) left.push_back(v);
        EXPECT_EQ(left, (std::vector<int>{100, 101, 102, 103, 0, 1, 2, 3}));
        EXPECT_THROW(c.send_all({1}), weft::closed_channel_error);
        EXPECT_TRUE(c.recv_some(5).empty());
      },
      o);
}

TEST_F(ChanBatch, ACloseStopsABatchWhereItHappened) { close_stops_a_batch(attached()); }
TEST(ChanBatchLocal, ACloseStopsABatchWhereItHappened) { close_stops_a_batch(weft_test::procs_opt(2)); }

// recv_some waits for the first value only, and takes at most max.
void takes_what_is_there(const weft::options& o) {
  weft::run(
      [] {
        weft::remote::chan<std::string> c("batch.some", 100);
        EXPECT_TRUE(c.recv_some(0).empty());
        weft::go([&] {
          weft::this_goroutine::sleep_for(std::chrono::milliseconds(20));
          c.send("late");
        });
        EXPECT_EQ(c.recv_some(10), (std::vector<std::string>{"late"}));
        c.send_all({"a", "b", "c", "d", "e"});
        EXPECT_EQ(c.recv_some(3), (std::vector<std::string>{"a", "b", "c"}));
        EXPECT_EQ(c.recv_some(10), (std::vector<std::string>{"d", "e"}));
        c.send_all({});
        EXPECT_EQ(c.size(), 0u);
      },
      o);
}

TEST_F(ChanBatch, RecvSomeWaitsForOneAndTakesAtMostMax) { takes_what_is_there(attached()); }
TEST(ChanBatchLocal, RecvSomeWaitsForOneAndTakesAtMostMax) { takes_what_is_there(weft_test::procs_opt(2)); }

}  // namespace
