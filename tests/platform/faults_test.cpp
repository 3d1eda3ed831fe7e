// tests/platform/faults_test.cpp: the platform's fault points
// (platform/faults.hpp). An armed point fails exactly the next N calls with
// the chosen errno, or shortens them, without reaching the kernel; then the
// calls are real again; clear_faults disarms everything.
#include <gtest/gtest.h>

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "platform/file.hpp"
#include "platform/memory.hpp"
#include "platform/socket.hpp"
#include "testing.hpp"

namespace {

namespace os = weft::detail::os;
using weft::testing::fault_point;

TEST(Faults, MmapFailsTheNextNCallsWithTheChosenErrno) {
  weft::testing::fault_scope scope;
  weft::testing::inject_faults(fault_point::mmap, 2, ENOMEM);
  for (int i = 0; i < 2; ++i) {
    int err = 0;
    EXPECT_EQ(os::mem_map(1 << 20, true, &err), nullptr);
    EXPECT_EQ(err, ENOMEM);
  }
  EXPECT_EQ(weft::testing::faults_left(fault_point::mmap), 0);
  int err = 0;
  void* p = os::mem_map(1 << 20, true, &err);
  ASSERT_NE(p, nullptr) << std::strerror(err);
  EXPECT_EQ(os::mem_unmap(p, 1 << 20), 0);
}

TEST(Faults, ReadsAndWritesFailOrFallShort) {
  weft::testing::fault_scope scope;
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  weft::testing::inject_faults(fault_point::write, 1, EINTR);
  EXPECT_EQ(os::file_write(fds[1], "abcdef", 6), -EINTR);
  weft::testing::inject_faults(fault_point::write, 2, 0, 2);
  EXPECT_EQ(os::file_write(fds[1], "abcdef", 6), 2);
  EXPECT_EQ(os::file_write(fds[1], "cdef", 4), 2);
  EXPECT_EQ(os::file_write(fds[1], "ef", 2), 2);  // disarmed again: the whole buffer
  char buf[16] = {};
  weft::testing::inject_faults(fault_point::read, 1, 0, 3);
  EXPECT_EQ(os::file_read(fds[0], buf, sizeof buf), 3);
  weft::testing::inject_faults(fault_point::read, 1, EIO);
  EXPECT_EQ(os::file_read(fds[0], buf + 3, sizeof buf - 3), -EIO);
  EXPECT_EQ(os::file_read(fds[0], buf + 3, sizeof buf - 3), 3);
  EXPECT_EQ(std::string(buf), "abcdef");
  ::close(fds[0]);
  ::close(fds[1]);
}

TEST(Faults, AcceptFailsWithoutTouchingTheSocket) {
  weft::testing::fault_scope scope;
  weft::testing::inject_faults(fault_point::accept, 1, EMFILE);
  EXPECT_EQ(os::sock_accept(-1), -EMFILE);  // not even EBADF: the kernel is not asked
  EXPECT_EQ(os::sock_accept(-1), -EBADF);
}

TEST(Faults, ErrnoIsLeftAlone) {
  weft::testing::fault_scope scope;
  errno = 1234;
  weft::testing::inject_faults(fault_point::read, 1, EINTR);
  char c;
  EXPECT_EQ(os::file_read(-1, &c, 1), -EINTR);
  EXPECT_EQ(errno, 1234);
}

TEST(Faults, ClearDisarmsEveryPoint) {
  weft::testing::inject_faults(fault_point::mmap, 5, ENOMEM);
  weft::testing::inject_faults(fault_point::accept, 5, EMFILE);
  weft::testing::inject_faults(fault_point::read, 5, EINTR);
  weft::testing::inject_faults(fault_point::write, 5, EINTR);
  weft::testing::clear_faults();
  for (fault_point p : {fault_point::mmap, fault_point::accept, fault_point::read, fault_point::write})
    EXPECT_EQ(weft::testing::faults_left(p), 0);
  int err = 0;
  void* p = os::mem_map(4096, false, &err);
  ASSERT_NE(p, nullptr);
  os::mem_unmap(p, 4096);
}

}  // namespace
