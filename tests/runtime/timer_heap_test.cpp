// A P's timer heap alone (src/runtime/timer.hpp), without a scheduler: it
// fires the due timers earliest first and each once, timer_stop removes a
// timer wherever it sits, and a heap emptied by cancellations gives its
// memory back and keeps working.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <memory>
#include <random>
#include <vector>

#include "runtime/timer.hpp"

namespace {

using weft::detail::timer;
using weft::detail::timer_heap;

struct fired_log {
  std::vector<std::int64_t> whens;
  std::vector<timer*> timers;
};

void record_fire(timer* t) {
  auto* log = static_cast<fired_log*>(t->arg);
  log->whens.push_back(t->when);
  log->timers.push_back(t);
  weft::detail::timer_fire_done(t);
}

std::unique_ptr<timer[]> make_timers(std::size_t n, fired_log* log, std::uint32_t seed) {
  std::unique_ptr<timer[]> ts(new timer[n]);
  std::mt19937 rng(seed);
  for (std::size_t i = 0; i < n; ++i) {
    ts[i].when = static_cast<std::int64_t>(rng() % 1'000'000);
    ts[i].fire = record_fire;
    ts[i].arg = log;
  }
  return ts;
}

// n timers with deadlines from seed, all armed on one heap.
struct armed_heap {
  armed_heap(std::size_t n, std::uint32_t seed) : ts(make_timers(n, &log, seed)) {
    for (std::size_t i = 0; i < n; ++i) h.add(&ts[i]);
  }
  fired_log log;
  std::unique_ptr<timer[]> ts;
  timer_heap h;
};

std::size_t heap_capacity(timer_heap& h) {
  weft::detail::lock_scope lk(h.lock);
  return h.items.capacity();
}

TEST(TimerHeap, FiresDueTimersEarliestFirstEachOnce) {
  constexpr std::size_t n = 10'000;
  armed_heap a(n, 1);
  auto& [log, ts, h] = a;
  EXPECT_EQ(h.size(), n);

  // Only what is due at 500,000 fires.
  int first = h.run_due(500'000);
  std::size_t due = static_cast<std::size_t>(
      std::count_if(ts.get(), ts.get() + n, [](const timer& t) { return t.when <= 500'000; }));
  EXPECT_EQ(static_cast<std::size_t>(first), due);
  EXPECT_GT(h.when0.load(), 500'000);

  EXPECT_EQ(static_cast<std::size_t>(h.run_due(INT64_MAX)), n - due);
  EXPECT_EQ(h.size(), 0u);
  EXPECT_EQ(h.when0.load(), INT64_MAX);
  EXPECT_TRUE(std::is_sorted(log.whens.begin(), log.whens.end()));
  std::sort(log.timers.begin(), log.timers.end());
  EXPECT_EQ(std::adjacent_find(log.timers.begin(), log.timers.end()), log.timers.end());
  EXPECT_EQ(log.timers.size(), n);
}

TEST(TimerHeap, RunDueFiresAtMostMax) {
  armed_heap a(100, 2);
  auto& [log, ts, h] = a;
  EXPECT_EQ(h.run_due(INT64_MAX, 7), 7);
  EXPECT_EQ(h.size(), 93u);
  std::int64_t next = *std::min_element(log.whens.begin(), log.whens.end());
  EXPECT_GE(h.when0.load(), next);
  EXPECT_EQ(h.run_due(INT64_MAX), 93);
  EXPECT_TRUE(std::is_sorted(log.whens.begin(), log.whens.end()));
}

TEST(TimerHeap, StopRemovesATimerWhereverItSits) {
  constexpr std::size_t n = 5'000;
  armed_heap a(n, 3);
  auto& [log, ts, h] = a;

  std::vector<timer*> kept;
  for (std::size_t i = 0; i < n; ++i) {
    if (i % 3 == 0) {
      EXPECT_TRUE(weft::detail::timer_stop(&ts[i]));
      EXPECT_FALSE(weft::detail::timer_stop(&ts[i])) << "a stopped timer stops once";
    } else {
      kept.push_back(&ts[i]);
    }
  }
  EXPECT_EQ(h.size(), kept.size());
  std::int64_t earliest = INT64_MAX;
  for (timer* t : kept) earliest = std::min(earliest, t->when);
  EXPECT_EQ(h.when0.load(), earliest) << "when0 follows the stops";

  EXPECT_EQ(static_cast<std::size_t>(h.run_due(INT64_MAX)), kept.size());
  EXPECT_TRUE(std::is_sorted(log.whens.begin(), log.whens.end()));
  std::sort(kept.begin(), kept.end());
  std::sort(log.timers.begin(), log.timers.end());
  EXPECT_EQ(log.timers, kept) << "exactly the timers not stopped fired";
  EXPECT_FALSE(weft::detail::timer_stop(&ts[1])) << "a fired timer is not armed";
}

TEST(TimerHeap, CancelledHeapGivesMemoryBackAndKeepsOrder) {
  constexpr std::size_t n = 8'000;
  armed_heap a(n, 4);
  auto& [log, ts, h] = a;
  EXPECT_GE(heap_capacity(h), n);

  // Stop all but every tenth: the heap falls under a quarter of its
  // capacity and shrinks.
  std::vector<timer*> kept;
  for (std::size_t i = 0; i < n; ++i) {
    if (i % 10 == 0)
      kept.push_back(&ts[i]);
    else
      EXPECT_TRUE(weft::detail::timer_stop(&ts[i]));
  }
  EXPECT_LT(heap_capacity(h), n / 2) << "memory given back";

  // The timers left can still be stopped and re-armed.
  std::mt19937 rng(5);
  for (std::size_t i = 0; i < kept.size(); i += 2) {
    ASSERT_TRUE(weft::detail::timer_stop(kept[i]));
    kept[i]->when = static_cast<std::int64_t>(rng() % 1'000'000);
    h.add(kept[i]);
  }
  for (std::size_t i = 1; i < kept.size(); i += 4) ASSERT_TRUE(weft::detail::timer_stop(kept[i]));
  std::vector<timer*> armed;
  for (std::size_t i = 0; i < kept.size(); ++i)
    if (i % 4 != 1) armed.push_back(kept[i]);

  EXPECT_EQ(static_cast<std::size_t>(h.run_due(INT64_MAX)), armed.size());
  EXPECT_TRUE(std::is_sorted(log.whens.begin(), log.whens.end()));
  std::sort(armed.begin(), armed.end());
  std::sort(log.timers.begin(), log.timers.end());
  EXPECT_EQ(log.timers, armed);
}

}  // namespace
