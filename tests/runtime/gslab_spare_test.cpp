// tests/runtime/gslab_spare_test.cpp: G chunks committed ahead
// (src/runtime/gslab_spare.cpp): each comes resident and zeroed, the next is
// made on another thread while the first is used, and a forked child, which
// has no maker thread, gets chunks and a maker of its own.
#include <gtest/gtest.h>

#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstddef>
#include <thread>
#include <vector>

#include "platform/memory.hpp"
#include "runtime/gslab_spare.hpp"

namespace {

using namespace std::chrono_literals;
using weft::detail::gslab_spare_bytes;

std::size_t resident_pages(void* mem) {
  std::vector<unsigned char> in(gslab_spare_bytes / 4096);
  if (::mincore(mem, gslab_spare_bytes, in.data()) != 0) return 0;
  std::size_t n = 0;
  for (unsigned char c : in) n += c & 1;
  return n;
}

bool all_zero(const void* mem) {
  auto* b = static_cast<const unsigned char*>(mem);
  for (std::size_t i = 0; i < gslab_spare_bytes; ++i)
    if (b[i] != 0) return false;
  return true;
}

bool spare_ready_within(std::chrono::milliseconds bound) {
  auto until = std::chrono::steady_clock::now() + bound;
  while (!weft::detail::gslab_spare_ready()) {
    if (std::chrono::steady_clock::now() > until) return false;
    std::this_thread::sleep_for(1ms);
  }
  return true;
}

TEST(GslabSpare, AChunkComesResidentAndZeroedBeforeAnyoneTouchesIt) {
  void* mem = weft::detail::gslab_take_spare();
  ASSERT_NE(mem, nullptr);
  EXPECT_EQ(resident_pages(mem), gslab_spare_bytes / 4096);
  EXPECT_TRUE(all_zero(mem));
  weft::detail::os::mem_unmap(mem, gslab_spare_bytes);
}

TEST(GslabSpare, TheNextChunkIsMadeAheadAndTheNextTakeGetsIt) {
  void* first = weft::detail::gslab_take_spare();
  ASSERT_NE(first, nullptr);
  ASSERT_TRUE(spare_ready_within(10s)) << "no spare made after a take";
  void* second = weft::detail::gslab_take_spare();
  ASSERT_NE(second, nullptr);
  EXPECT_NE(second, first);
  EXPECT_EQ(resident_pages(second), gslab_spare_bytes / 4096);
  EXPECT_TRUE(all_zero(second));
  weft::detail::os::mem_unmap(first, gslab_spare_bytes);
  weft::detail::os::mem_unmap(second, gslab_spare_bytes);
}

TEST(GslabSpare, AForkedChildTakesChunksAndMakesItsOwnSpares) {
#if defined(WEFT_TSAN)
  GTEST_SKIP() << "TSan ends a child that starts a thread after a multi-threaded fork (die_after_fork)";
#endif
  void* mem = weft::detail::gslab_take_spare();  // the parent's maker runs
  ASSERT_NE(mem, nullptr);
  ASSERT_TRUE(spare_ready_within(10s));
  pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    // The parent's spare came with the fork; the second take needs a maker
    // in this process.
    void* a = weft::detail::gslab_take_spare();
    void* b = weft::detail::gslab_take_spare();
    bool ok = a != nullptr && b != nullptr && a != b && all_zero(b) && spare_ready_within(10s);
    ::_exit(ok ? 0 : 1);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "status " << status;
  weft::detail::os::mem_unmap(mem, gslab_spare_bytes);
}

}  // namespace
