// WEFT_OS=server against a real weftd (issue 13, "OS resources"): weftd runs
// in a directory of its own with an environment of its own, and a program
// attached with WEFT_OS=server opens files there, reads that environment,
// and gets the errors those calls get there; without WEFT_OS it keeps its
// own. Files cross in pieces (larger than one frame's worth) and goroutines
// sharing one keep its promises.
#include <weft/os.hpp>
#include <weft/weft.hpp>

#include <gtest/gtest.h>

#include <cerrno>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <system_error>
#include <vector>

#include "remote/remote_os.hpp"
#include "weft_test_util.hpp"

#if defined(WEFT_TEST_WEFTD)
#include "remote/weftd_fixture.hpp"

namespace {

namespace fs = std::filesystem;

// A weftd whose working directory is a fresh one (`dir`) and whose
// environment says WEFT_TEST_SIDE=server; this process says client.
class ServerOs : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("weft-os-" + std::to_string(::getpid()) + "-" + std::to_string(counter()++));
    fs::create_directories(dir_);
    socket_ = dir_.string() + "/weftd.sock";
    pid_ = weft_test::spawn_process(
        {"/bin/sh", "-c", "cd '" + dir_.string() + "' && exec '" WEFT_TEST_WEFTD "' --quiet --listen unix:" + socket_},
        {"WEFT_TEST_SIDE=server"});
    ASSERT_GT(pid_, 0);
    auto end = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (!weft_test::unix_socket_answers(socket_)) {
      ASSERT_LT(std::chrono::steady_clock::now(), end) << "weftd did not listen on " << socket_;
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    ::setenv("WEFT_TEST_SIDE", "client", 1);
    ::setenv("WEFT_OS", "server", 1);
  }
  void TearDown() override {
    ::unsetenv("WEFT_OS");
    ::unsetenv("WEFT_TEST_SIDE");
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
    fs::remove_all(dir_);
  }
  weft::options attached() const {
    weft::options o;
    o.procs = 2;
    o.runtime = "unix:" + socket_;
    return o;
  }
  const fs::path& dir() const { return dir_; }

 private:
  static int& counter() {
    static int n = 0;
    return n;
  }
  fs::path dir_;
  std::string socket_;
  pid_t pid_ = -1;
};

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

std::span<const std::byte> bytes(const std::string& s) { return std::as_bytes(std::span<const char>(s)); }

TEST_F(ServerOs, FilesOpenInTheServersDirectory) {
  const std::string name = "weft-os-test-" + std::to_string(::getpid()) + ".txt";
  weft::run([&] {
    weft::os::file f = weft::os::file::create(name);
    f.write("hello, ");
    f.write("server");
    EXPECT_EQ(f.size(), 13);
    std::string back(13, '\0');
    EXPECT_EQ(f.read_at(std::as_writable_bytes(std::span<char>(back)), 0), 13u);
    EXPECT_EQ(back, "hello, server");
    f.sync();
    EXPECT_EQ(f.name(), name);
    f.close();
    std::byte b[1];
    EXPECT_THROW(f.read(b), std::system_error);  // closed
  }, attached());
  EXPECT_EQ(slurp(dir() / name), "hello, server");
  EXPECT_FALSE(fs::exists(fs::current_path() / name)) << "the file was made here, not in the server's directory";
}

TEST_F(ServerOs, ReadsMoveThroughTheFileInOrder) {
  std::ofstream(dir() / "numbers.txt") << "0123456789";
  weft::run([&] {
    weft::os::file f = weft::os::file::open("numbers.txt");
    std::string part(4, '\0');
    auto buf = std::as_writable_bytes(std::span<char>(part));
    EXPECT_EQ(f.read(buf), 4u);
    EXPECT_EQ(part, "0123");
    EXPECT_EQ(f.read(buf), 4u);
    EXPECT_EQ(part, "4567");
    EXPECT_EQ(f.read(buf), 2u);
    EXPECT_EQ(part.substr(0, 2), "89");
    EXPECT_EQ(f.read(buf), 0u);  // end of file
  }, attached());
}

TEST_F(ServerOs, ErrorsAreTheServersWithTheirErrno) {
  weft::run([&] {
    try {
      weft::os::file::open("no-such-file");
      ADD_FAILURE() << "opened a file that does not exist";
    } catch (const std::system_error& e) {
      EXPECT_EQ(e.code().value(), ENOENT);
      EXPECT_NE(std::string(e.what()).find("weft::os::open no-such-file"), std::string::npos) << e.what();
    }
    try {
      weft::os::file::open("/dev/null");  // not a regular file: could block a server thread
      ADD_FAILURE() << "opened a device";
    } catch (const std::system_error& e) {
      EXPECT_EQ(e.code().value(), EINVAL);
    }
    weft::os::file ro = weft::os::file::create("ro.txt");
    ro.close();
    weft::os::file r = weft::os::file::open("ro.txt", O_RDONLY);
    try {
      r.write("x");
      ADD_FAILURE() << "wrote to a file opened read-only";
    } catch (const std::system_error& e) {
      EXPECT_EQ(e.code().value(), EBADF);
    }
  }, attached());
}

