// Goroutines that never ran, kept as records in the global queue
// (src/runtime/freshq.hpp): the queue alone (order across chunks, records
// and Gs mixed, a record made a G again), and in the scheduler (a burst of
// spawns holds few Gs, every goroutine runs once with its own closure and
// id, dumps list the queued ones).
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <memory>
#include <mutex>
#include <new>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "runtime/freshq.hpp"
#include "runtime/gslab.hpp"
#include "runtime/runtime.hpp"
#include "weft_test_util.hpp"

namespace {

using weft::detail::fresh_entry;
using weft::detail::fresh_fifo;
using weft::detail::g;
using weft::detail::p;

// A closure of plain bytes, as weft::go makes for [i, out] { ... }.
struct plain_body {
  int i;
  int* out;
  static void invoke(void* self) {
    auto* b = static_cast<plain_body*>(self);
    *b->out = b->i;
  }
  static void destroy(void*) noexcept {}
};
constexpr weft::detail::closure_ops plain_ops{&plain_body::invoke, &plain_body::destroy, sizeof(plain_body), true};
// The same bytes, but declared as needing a destructor.
constexpr weft::detail::closure_ops owning_ops{&plain_body::invoke, &plain_body::destroy, sizeof(plain_body), false};

// A G as g_alloc and g_start leave a queued one.
void make_fresh(g& gp, const weft::detail::closure_ops* ops, int i, int* out) {
  gp.stack_request = weft::detail::default_stack_class();
  gp.closure = gp.inline_buf;
  ::new (gp.inline_buf) plain_body{i, out};
  gp.ops = ops;
  gp.id = static_cast<weft::goroutine_id>(1000 + i);
  gp.parent_id.store(7);
  gp.status.store(weft::detail::g_runnable);
}

TEST(FreshQueue, DefaultStackClassIsTheClassOfTheDefaultSize) {
  EXPECT_EQ(weft::detail::default_stack_class(), weft::detail::stack_class_for(0));
}

// Across several chunks (the first holds about a thousand entries), every
// third G stays a G; the rest become records and come out in order, as
// records, with their closures intact.
TEST(FreshQueue, KeepsOrderAcrossChunksWithRecordsAndGsMixed) {
  const int n = 5000;
  std::vector<g> gs(n);
  std::vector<int> out(n, -1);
  fresh_fifo q;
  {
    std::lock_guard lk(weft::detail::sched.lock);  // the queue's lock, as in the scheduler
    for (int i = 0; i < n; ++i) {
      make_fresh(gs[i], i % 3 == 0 ? &owning_ops : &plain_ops, i, &out[i]);
      EXPECT_EQ(q.put_or_record(&gs[i]), i % 3 != 0) << i;
    }
    EXPECT_EQ(q.size.load(), n);
    for (int i = 0; i < n; ++i) {
      fresh_entry e = q.take();
      if (i % 3 == 0) {
        ASSERT_EQ(e.ops, nullptr) << i;
        EXPECT_EQ(e.gp, &gs[i]);
      } else {
        ASSERT_EQ(e.ops, &plain_ops) << i;
        EXPECT_EQ(e.id, 1000u + static_cast<unsigned>(i));
        EXPECT_EQ(e.parent_id, 7u);
        e.ops->invoke(e.closure);
        EXPECT_EQ(out[i], i);
      }
    }
    EXPECT_EQ(q.size.load(), 0);
    // Emptied, it fills again (from a kept chunk) in order.
    for (int i = 1; i < 4; ++i) {
      make_fresh(gs[i], &plain_ops, i, &out[i]);
      EXPECT_TRUE(q.put_or_record(&gs[i]));
    }
    for (int i = 1; i < 4; ++i) EXPECT_EQ(q.take().id, 1000u + static_cast<unsigned>(i));
    q.clear();
  }
}

// What a record cannot carry keeps a G a G.
TEST(FreshQueue, OnlyPlainInlineUnnamedDefaultGsBecomeRecords) {
  int out = 0;
  g plain, owning, big_stack, ran, homed;
  make_fresh(plain, &plain_ops, 1, &out);
  make_fresh(owning, &owning_ops, 2, &out);
  make_fresh(big_stack, &plain_ops, 3, &out);
  big_stack.stack_request = static_cast<std::uint8_t>(weft::detail::default_stack_class() + 1);
  make_fresh(ran, &plain_ops, 4, &out);
  ran.ever_ran = true;
  make_fresh(homed, &plain_ops, 5, &out);
  homed.home = reinterpret_cast<weft::detail::m*>(&out);  // any non-null M
  EXPECT_TRUE(weft::detail::can_record(&plain));
  EXPECT_FALSE(weft::detail::can_record(&owning));
  EXPECT_FALSE(weft::detail::can_record(&big_stack));
  EXPECT_FALSE(weft::detail::can_record(&ran));
  EXPECT_FALSE(weft::detail::can_record(&homed));
}

// A record taken is a G again, from the P's free list, with the record's
// closure, id and parent.
TEST(FreshQueue, MaterializeGivesARunnableGWithTheRecordsFields) {
  int out = -1;
  g gp;
  make_fresh(gp, &plain_ops, 42, &out);
  fresh_fifo q;
  auto pp = std::make_unique<p>();
  std::lock_guard lk(weft::detail::sched.lock);
  ASSERT_TRUE(q.put_or_record(&gp));
  g* made = weft::detail::materialize(pp.get(), q.take());
  ASSERT_NE(made, nullptr);
  EXPECT_NE(made, &gp);
  EXPECT_EQ(made->id, 1042u);
  EXPECT_EQ(made->parent_id.load(), 7u);
  EXPECT_EQ(made->status.load(), weft::detail::g_runnable);
  EXPECT_EQ(made->stack_request, weft::detail::default_stack_class());
  ASSERT_EQ(made->ops, &plain_ops);
  ASSERT_EQ(made->closure, made->inline_buf);
  made->ops->invoke(made->closure);
  EXPECT_EQ(out, 42);
  made->ops = nullptr;
  weft::detail::g_put(pp.get(), made);
  weft::detail::g_flush(pp.get());
  q.clear();
}

// Gs that are not free (queued, running or parked) right now.
int gs_in_use() {
  int n = 0;
  weft::detail::for_each_g(
      [](g* gp, void* arg) {
        if (!gp->is_g0 && gp->status.load() != weft::detail::g_unused && gp->status.load() != weft::detail::g_dead)
          ++*static_cast<int*>(arg);
      },
      &n);
  return n;
}

// procs 1: main queues 100,000 goroutines before any runs. They are
// records, not Gs: a few hundred Gs are in use (the ring, runnext, main),
// not 100,000. Then each runs exactly once, with its own closure and a
// distinct id.
TEST(FreshQueue, QueuedSpawnsHoldFewGsAndEachRunsOnce) {
  const int n = weft_test::scaled(100000);
  std::vector<std::atomic<int>> runs(n);
  std::vector<weft::goroutine_id> ids(n);
  int in_use = 0;
  weft::run(
      [&] {
        weft::wait_group wg;
        wg.add(n);
        for (int i = 0; i < n; ++i)
          weft::go([&runs, &ids, &wg, i] {
            runs[i].fetch_add(1);
            ids[i] = weft::this_goroutine::get_id();
            wg.done();
          });
        in_use = gs_in_use();
        wg.wait();
      },
      weft_test::procs_opt(1));
  EXPECT_LT(in_use, 1000) << "queued goroutines held a G each";
  for (int i = 0; i < n; ++i) ASSERT_EQ(runs[i].load(), 1) << i;
  std::set<weft::goroutine_id> distinct(ids.begin(), ids.end());
  EXPECT_EQ(distinct.size(), static_cast<std::size_t>(n));
  EXPECT_EQ(distinct.count(0), 0u);
}

// Once a burst's records have run, its drained chunks are freed (by
// sysmon, outside the scheduler's lock) but the last one, kept empty in
// the queue, and one spare: the memory of a million queued goroutines does
// not stay committed after they ran.
TEST(FreshQueue, DrainedChunksAreFreedAfterTheBurst) {
  const int n = 120000;  // the first chunk and three of 2 MiB
  std::size_t held_during = 0, held_after = 0;
  weft::run(
      [&] {
        weft::wait_group wg;
        wg.add(n);
        for (int i = 0; i < n; ++i) weft::go([&wg] { wg.done(); });
        {
          std::lock_guard lk(weft::detail::sched.lock);
          held_during = weft::detail::sched.freshq.chunks_held();
        }
        wg.wait();
        for (int i = 0; i < 200; ++i) {
          {
            std::lock_guard lk(weft::detail::sched.lock);
            held_after = weft::detail::sched.freshq.chunks_held();
          }
          if (held_after <= 2) break;
          weft::this_goroutine::sleep_for(std::chrono::milliseconds(10));
        }
      },
      weft_test::procs_opt(1));
  EXPECT_GE(held_during, 4u);
  EXPECT_LE(held_after, 2u);
}

// Closures that must stay in a G (a std::string has a destructor) and
// plain ones, interleaved in one burst at every procs: each runs once with
// its own value.
TEST(FreshQueue, MixedClosuresRunOnceAtEveryProcs) {
  for (int procs : weft_test::all_procs()) {
    const int n = weft_test::scaled(40000);
    std::vector<std::atomic<int>> runs(n);
    std::atomic<int> bad{0};
    weft::run(
        [&] {
          weft::wait_group wg;
          wg.add(n);
          for (int i = 0; i < n; ++i) {
            if (i % 2 == 0) {
              weft::go([&runs, &wg, i] {
                runs[i].fetch_add(1);
                wg.done();
              });
            } else {
              weft::go([&runs, &wg, &bad, i, s = std::string(40, 'a') + std::to_string(i)] {
                if (s != std::string(40, 'a') + std::to_string(i)) bad.fetch_add(1);
                runs[i].fetch_add(1);
                wg.done();
              });
            }
          }
          wg.wait();
        },
        weft_test::procs_opt(procs));
    for (int i = 0; i < n; ++i) ASSERT_EQ(runs[i].load(), 1) << "procs " << procs << ", goroutine " << i;
    EXPECT_EQ(bad.load(), 0) << "procs " << procs;
  }
}

// A dump taken while goroutines wait as records lists each of them, with
// where and by whom it was created, as it lists a queued G.
TEST(FreshQueue, DumpListsGoroutinesWaitingAsRecords) {
  const int n = 2000;
  std::string dump;
  weft::run(
      [&] {
        weft::wait_group wg;
        wg.add(n);
        for (int i = 0; i < n; ++i) weft::go([&wg] { wg.done(); });
        std::ostringstream out;
        weft::dump_goroutines(out);
        dump = out.str();
        wg.wait();
      },
      weft_test::procs_opt(1));
  std::size_t listed = 0;
  for (std::size_t at = dump.find("[runnable]:\ncreated by "); at != std::string::npos;
       at = dump.find("[runnable]:\ncreated by ", at + 1))
    ++listed;
  EXPECT_EQ(listed, static_cast<std::size_t>(n)) << dump.substr(0, 2000);
  EXPECT_NE(dump.find("in goroutine 1\n"), std::string::npos);
  EXPECT_NE(dump.find("freshq_test.cpp"), std::string::npos);
}

}  // namespace
