// tests/tools/stk_group_test.cpp: weft stk's grouping of a goroutine dump
// (src/trace/dump_group.hpp) on dumps written here, in dump.cpp's format:
// what makes two goroutines one group (state and stack, not the wait's
// length or the creator), the order, the "#" line's limit, and text that
// is not a goroutine block.
#include <gtest/gtest.h>

#include <string>

#include "trace/dump_group.hpp"

namespace {

using weft::detail::trace::dump_is_grouped;
using weft::detail::trace::fit_dump;
using weft::detail::trace::group_goroutines;

std::string parked(int id, const std::string& name, const std::string& wait, int parent) {
  std::string s = "goroutine " + std::to_string(id) + " \"" + name + "\" [chan receive" + wait + "]:\n";
  s += "f(weft::chan<int>)\n\t/src/f.cpp:17 +0x14\n";
  s += "created by g() in goroutine " + std::to_string(parent) + "\n\t/src/g.cpp:3\n\n";
  return s;
}

TEST(StkGroup, SameStackAndStateIsOneGroupWhateverTheWaitAndTheCreator) {
  std::string dump = "goroutine 1 \"main\" [sleep, 2 s]:\nmain()\n\t/src/main.cpp:9 +0x1\n\n";
  dump += parked(5, "w-0", ", 3 s", 1);
  dump += parked(6, "w-1", ", 12 ms", 1);
  dump += parked(7, "w-2", "", 4);
  dump += parked(8, "w-3", ", 2 minutes", 1);
  const std::string out = group_goroutines(dump);
  std::string want = "4 goroutines: [chan receive]\n";
  want += "# 5 \"w-0\", 6 \"w-1\", 7 \"w-2\", 8 \"w-3\"\n";
  want += "f(weft::chan<int>)\n\t/src/f.cpp:17 +0x14\ncreated by g()\n\t/src/g.cpp:3\n\n";
  want += "1 goroutine: [sleep, 2 s]\n# 1 \"main\"\nmain()\n\t/src/main.cpp:9 +0x1\n\n";
  EXPECT_EQ(out, want);
}

TEST(StkGroup, ADifferentStateOrFrameIsAnotherGroup) {
  std::string dump = parked(5, "a", "", 1);
  dump += "goroutine 6 \"b\" [select]:\nf(weft::chan<int>)\n\t/src/f.cpp:17 +0x14\n\n";
  dump += "goroutine 7 \"c\" [chan receive]:\nh()\n\t/src/f.cpp:30 +0x1\n\n";
  const std::string out = group_goroutines(dump);
  EXPECT_EQ(out.find("goroutines:"), std::string::npos) << out;
  EXPECT_NE(out.find("1 goroutine: [select]\n# 6 \"b\"\n"), std::string::npos) << out;
  // A group of one keeps its creator.
  EXPECT_NE(out.find("created by g() in goroutine 1\n"), std::string::npos) << out;
}

TEST(StkGroup, TheHashLineNamesTenAndCountsTheRest) {
  std::string dump;
  for (int i = 0; i < 13; ++i) dump += parked(10 + i, "w", ", 1 s", 1);
  const std::string out = group_goroutines(dump);
  EXPECT_EQ(out.rfind("13 goroutines: [chan receive]\n", 0), 0u) << out;
  EXPECT_NE(out.find("19 \"w\", ... (3 more)\n"), std::string::npos) << out;
  EXPECT_EQ(out.find("20 \"w\""), std::string::npos) << out;
}

TEST(StkGroup, TextOutsideBlocksIsKeptFirstAndNamesWithBracketsParse) {
  std::string dump = "a note\n\n";
  dump += "goroutine 3 \"odd [name]\" [IO wait]:\nread()\n\t?:0 pc=0x1\n\n";
  dump += "goroutine 4 [IO wait]:\nread()\n\t?:0 pc=0x1\n\n";
  const std::string out = group_goroutines(dump);
  EXPECT_EQ(out.rfind("a note\n\n2 goroutines: [IO wait]\n# 3 \"odd [name]\", 4\n", 0), 0u) << out;
  EXPECT_EQ(group_goroutines(""), "");
}

// The stub's answer to DUMP_GOROUTINES must fit one protocol frame: a dump
// that does not is grouped, and says so on its first line.
TEST(StkGroup, FitDumpKeepsASmallDumpAndGroupsALargeOneSayingSo) {
  std::string dump;
  for (int i = 0; i < 1000; ++i) dump += parked(10 + i, "w", ", 1 s", 1);
  EXPECT_EQ(fit_dump(dump, dump.size()), dump);
  EXPECT_FALSE(dump_is_grouped(dump));
  const std::string out = fit_dump(dump, 4096);
  EXPECT_LE(out.size(), 4096u);
  EXPECT_EQ(out.rfind("weft: the dump of 1000 goroutines is " + std::to_string(dump.size()) + " bytes, over the ", 0),
            0u)
      << out;
  EXPECT_NE(out.find("\n1000 goroutines: [chan receive]\n"), std::string::npos) << out;
  EXPECT_TRUE(dump_is_grouped(out)) << out;
  // Nothing is left out: the groups fit.
  EXPECT_EQ(out.find("left out"), std::string::npos) << out;
}

TEST(StkGroup, FitDumpCutsAtAGroupWhenEvenTheGroupsDoNotFitAndCountsTheRest) {
  std::string dump;
  // 300 distinct stacks: 300 groups of one.
  for (int i = 0; i < 300; ++i)
    dump += "goroutine " + std::to_string(i + 1) + " [select]:\nf" + std::to_string(i) + "()\n\t/src/f.cpp:" +
            std::to_string(i) + " +0x1\n\n";
  const std::string out = fit_dump(dump, 2048);
  EXPECT_LE(out.size(), 2048u);
  EXPECT_TRUE(dump_is_grouped(out)) << out;
  std::size_t shown = 0;
  for (std::size_t at = out.find("1 goroutine: ["); at != std::string::npos; at = out.find("1 goroutine: [", at + 1))
    ++shown;
  EXPECT_GT(shown, 0u);
  EXPECT_NE(out.find("\nweft: " + std::to_string(300 - shown) + " more groups left out (over the frame limit)\n"),
            std::string::npos)
      << out;
  EXPECT_EQ(out.back(), '\n');
}

}  // namespace
