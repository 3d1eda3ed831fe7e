// tests/trace/dump_many_test.cpp: a dump of many goroutines shows every one
// with its function names, and asks libdw about each distinct pc once, not
// once per frame per goroutine (issue 16: `weft stk` of 100,000 goroutines;
// what that costs in time is measured in bench/run-tools-cost, not here).
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <sstream>
#include <string>

#include "trace/stacktrace.hpp"
#include <weft/weft.hpp>

namespace {

[[gnu::noinline]] void many_parked_marker(weft::chan<int> c) {
  c.recv();
  asm volatile("");  // keeps this frame on the stack
}

std::size_t count(const std::string& text, const std::string& what) {
  std::size_t n = 0;
  for (std::size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + what.size())) ++n;
  return n;
}

TEST(DumpMany, ShowsTwentyThousandParkedGoroutinesAndSymbolizesEachPcOnce) {
  constexpr int n = 20'000;
  std::string text;
  std::uint64_t lookups = 0;
  weft::run([&] {
    weft::chan<int> c;
    weft::wait_group wg;
    std::atomic<int> started{0};
    for (int i = 0; i < n; ++i) {
      wg.add(1);
      weft::go(weft::go_options{.name = "many"}, [c, &wg, &started]() mutable {
        started.fetch_add(1);
        many_parked_marker(c);
        wg.done();
      });
    }
    // All started, and a moment for the last few to park: the first dump is
    // the one measured (a later one could find every pc cached already).
    while (started.load() < n) weft::this_goroutine::sleep_for(std::chrono::milliseconds(5));
    weft::this_goroutine::sleep_for(std::chrono::milliseconds(200));
    const std::uint64_t before = weft::detail::trace::symbolizer_lookups();
    std::ostringstream out;
    weft::dump_goroutines(out);
    lookups = weft::detail::trace::symbolizer_lookups() - before;
    text = out.str();
    c.close();
    wg.wait();
  });
  EXPECT_EQ(count(text, "\"many\" [chan receive"), static_cast<std::size_t>(n)) << text.substr(0, 4000);
  EXPECT_EQ(count(text, "many_parked_marker"), static_cast<std::size_t>(n)) << text.substr(0, 4000);
  EXPECT_GE(count(text, "\ncreated by "), static_cast<std::size_t>(n)) << text.substr(0, 4000);
  // Every parked goroutine has the same few pcs: a lookup per distinct pc is
  // tens; one per frame per goroutine (the old cost) would be over 100,000.
  EXPECT_LT(lookups, 1000u) << "libdw lookups for one dump of " << n << " goroutines";
}

}  // namespace
