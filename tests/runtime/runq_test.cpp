// The local run queue on its own: one owner pushing and popping, stealers
// taking halves, overflow into the global queue. Every G comes out exactly
// once, whatever the interleaving.
#include <gtest/gtest.h>

#include <atomic>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "runtime/runq.hpp"
#include "weft_test_util.hpp"

namespace {

using weft::detail::g;
using weft::detail::p;

// Takes everything left in the global queue (test only: nothing else runs).
std::vector<g*> drain_global() {
  std::vector<g*> out;
  std::lock_guard lk(weft::detail::sched.lock);
  while (g* gp = weft::detail::sched.runq_head) {
    weft::detail::sched.runq_head = gp->schedlink;
    out.push_back(gp);
  }
  weft::detail::sched.runq_tail = nullptr;
  weft::detail::sched.runq_size = 0;
  return out;
}

TEST(Runq, FifoWithRunnextFirst) {
  auto pp = std::make_unique<p>();
  std::vector<g> gs(5);
  for (int i = 0; i < 4; ++i) weft::detail::runq_put(pp.get(), &gs[i], false);
  weft::detail::runq_put(pp.get(), &gs[4], true);
  EXPECT_EQ(weft::detail::runq_get(pp.get()), &gs[4]);
  for (int i = 0; i < 4; ++i) EXPECT_EQ(weft::detail::runq_get(pp.get()), &gs[i]);
  EXPECT_EQ(weft::detail::runq_get(pp.get()), nullptr);
  EXPECT_TRUE(weft::detail::runq_empty(pp.get()));
}

TEST(Runq, RunnextDisplacesToTheTail) {
  auto pp = std::make_unique<p>();
  std::vector<g> gs(3);
  weft::detail::runq_put(pp.get(), &gs[0], true);
  weft::detail::runq_put(pp.get(), &gs[1], true);  // gs[0] moves to the ring
  weft::detail::runq_put(pp.get(), &gs[2], false);
  EXPECT_EQ(weft::detail::runq_get(pp.get()), &gs[1]);
  EXPECT_EQ(weft::detail::runq_get(pp.get()), &gs[0]);
  EXPECT_EQ(weft::detail::runq_get(pp.get()), &gs[2]);
}

TEST(Runq, OverflowMovesHalfToTheGlobalQueue) {
  weft::detail::sched.procs = 1;
  auto pp = std::make_unique<p>();
  std::vector<g> gs(weft::detail::runq_size + 1);
  for (auto& x : gs) weft::detail::runq_put(pp.get(), &x, false);
  std::vector<g*> global = drain_global();
  EXPECT_EQ(global.size(), weft::detail::runq_size / 2 + 1);
  std::size_t local = 0;
  while (weft::detail::runq_get(pp.get())) ++local;
  EXPECT_EQ(local + global.size(), gs.size());
}

TEST(Runq, EveryGExactlyOnceUnderStealing) {
  weft::detail::sched.procs = 4;
  for (int iter = 0; iter < weft_test::scaled(20); ++iter) {
    const int n = 200000 / (weft_test::sanitized ? 10 : 1);
    std::vector<g> gs(n);
    std::vector<std::atomic<int>> seen(n);
    auto owner = std::make_unique<p>();
    std::atomic<bool> done{false};
    auto take = [&](g* gp) { seen[gp - gs.data()].fetch_add(1); };

    std::vector<std::thread> thieves;
    for (int t = 0; t < 3; ++t) {
      thieves.emplace_back([&, t] {
        auto mine = std::make_unique<p>();
        while (!done.load()) {
          if (g* gp = weft::detail::runq_steal(mine.get(), owner.get(), t == 0)) {
            take(gp);
            while (g* more = weft::detail::runq_get(mine.get())) take(more);
          }
        }
        while (g* gp = weft::detail::runq_steal(mine.get(), owner.get(), true)) {
          take(gp);
          while (g* more = weft::detail::runq_get(mine.get())) take(more);
        }
      });
    }
    for (int i = 0; i < n; ++i) {
      weft::detail::runq_put(owner.get(), &gs[i], i % 3 == 0);
      if (i % 5 == 0) {
        if (g* gp = weft::detail::runq_get(owner.get())) take(gp);
      }
    }
    while (g* gp = weft::detail::runq_get(owner.get())) take(gp);
    done = true;
    for (auto& t : thieves) t.join();
    for (g* gp : drain_global()) take(gp);
    for (int i = 0; i < n; ++i) ASSERT_EQ(seen[i].load(), 1) << "G " << i << " in iteration " << iter;
  }
}

}  // namespace