TEST_F(ServerOs, EnvironmentAndHostNameAreTheServers) {
  weft::run([&] {
    EXPECT_EQ(weft::os::getenv("WEFT_TEST_SIDE"), "server");
    EXPECT_FALSE(weft::os::getenv("WEFT_TEST_NO_SUCH_VARIABLE").has_value());
    char here[256] = {};
    ::gethostname(here, sizeof here - 1);
    EXPECT_EQ(weft::os::hostname(), here);  // one machine: the same name, through the server
  }, attached());
}

TEST_F(ServerOs, WithoutWeftOsTheProcessKeepsItsOwn) {
  ::unsetenv("WEFT_OS");
  const std::string name = "weft-os-local-" + std::to_string(::getpid()) + ".txt";
  weft::run([&] {
    EXPECT_EQ(weft::os::getenv("WEFT_TEST_SIDE"), "client");
    weft::os::file::create(name).write("here");
  }, attached());
  EXPECT_EQ(slurp(fs::current_path() / name), "here");
  EXPECT_FALSE(fs::exists(dir() / name));
  fs::remove(fs::current_path() / name);
}

// Larger than one piece (remote_os::chunk is 1 MiB): the bytes arrive whole
// and in order, both through write and write_at.
TEST_F(ServerOs, LargeReadsAndWritesCrossInPieces) {
  std::string big(3 * (1u << 20) + 12345, '\0');
  for (std::size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>('a' + (i * 7919) % 26);
  weft::run([&] {
    weft::os::file f = weft::os::file::create("big.bin");
    f.write(big);
    f.write_at(bytes(big.substr(0, 100)), static_cast<std::int64_t>(big.size()));
    EXPECT_EQ(f.size(), static_cast<std::int64_t>(big.size() + 100));
    std::string back(big.size(), '\0');
    EXPECT_EQ(f.read_at(std::as_writable_bytes(std::span<char>(back)), 0), big.size());
    EXPECT_TRUE(back == big) << "the bytes read back differ from those written";
  }, attached());
  EXPECT_EQ(fs::file_size(dir() / "big.bin"), big.size() + 100);
}

// Goroutines sharing one file: each write's bytes stay together, even a
// write of several pieces.
TEST_F(ServerOs, ConcurrentWritesStayWhole) {
  constexpr int writers = 4, each = 3;
  const std::size_t block = (1u << 20) + 100;  // two pieces each
  weft::run([&] {
    weft::os::file f = weft::os::file::create("shared.bin");
    weft::wait_group wg;
    wg.add(writers);
    for (int w = 0; w < writers; ++w) {
      weft::go([&, w] {
        std::string b(block, static_cast<char>('A' + w));
        for (int i = 0; i < each; ++i) f.write(b);
        wg.done();
      });
    }
    wg.wait();
  }, attached());
  std::string all = slurp(dir() / "shared.bin");
  ASSERT_EQ(all.size(), block * writers * each);
  for (std::size_t at = 0; at < all.size(); at += block) {
    std::size_t other = all.find_first_not_of(all[at], at);
    EXPECT_TRUE(other == std::string::npos || other >= at + block) << "a write was split at byte " << other;
  }
}

TEST(WeftOs, AcceptsServerAndLocalAndRefusesTheRestNamingBoth) {
  ::setenv("WEFT_OS", "server", 1);
  EXPECT_TRUE(weft::remote::detail::os_from_server());
  ::setenv("WEFT_OS", "local", 1);
  EXPECT_FALSE(weft::remote::detail::os_from_server());
  ::unsetenv("WEFT_OS");
  EXPECT_FALSE(weft::remote::detail::os_from_server());
  ::setenv("WEFT_OS", "cloud", 1);
  try {
    weft::remote::detail::os_from_server();
    ADD_FAILURE() << "WEFT_OS=cloud was taken";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("WEFT_OS=cloud: write WEFT_OS=server"), std::string::npos) << e.what();
  }
  ::unsetenv("WEFT_OS");
}

}  // namespace

#else
TEST(ServerOs, NeedsWeftd) { GTEST_SKIP() << "weftd is not part of this build"; }
#endif
