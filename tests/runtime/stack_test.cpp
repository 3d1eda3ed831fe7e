// tests/runtime/stack_test.cpp: goroutine stacks when things go wrong: no
// memory for a new stack, and frames too large for the stack (the overflow
// must be reported, never corrupt a neighbour).
#include <gtest/gtest.h>

#include <cerrno>
#include <chrono>

#include "testing.hpp"
#include "weft_test_util.hpp"
#include <weft/weft.hpp>

namespace {

using namespace std::chrono_literals;

class Stack : public ::testing::Test {
 protected:
  void SetUp() override { GTEST_FLAG_SET(death_test_style, "threadsafe"); }
};

// A goroutine gets its stack when it first runs, long after weft::go
// returned: no memory for it then is a fatal error that says so.
TEST_F(Stack, NoMemoryForANewStackIsAFatalErrorThatSaysSo) {
  EXPECT_EXIT(
      weft::run([] {
        // 4 MiB stacks: a size class nothing has used yet, so its first
        // stack needs a fresh slab (an mmap).
        weft::testing::inject_faults(weft::testing::fault_point::mmap, 1, ENOMEM);
        weft::go(weft::go_options{.stack_size = 4 << 20, .name = "big"}, [] {});
        weft::this_goroutine::sleep_for(5s);
      }, weft::options{.procs = 1}),
      ::testing::ExitedWithCode(2),
      "weft: fatal error: out of memory: no 4194304-byte stack for goroutine 2 \"big\"");
}

// A frame larger than a one-page guard: 8 KiB used, then 64 KiB more. Its
// lowest bytes lie below the stack and below a one-page guard, in the
// stack carved just below (the parked neighbour's): with that guard, the
// write went there silently and the program went on.
[[gnu::noinline]] int big_frame(int x) {
  volatile char buf[64 * 1024];
  buf[0] = static_cast<char>(x);
  buf[sizeof buf - 1] = 1;
  return buf[0] + buf[sizeof buf / 2];
}

[[gnu::noinline]] int then_big_frame(int x) {
  volatile char pad[8 * 1024];
  pad[0] = static_cast<char>(x);
  return big_frame(x) + pad[0];
}

TEST_F(Stack, AFrameLargerThanAGuardPageIsReportedAsOverflow) {
  if (weft_test::sanitized) GTEST_SKIP() << "ASan/TSan report stack overflow themselves";
  EXPECT_EXIT(
      weft::run([] {
        weft::chan<int> c;
        // The neighbour: parked on the stack carved just below the next one.
        weft::go(weft::go_options{.name = "neighbour"}, [c]() mutable { c.recv(); });
        weft::this_goroutine::sleep_for(10ms);
        weft::go(weft::go_options{.name = "big"}, [c]() mutable {
          int r = then_big_frame(1);
          c.send(r);
        });
        weft::this_goroutine::sleep_for(5s);
      }, weft::options{.procs = 1}),
      ::testing::ExitedWithCode(2), "goroutine 3 \"big\" overflowed its 65536-byte stack.*big_frame");
}

// Whatever the compiler does with frames: a write anywhere in the guard,
// here 48 KiB below the stack (what an unprobed frame that large does), is
// an overflow report, not a write into the stack below.
TEST_F(Stack, TheGuardIsAsLargeAsTheStack) {
  if (weft_test::sanitized) GTEST_SKIP() << "ASan/TSan report stack overflow themselves";
  weft::run([] {
    weft::go([] {
      weft::testing::stack_bounds b = weft::testing::current_stack();
      EXPECT_EQ(b.guard, std::size_t(b.hi - b.lo)) << "the default stack's guard";
    });
    weft::go(weft::go_options{.stack_size = 16 << 10}, [] {
      EXPECT_EQ(weft::testing::current_stack().guard, std::size_t(64 << 10)) << "at least 64 KiB";
    });
    weft::go(weft::go_options{.stack_size = 8 << 20}, [] {
      EXPECT_EQ(weft::testing::current_stack().guard, std::size_t(1 << 20)) << "at most 1 MiB";
    });
    weft::this_goroutine::sleep_for(20ms);
  }, weft::options{.procs = 1});
  EXPECT_EXIT(
      weft::run([] {
        weft::chan<int> c;
        weft::go([c]() mutable { c.recv(); });  // the stack below
        weft::this_goroutine::sleep_for(10ms);
        weft::go(weft::go_options{.name = "wild"}, [] {
          volatile char* below = weft::testing::current_stack().lo - (48 << 10);
          *below = 1;
        });
        weft::this_goroutine::sleep_for(5s);
      }, weft::options{.procs = 1}),
      ::testing::ExitedWithCode(2), "goroutine 3 \"wild\" overflowed its 65536-byte stack");
}

}  // namespace
