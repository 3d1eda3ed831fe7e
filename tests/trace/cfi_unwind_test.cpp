// tests/trace/cfi_unwind_test.cpp: the CFI walk of parked goroutines
// (src/trace/cfi_unwind.hpp) gives libunwind's pcs, up to g_entry, for
// goroutines parked in many ways; what it does not model goes back to
// libunwind (-1); and a dump of goroutines parked at two places groups
// into exactly two groups with their counts.
#include "trace/cfi_unwind.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstddef>
#include <mutex>
#include <sstream>
#include <string>
#include <vector>

#include "runtime/gslab.hpp"
#include "trace/dump_group.hpp"
#include "trace/stacktrace.hpp"
#include <weft/weft.hpp>

namespace {

using namespace std::chrono_literals;
namespace trace = weft::detail::trace;

bool is_entry(void* pc) {
  return trace::symbolize(pc).function.rfind("weft::detail::(anonymous namespace)::g_entry", 0) == 0;
}

[[gnu::noinline]] void parked_in_recv(weft::chan<int> c) {
  c.recv();
  asm volatile("");
}

[[gnu::noinline]] int recurse_then_park(int depth, weft::chan<int> c) {
  if (depth == 0) {
    c.recv();
    return 0;
  }
  int r = recurse_then_park(depth - 1, c);
  asm volatile("");
  return r + 1;
}

[[gnu::noinline]] void parked_in_lock(weft::mutex* mu) {
  std::lock_guard lk(*mu);
  asm volatile("");
}

[[gnu::noinline]] void parked_in_select(weft::chan<int> a, weft::chan<std::string> b) {
  weft::select(weft::on_recv(a, [](std::optional<int>) {}), weft::on_recv(b, [](std::optional<std::string>) {}));
}

[[gnu::noinline]] void parked_in_sleep() {
  weft::this_goroutine::sleep_for(300ms);  // still asleep when walked
  asm volatile("");
}

struct compared {
  int fast = 0;  // stacks the CFI walk did
  int fallback = 0;  // stacks it gave to libunwind
  std::vector<std::string> mismatches;
};

struct scan_ctx {
  compared* out;
  trace::step_rules rules;
};

// Holds gp parked as the dump does (scan_bit), walks it both ways.
void compare_one(weft::detail::g* gp, void* arg) {
  auto* c = static_cast<scan_ctx*>(arg);
  std::uint32_t expected = weft::detail::g_waiting;
  if (gp->is_g0 || gp->ctx == nullptr ||
      !gp->status.compare_exchange_strong(expected, weft::detail::g_waiting | weft::detail::scan_bit))
    return;
  void* lib[64] = {};
  void* fast[64] = {};
  const int nl = trace::capture_fcontext(gp->ctx, lib, 64);
  const int nf = trace::unwind_parked(gp->ctx, gp->stk.lo, gp->stk.hi, fast, 64, &c->rules, is_entry);
  gp->status.fetch_and(~weft::detail::scan_bit);
  if (nf < 0) {
    ++c->out->fallback;
    return;
  }
  ++c->out->fast;
  bool same = nf <= nl && (nf == 64 || is_entry(fast[nf - 1]));
  for (int i = 0; same && i < nf; ++i) same = fast[i] == lib[i];
  if (!same) {
    std::ostringstream text;
    text << "goroutine " << gp->id << ": libunwind\n";
    trace::print_trace(text, lib, nl);
    text << "CFI walk\n";
    trace::print_trace(text, fast, nf);
    c->out->mismatches.push_back(text.str());
  }
}

TEST(CfiUnwind, GivesLibunwindsPcsForGoroutinesParkedInManyWays) {
  compared result;
  weft::run([&] {
    weft::chan<int> c;
    weft::chan<std::string> s;
    weft::mutex mu;
    mu.lock();
    weft::wait_group wg;
    auto start = [&](auto f) {
      wg.add(1);
      weft::go([f, &wg]() mutable {
        f();
        wg.done();
      });
    };
    for (int i = 0; i < 20; ++i) start([c] { parked_in_recv(c); });
    for (int d = 0; d < 70; d += 7) start([c, d] { recurse_then_park(d, c); });
    for (int i = 0; i < 5; ++i) start([&mu] { parked_in_lock(&mu); });
    for (int i = 0; i < 5; ++i) start([c, s] { parked_in_select(c, s); });
    for (int i = 0; i < 3; ++i) start([] { parked_in_sleep(); });
    // Scan until all 43 are parked (a loaded machine may take a while to
    // run them all): each scan starts afresh.
    for (auto deadline = std::chrono::steady_clock::now() + 10s;;) {
      weft::this_goroutine::sleep_for(20ms);
      result = compared{};
      scan_ctx ctx{&result, {}};
      weft::detail::for_each_g(compare_one, &ctx);
      if (result.fast + result.fallback >= 43 || std::chrono::steady_clock::now() > deadline) break;
    }
    mu.unlock();
    c.close();
    s.close();
    wg.wait();
  });
  for (const std::string& m : result.mismatches) ADD_FAILURE() << m;
  // 43 parked here, plus the runtime's own: the walk must do most of them
  // itself, or it saves nothing.
  EXPECT_GE(result.fast, 43) << result.fallback << " went to libunwind";
}

TEST(CfiUnwind, GivesAStackOutsideItsBoundsToLibunwind) {
  alignas(16) std::uint64_t buf[16] = {};
  void* pcs[8];
  trace::step_rules rules;
  // A context outside [lo, hi): not read at all.
  EXPECT_EQ(trace::unwind_parked(buf, buf + 8, buf + 16, pcs, 8, &rules, nullptr), -1);
  // Inside, but its pc has no CFI (0x10 is no code): libunwind's business.
  buf[7] = 0x10;
  EXPECT_EQ(trace::unwind_parked(buf, buf, buf + 16, pcs, 8, &rules, nullptr), -1);
}

[[gnu::noinline]] void parked_here_a(weft::chan<int> c) {
  c.recv();
  asm volatile("");
}

[[gnu::noinline]] void parked_here_b(weft::chan<int> c) {
  c.recv();
  asm volatile("");
}

std::size_t count(const std::string& text, const std::string& what) {
  std::size_t n = 0;
  for (std::size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + what.size())) ++n;
  return n;
}

