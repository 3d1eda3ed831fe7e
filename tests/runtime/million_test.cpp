// A million parked goroutines on a stock kernel (vm.max_map_count = 65530,
// which one mapping per stack would exceed sixteen times over). Long: run
// with `ctest -L long` (release builds; CI runs it).
#include <gtest/gtest.h>

#include <atomic>
#include <fstream>
#include <string>

#include "testing.hpp"
#include "weft_test_util.hpp"
#include <weft/weft.hpp>

namespace {

long count_mappings() {
  std::ifstream f("/proc/self/maps");
  long n = 0;
  for (std::string line; std::getline(f, line);) ++n;
  return n;
}

TEST(Long, AMillionParkedGoroutines) {
  if (weft_test::sanitized) GTEST_SKIP() << "a million stacks under a sanitizer exceeds the CI budget";
  const int n = 1000000;
  std::atomic<int> woke{0};
  long maps_parked = 0;
  std::size_t guarded = 0, unguarded = 0;
  weft::run([&] {
    weft::chan<int> gate;
    weft::wait_group started, exited;
    started.add(n);
    exited.add(n);
    for (int i = 0; i < n; ++i) {
      weft::go([&, gate]() mutable {
        started.done();
        gate.recv();
        woke++;
        exited.done();
      });
    }
    started.wait();
    weft::this_goroutine::sleep_for(std::chrono::milliseconds(50));
    maps_parked = count_mappings();
    auto st = weft::testing::stack_stats();
    guarded = st.guarded_by_madvise + st.guarded_by_mprotect;
    unguarded = st.unguarded;
    gate.close();
    exited.wait();
  }, weft::options{.procs = 2});
  EXPECT_EQ(woke.load(), n);
  EXPECT_LT(maps_parked, 65530) << "the process needed more mappings than a stock kernel allows";
  EXPECT_GE(guarded + unguarded, std::size_t(n));
  std::printf("mappings with %d parked goroutines: %ld; stacks guarded: %zu, canary-only: %zu\n", n, maps_parked,
              guarded, unguarded);
}

}  // namespace
