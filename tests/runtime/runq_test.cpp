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

// Takes everything left in a global queue (test only: nothing else runs).
std::vector<g*> drain(weft::detail::gqueue& q) {
  std::vector<g*> out;
  std::lock_guard lk(weft::detail::sched.lock);
  while (g* gp = q.head) {
    q.head = gp->schedlink;
    out.push_back(gp);
  }
  q.tail = nullptr;
  q.size = 0;
  return out;
}

// The test's Gs have no closure, so none became a record: each entry is a G.
std::vector<g*> drain(weft::detail::fresh_fifo& q) {
  std::lock_guard lk(weft::detail::sched.lock);
  std::vector<g*> out;
  while (q.size.load() > 0) {
    weft::detail::fresh_entry e = q.take();
    EXPECT_EQ(e.ops, nullptr);
    out.push_back(e.gp);
  }
  return out;
}

// Both global queues: Gs that ran, then Gs that never ran.
std::vector<g*> drain_global() {
  std::vector<g*> out = drain(weft::detail::sched.runq);
  for (g* gp : drain(weft::detail::sched.freshq)) out.push_back(gp);
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

// A thief may take a running P's runnext only if the P switched to no G
// during a ~3 us wait: then the G that readied it runs on, and the P is
// stuck. A pair of goroutines that hand runnext to each other every
// ~100 ns (a channel ping-pong) switch many times in that wait, without
// starting a new time slice (schedtick): a thief that looked at the
// slices split such pairs across threads. The hook plays the owner.
std::vector<g> the_pair(2);
void pair_switches(p* victim) {
  g* next = victim->runnext.load() == &the_pair[0] ? &the_pair[1] : &the_pair[0];
  victim->switches.store(victim->switches.load() + 1);  // to runnext's G, which readies the other
  victim->runnext.store(next);
}
void owner_runs_on(p*) {}

TEST(Runq, ARunningPsRunnextIsLeftToItWhileItSwitches) {
  auto victim = std::make_unique<p>(), thief = std::make_unique<p>();
  weft::detail::m owner_m;
  victim->owner.store(&owner_m);
  victim->runnext.store(&the_pair[0]);
  weft::detail::runnext_wait_hook.store(pair_switches);
  EXPECT_EQ(weft::detail::runq_steal(thief.get(), victim.get(), true), nullptr) << "the pair was split";
  EXPECT_NE(victim->runnext.load(), nullptr);
  weft::detail::runnext_wait_hook.store(owner_runs_on);
  EXPECT_NE(weft::detail::runq_steal(thief.get(), victim.get(), true), nullptr) << "a stuck P kept its runnext";
  EXPECT_EQ(victim->runnext.load(), nullptr);
  weft::detail::runnext_wait_hook.store(nullptr);
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

// An overflowing ring sends Gs that never ran to the fresh queue, the others
// to the run queue; refilling takes the run queue first.
TEST(Runq, OverflowSeparatesUnstartedGsAndRefillPrefersStartedOnes) {
  weft::detail::sched.procs = 1;
  auto pp = std::make_unique<p>();
  std::vector<g> gs(weft::detail::runq_size + 1);
  for (std::size_t i = 0; i < gs.size(); ++i) gs[i].ever_ran = i % 2 == 0;
  for (auto& x : gs) weft::detail::runq_put(pp.get(), &x, false);
  std::size_t started = static_cast<std::size_t>(weft::detail::sched.runq.size.load());
  std::size_t fresh = static_cast<std::size_t>(weft::detail::sched.freshq.size.load());
  EXPECT_EQ(started + fresh, weft::detail::runq_size / 2 + 1);
  EXPECT_GT(started, 0u);
  EXPECT_GT(fresh, 0u);
  while (weft::detail::runq_get(pp.get())) {}  // empty the ring
  {
    std::lock_guard lk(weft::detail::sched.lock);
    for (std::size_t i = 0; i < started; ++i) {
      g* gp = weft::detail::globrunq_get(pp.get(), 1);
      ASSERT_NE(gp, nullptr);
      EXPECT_TRUE(gp->ever_ran);
    }
    g* gp = weft::detail::globrunq_get(pp.get(), 1);  // the run queue is empty now
    ASSERT_NE(gp, nullptr);
    EXPECT_FALSE(gp->ever_ran);
    g* first_fresh = weft::detail::globrunq_get(pp.get(), 1, true);
    ASSERT_NE(first_fresh, nullptr);
    EXPECT_FALSE(first_fresh->ever_ran);
  }
  for (g* gp : drain(weft::detail::sched.runq)) EXPECT_TRUE(gp->ever_ran);
  for (g* gp : drain(weft::detail::sched.freshq)) EXPECT_FALSE(gp->ever_ran);
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