TEST(CfiUnwind, GroupedDumpOfTwoPlacesHasTwoGroupsWithTheirCounts) {
  std::string grouped;
  weft::run([&] {
    weft::chan<int> c;
    weft::wait_group wg;
    for (int i = 0; i < 300; ++i) {
      wg.add(1);
      weft::go(weft::go_options{.name = "two-places"}, [c, &wg, i] {
        if (i % 3 == 0)
          parked_here_a(c);
        else
          parked_here_b(c);
        wg.done();
      });
    }
    weft::this_goroutine::sleep_for(200ms);
    std::ostringstream out;
    weft::dump_goroutines(out);
    grouped = trace::group_goroutines(out.str());
    c.close();
    wg.wait();
  });
  // Each place is one group, its count first: 100 at a, 200 at b.
  const std::size_t b = grouped.find("200 goroutines: [chan receive]\n");
  const std::size_t a = grouped.find("100 goroutines: [chan receive]\n");
  ASSERT_NE(b, std::string::npos) << grouped;
  ASSERT_NE(a, std::string::npos) << grouped;
  EXPECT_LT(b, a) << "largest group first\n" << grouped;
  const std::string group_b = grouped.substr(b, a - b);
  const std::string group_a = grouped.substr(a, grouped.find("\n\n", a) - a);
  EXPECT_EQ(count(group_b, "parked_here_b"), 1u) << group_b;
  EXPECT_EQ(count(group_b, "parked_here_a"), 0u) << group_b;
  EXPECT_EQ(count(group_a, "parked_here_a"), 1u) << group_a;
  EXPECT_EQ(count(grouped, "parked_here_"), 2u) << "exactly two groups hold them\n" << grouped;
}

}  // namespace
