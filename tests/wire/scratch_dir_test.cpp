// tests/wire/scratch_dir_test.cpp: where worker logs and peer sockets go
// (wire::user_scratch_dir) and the check that the directory made for them
// in a shared place is this user's alone (wire::make_private_dir).
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <string>
#include <system_error>

#include "wire/endpoint.hpp"

namespace {

struct temp_base {
  std::string path;
  temp_base() {
    char tmpl[] = "/tmp/weft-scratch-test-XXXXXX";
    path = ::mkdtemp(tmpl);
  }
  ~temp_base() { std::system(("rm -rf '" + path + "'").c_str()); }
};

bool throws_naming(const std::string& dir, const std::string& words) {
  try {
    weft::wire::make_private_dir(dir);
  } catch (const std::system_error& e) {
    return std::string(e.what()).find(words) != std::string::npos;
  }
  return false;
}

TEST(ScratchDir, IsTheXdgRuntimeDirWhenSetElseInMemoryOrTheRuntimeDir) {
  EXPECT_EQ(weft::wire::user_scratch_dir("/run/user/7"), "/run/user/7/weft");
  const std::string uid = std::to_string(::getuid());
  const std::string unset = weft::wire::user_scratch_dir(nullptr);
  EXPECT_TRUE(unset == "/dev/shm/weft-" + uid || unset == "/tmp/weft-" + uid) << unset;
  EXPECT_EQ(weft::wire::user_scratch_dir(""), unset);
}

TEST(ScratchDir, AMissingDirectoryIsMadePrivate) {
  temp_base base;
  const std::string dir = base.path + "/mine";
  weft::wire::make_private_dir(dir);
  struct stat st{};
  ASSERT_EQ(::lstat(dir.c_str(), &st), 0);
  EXPECT_TRUE(S_ISDIR(st.st_mode));
  EXPECT_EQ(st.st_mode & 0777, 0700u);
  weft::wire::make_private_dir(dir);  // again: it is fine as it is
}

TEST(ScratchDir, ADirectoryOthersCanEnterIsRefusedWithWhatToDo) {
  temp_base base;
  const std::string dir = base.path + "/open";
  ASSERT_EQ(::mkdir(dir.c_str(), 0700), 0);
  ASSERT_EQ(::chmod(dir.c_str(), 0755), 0);
  EXPECT_TRUE(throws_naming(dir, "is not a directory of this user's alone"));
  EXPECT_TRUE(throws_naming(dir, "mode 755"));
  EXPECT_TRUE(throws_naming(dir, "set XDG_RUNTIME_DIR"));
}

TEST(ScratchDir, ASymlinkInItsPlaceIsRefused) {
  temp_base base;
  const std::string target = base.path + "/elsewhere";
  const std::string dir = base.path + "/link";
  ASSERT_EQ(::mkdir(target.c_str(), 0700), 0);
  ASSERT_EQ(::symlink(target.c_str(), dir.c_str()), 0);
  EXPECT_TRUE(throws_naming(dir, "not a directory,"));
}

TEST(ScratchDir, AnotherUsersDirectoryIsRefused) {
  if (::geteuid() != 0) GTEST_SKIP() << "making a directory of another user needs root";
  temp_base base;
  const std::string dir = base.path + "/theirs";
  ASSERT_EQ(::mkdir(dir.c_str(), 0700), 0);
  ASSERT_EQ(::chown(dir.c_str(), 65534, 65534), 0);
  EXPECT_TRUE(throws_naming(dir, "owner uid 65534"));
}

}  // namespace
