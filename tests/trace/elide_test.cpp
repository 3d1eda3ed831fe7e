// tests/trace/elide_test.cpp: print_trace sums up runs of identical frames
// (recursion through one call site) in one line, "... 60 more frames of
// f(int)", in any trace and in a stack overflow's report; short runs and
// distinct frames print in full.
#include "trace/stacktrace.hpp"

#include <gtest/gtest.h>

#include <sstream>
#include <string>
#include <vector>

#include "weft_test_util.hpp"
#include <weft/weft.hpp>

namespace trace = weft::detail::trace;

namespace {

constexpr int kMax = 64;

// Kept as written: no inlining, and (g++) no clones specialized for a
// constant depth, which would give the frames other pcs and names.
#if defined(__clang__)
#define WEFT_TEST_AS_WRITTEN [[gnu::noinline]]
#else
#define WEFT_TEST_AS_WRITTEN [[gnu::noipa]]
#endif

// Recurses depth times through one call site, then captures the stack.
WEFT_TEST_AS_WRITTEN int weft_test_recurse(int depth, void** pcs, int max) {
  // Two call sites, so the innermost frame has a pc of its own.
  int n = depth == 0 ? trace::capture_here(pcs, max, 0) : weft_test_recurse(depth - 1, pcs, max);
  asm volatile("" : "+r"(n)::"memory");  // not tail calls: every level keeps its frame
  return n;
}

const std::string kFrame = "weft_test_recurse(int, void**, int)\n\t";
const std::string kElided = " more frames of (anonymous namespace)::weft_test_recurse(int, void**, int)\n";

int count(const std::string& text, const std::string& part) {
  int n = 0;
  for (std::size_t at = text.find(part); at != std::string::npos; at = text.find(part, at + 1)) ++n;
  return n;
}

std::string printed(void* const* pcs, int n) {
  std::ostringstream out;
  trace::print_trace(out, pcs, n);
  return out.str();
}

TEST(Elide, DeepRecursionPrintsFourFramesAndOneLine) {
  void* pcs[kMax];
  const int n = weft_test_recurse(100, pcs, kMax);
  ASSERT_EQ(n, kMax);
  const std::string text = printed(pcs, n);
  // Frame 0 is the capture's call site; the 63 others share one pc: three
  // of them print, the line stands for 60.
  EXPECT_EQ(count(text, kFrame), 4) << text;
  EXPECT_EQ(count(text, "... 60" + kElided), 1) << text;
  EXPECT_EQ(count(text, "\n... "), 1) << text;
  // The elision line is a frame's first line, not an indented file line.
  EXPECT_EQ(text.find("\t..."), std::string::npos) << text;
}

TEST(Elide, ShortRunsPrintInFull) {
  void* pcs[kMax];
  // Four identical frames: a line for one frame would save nothing.
  int n = weft_test_recurse(4, pcs, kMax);
  std::string text = printed(pcs, n);
  EXPECT_EQ(count(text, kFrame), 5) << text;
  EXPECT_EQ(count(text, kElided), 0) << text;
  // Five: three print, the line stands for two.
  n = weft_test_recurse(5, pcs, kMax);
  text = printed(pcs, n);
  EXPECT_EQ(count(text, kFrame), 4) << text;
  EXPECT_EQ(count(text, "... 2" + kElided), 1) << text;
  // The frames after the run (this test body) still print.
  EXPECT_NE(text.find("ShortRunsPrintInFull"), std::string::npos) << text;
}

TEST(Elide, EachRunIsSummedUpOnItsOwn) {
  void* here[kMax];
  ASSERT_GE(weft_test_recurse(1, here, kMax), 2);
  void* const outer = here[0];  // the capture's call site
  void* const inner = here[1];  // the recursive call site
  // outer, inner x7, outer, inner x7, outer
  std::vector<void*> pcs{outer};
  for (int round = 0; round < 2; ++round) {
    pcs.insert(pcs.end(), 7, inner);
    pcs.push_back(outer);
  }
  const std::string text = printed(pcs.data(), static_cast<int>(pcs.size()));
  EXPECT_EQ(count(text, "... 4" + kElided), 2) << text;
  EXPECT_EQ(count(text, kFrame), 3 + 3 + 3) << text;
}

// Recurses until the stack runs out (the frame is big enough to get there
// fast, small enough not to jump the guard page).
WEFT_TEST_AS_WRITTEN int overflow(int depth) {
  volatile char pad[512];
  pad[0] = static_cast<char>(depth);
  return depth == 0 ? pad[0] : overflow(depth - 1) + pad[0];
}

TEST(Elide, StackOverflowReportSumsUpTheRecursion) {
  if (weft_test::sanitized) GTEST_SKIP() << "ASan/TSan report stack overflow themselves";
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_EXIT(
      weft::run([] {
        weft::wait_group wg;
        wg.add(1);
        weft::go(weft::go_options{.stack_size = 64 * 1024, .name = "deep"}, [&] {
          overflow(1 << 20);
          wg.done();
        });
        wg.wait();
      }, weft::options{.procs = 1}),
      ::testing::ExitedWithCode(2),
      "overflowed its 65536-byte stack.*overflow\\(int\\)\n\t.*\n\\.\\.\\. [0-9]+ more frames of "
      "[^\n]*overflow\\(int\\)\n");
}

}  // namespace
