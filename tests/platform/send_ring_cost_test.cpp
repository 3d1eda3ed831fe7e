// platform/send_ring_cost: the measurement that decides whether writes are
// batched (runtime/send_batch.cpp). Where io_uring works it times both
// kinds of send on a loopback connection of its own and leaves nothing
// open; where it does not, it says so.
#include <gtest/gtest.h>

#include <dirent.h>

#include "platform/send_ring.hpp"
#include "platform/send_ring_cost.hpp"

namespace {

int open_fds() {
  int n = 0;
  if (DIR* d = ::opendir("/proc/self/fd")) {
    while (::readdir(d) != nullptr) ++n;
    ::closedir(d);
  }
  return n;
}

TEST(SendRingCost, TimesBothKindsOfSendAndClosesWhatItOpened) {
  int err = 0;
  weft::detail::os::send_ring* probe = weft::detail::os::send_ring_new(4, &err);
  const bool have_ring = probe != nullptr;
  weft::detail::os::send_ring_free(probe);
  const int fds_before = open_fds();
  weft::detail::os::send_costs c;
  const bool measured = weft::detail::os::measure_send_costs(4, &c);
  EXPECT_EQ(open_fds(), fds_before);
  if (!have_ring) {
    EXPECT_FALSE(measured) << "no io_uring here, yet a ring's send was timed";
    GTEST_SKIP() << "io_uring is not available here (errno " << err << ")";
  }
  ASSERT_TRUE(measured);
  // A loopback send is at least a system call's worth and well under a
  // millisecond, either way.
  EXPECT_GT(c.direct_ns, 20.0);
  EXPECT_GT(c.ring_ns, 5.0);
  EXPECT_LT(c.direct_ns, 1e6);
  EXPECT_LT(c.ring_ns, 1e6);
}

}  // namespace
