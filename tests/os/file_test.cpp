// tests/os/file_test.cpp: weft::os::file. A write/read round trip; read at
// end of file returns 0; read_at/write_at leave the offset alone and may run
// from many goroutines at once; errors name the operation and the path;
// closed and moved-from files fail cleanly; it works on a plain thread too;
// writes the OS cuts short still write every byte, and EINTR is retried
// (through the platform's fault points, platform/faults.hpp).
#include <weft/os.hpp>
#include <weft/weft.hpp>

#include <gtest/gtest.h>

#include <unistd.h>

#include <atomic>
#include <string>
#include <system_error>
#include <thread>

#include "testing.hpp"
#include "weft_test_util.hpp"

namespace {

using weft_test::procs_name;
using weft_test::procs_opt;
namespace os = weft::os;

std::span<const std::byte> bytes(std::string_view s) { return std::as_bytes(std::span(s.data(), s.size())); }

std::string temp_path(const char* tag) {
  static std::atomic<int> n{0};
  return "/tmp/weft-file-test-" + std::to_string(::getpid()) + "-" + tag + "-" + std::to_string(n++);
}

std::string read_all(os::file& f) {
  std::string out;
  char buf[7];  // small on purpose: many reads
  while (std::size_t n = f.read(std::as_writable_bytes(std::span(buf)))) out.append(buf, n);
  return out;
}

class FileProcs : public ::testing::TestWithParam<int> {};

TEST_P(FileProcs, RoundTrip) {
  std::string path = temp_path("rt");
  weft::run(
      [&] {
        {
          os::file f = os::file::create(path);
          EXPECT_EQ(f.name(), path);
          f.write("hello, ");
          f.write(bytes("world"));
          EXPECT_EQ(f.size(), 12);
        }  // closed by the destructor
        os::file f = os::file::open(path);
        EXPECT_EQ(read_all(f), "hello, world");
        char c;
        EXPECT_EQ(f.read(std::as_writable_bytes(std::span(&c, 1))), 0u);  // at end of file, every time
        EXPECT_EQ(f.read(std::as_writable_bytes(std::span(&c, 1))), 0u);
        f.close();
        f.close();
      },
      procs_opt(GetParam()));
  ::unlink(path.c_str());
}

TEST_P(FileProcs, ReadAtWriteAtFromManyGoroutines) {
  std::string path = temp_path("at");
  weft::run(
      [&] {
        os::file f = os::file::open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
        constexpr int kGoroutines = 16, kBlock = 4096;
        weft::wait_group wg;
        wg.add(kGoroutines);
        for (int g = 0; g < kGoroutines; ++g) {
          weft::go([&, g] {
            std::string block(kBlock, static_cast<char>('A' + g));
            f.write_at(bytes(block), std::int64_t{g} * kBlock);
            wg.done();
          });
        }
        wg.wait();
        EXPECT_EQ(f.size(), kGoroutines * kBlock);
        wg.add(kGoroutines);
        for (int g = 0; g < kGoroutines; ++g) {
          weft::go([&, g] {
            std::string block(kBlock, '\0');
            EXPECT_EQ(f.read_at(std::as_writable_bytes(std::span(block.data(), block.size())), std::int64_t{g} * kBlock),
                      std::size_t{kBlock});
            EXPECT_EQ(block, std::string(kBlock, static_cast<char>('A' + g)));
            wg.done();
          });
        }
        wg.wait();
        // read_at past the end stops there; the offset never moved.
        std::string tail(100, '\0');
        EXPECT_EQ(f.read_at(std::as_writable_bytes(std::span(tail.data(), tail.size())),
                            std::int64_t{kGoroutines} * kBlock - 10),
                  10u);
        char first;
        EXPECT_EQ(f.read(std::as_writable_bytes(std::span(&first, 1))), 1u);
        EXPECT_EQ(first, 'A');
      },
      procs_opt(GetParam()));
  ::unlink(path.c_str());
}

TEST(File, ErrorsNameThePath) {
  weft::run([] {
    try {
      os::file::open("/nonexistent/weft/file");
      ADD_FAILURE() << "opened a missing file";
    } catch (const std::system_error& e) {
      EXPECT_EQ(e.code(), std::errc::no_such_file_or_directory);
      EXPECT_STREQ(e.what(), "weft::os::open /nonexistent/weft/file: No such file or directory");
    }
    std::string path = temp_path("ro");
    os::file::create(path).write("x");
    os::file ro = os::file::open(path);
    try {
      ro.write("y");
      ADD_FAILURE() << "wrote to a read-only file";
    } catch (const std::system_error& e) {
      EXPECT_EQ(e.code(), std::errc::bad_file_descriptor);
      EXPECT_EQ(std::string(e.what()).rfind("weft::os::write " + path + ":", 0), 0u) << e.what();
    }
    os::file moved = std::move(ro);
    EXPECT_EQ(moved.name(), path);
    EXPECT_THROW(ro.size(), std::system_error);  // the moved-from file is empty
    moved.close();
    try {
      moved.size();
      ADD_FAILURE() << "size of a closed file";
    } catch (const std::system_error& e) {
      EXPECT_EQ(e.code(), std::errc::bad_file_descriptor);
      EXPECT_EQ(std::string(e.what()).rfind("weft::os::size " + path + ":", 0), 0u) << e.what();
    }
    ::unlink(path.c_str());
  });
}

TEST(File, PlainThread) {
  std::string path = temp_path("thread");
  std::thread([&] {
    os::file f = os::file::create(path);
    f.write("plain");
    f.sync();
    char buf[5];
    EXPECT_EQ(f.read_at(std::as_writable_bytes(std::span(buf)), 0), 5u);
    EXPECT_EQ(std::string(buf, 5), "plain");
  }).join();
  ::unlink(path.c_str());
}

TEST(File, ShortWritesAndReadsMoveEveryByte) {
  weft::testing::fault_scope scope;
  using weft::testing::fault_point;
  std::string path = temp_path("short");
  std::string data(10000, '\0');
  for (std::size_t i = 0; i < data.size(); ++i) data[i] = static_cast<char>('A' + i % 26);
  weft::run([&] {
    os::file f = os::file::create(path);
    weft::testing::inject_faults(fault_point::write, 500, 0, 11);  // 11 bytes a call, 500 times
    f.write(data);
    EXPECT_EQ(weft::testing::faults_left(fault_point::write), 0);
    EXPECT_EQ(f.size(), static_cast<std::int64_t>(data.size()));
    weft::testing::inject_faults(fault_point::write, 100, 0, 5);
    f.write_at(bytes("0123456789"), 100);
    EXPECT_EQ(weft::testing::faults_left(fault_point::write), 98);
    weft::testing::clear_faults();
    data.replace(100, 10, "0123456789");
    weft::testing::inject_faults(fault_point::read, 300, 0, 13);
    std::string back(data.size(), '\0');
    EXPECT_EQ(f.read_at(std::as_writable_bytes(std::span(back.data(), back.size())), 0), data.size());
    EXPECT_EQ(weft::testing::faults_left(fault_point::read), 0);
    EXPECT_TRUE(back == data);
  }, procs_opt(2));
  ::unlink(path.c_str());
}

TEST(File, EintrIsRetried) {
  weft::testing::fault_scope scope;
  using weft::testing::fault_point;
  std::string path = temp_path("eintr");
  weft::run([&] {
    os::file f = os::file::create(path);
    weft::testing::inject_faults(fault_point::write, 3, EINTR);
    f.write("interrupted");
    EXPECT_EQ(weft::testing::faults_left(fault_point::write), 0);
    os::file g = os::file::open(path, O_RDONLY);
    weft::testing::inject_faults(fault_point::read, 3, EINTR);
    char buf[32];
    std::size_t n = g.read(std::as_writable_bytes(std::span(buf)));
    EXPECT_EQ(weft::testing::faults_left(fault_point::read), 0);
    EXPECT_EQ(std::string(buf, n), "interrupted");
  }, procs_opt(1));
  ::unlink(path.c_str());
}

INSTANTIATE_TEST_SUITE_P(Procs, FileProcs, ::testing::ValuesIn(weft_test::all_procs()), procs_name);

}  // namespace
