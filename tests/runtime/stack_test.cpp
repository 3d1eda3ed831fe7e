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

}  // namespace
