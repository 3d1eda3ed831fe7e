// tests/server/binary_cache_test.cpp: binaries by content (binary_cache.hpp):
// a file is kept only under the hash of its bytes, with its size; the
// least recently used go first when the cache is full; uploads cut short
// or racing leave one good file or none.
#include "server/binary_cache.hpp"

#include <gtest/gtest.h>

#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <weft/weft.hpp>

namespace {

using weft::server::binary_cache;

// A private directory, removed with everything in it.
struct temp_dir {
  std::string path;
  temp_dir() {
    char tmpl[] = "/tmp/weft-bincache-XXXXXX";
    path = ::mkdtemp(tmpl);
  }
  ~temp_dir() { std::system(("rm -rf " + path).c_str()); }
};

std::string write_file(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary) << bytes;
  return path;
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Names in dir/.incoming: leftovers of uploads.
int incoming(const std::string& dir) {
  int n = 0;
  if (DIR* d = ::opendir((dir + "/.incoming").c_str())) {
    while (dirent* e = ::readdir(d)) n += e->d_name[0] != '.';
    ::closedir(d);
  }
  return n;
}

// The SHA-256 of bytes, by way of a file.
std::string hash_of(const temp_dir& t, const std::string& bytes) {
  return weft::server::sha256_file(write_file(t.path + "/source", bytes));
}

// Uploads bytes in pieces of 1000.
std::string put(binary_cache& c, const std::string& hash, const std::string& bytes) {
  auto up = c.begin(hash, bytes.size());
  for (std::size_t at = 0; at < bytes.size(); at += 1000) up.write(std::string_view(bytes).substr(at, 1000));
  return up.commit();
}

void in_weft(std::function<void()> f) {
  weft::run([&] { f(); });
}

TEST(BinaryCache, Sha256OfAFileIsTheKnownDigest) {
  in_weft([] {
    temp_dir t;
    EXPECT_EQ(hash_of(t, "abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    EXPECT_EQ(hash_of(t, ""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    EXPECT_THROW(weft::server::sha256_file(t.path + "/missing"), std::system_error);
  });
}

TEST(BinaryCache, AnUploadWhoseHashAndSizeMatchIsKeptPrivateAndFound) {
  in_weft([] {
    temp_dir t;
    binary_cache c(t.path + "/cache", 1 << 20);
    std::string bytes(5000, 'x');
    std::string h = hash_of(t, bytes);
    EXPECT_FALSE(c.find(h));
    std::string path = put(c, h, bytes);
    EXPECT_EQ(path, t.path + "/cache/" + h);
    EXPECT_EQ(read_file(path), bytes);
    struct stat st{};
    ASSERT_EQ(::stat(path.c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0700u);
    ASSERT_EQ(::stat((t.path + "/cache").c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0700u);
    EXPECT_EQ(c.find(h), path);
    EXPECT_EQ(c.bytes(), 5000u);
    EXPECT_EQ(incoming(c.dir()), 0);
  });
}

TEST(BinaryCache, BytesThatDoNotHashToTheirNameAreNotKept) {
  in_weft([] {
    temp_dir t;
    binary_cache c(t.path + "/cache", 1 << 20);
    std::string h = hash_of(t, "the real binary");
    auto up = c.begin(h, 15);
    up.write("a fake binary!!");
    try {
      up.commit();
      FAIL() << "a wrong hash was kept";
    } catch (const std::invalid_argument& e) {
      EXPECT_NE(std::string(e.what()).find("not kept"), std::string::npos) << e.what();
    }
    EXPECT_FALSE(c.find(h));
    EXPECT_EQ(c.bytes(), 0u);
    EXPECT_EQ(incoming(c.dir()), 0);
  });
}

TEST(BinaryCache, ShortAndOverlongUploadsAreRefused) {
  in_weft([] {
    temp_dir t;
    binary_cache c(t.path + "/cache", 1 << 20);
    std::string h = hash_of(t, "0123456789");
    {
      auto up = c.begin(h, 10);
      up.write("01234");
      EXPECT_THROW(up.commit(), std::invalid_argument);
    }
    {
      auto up = c.begin(h, 10);
      up.write("0123456789");
      EXPECT_THROW(up.write("x"), std::invalid_argument);
    }
    EXPECT_FALSE(c.find(h));
    EXPECT_EQ(incoming(c.dir()), 0);  // both temp files gone
  });
}

TEST(BinaryCache, MalformedHashesAndOversizedBinariesAreRefusedUpFront) {
  in_weft([] {
    temp_dir t;
    binary_cache c(t.path + "/cache", 1000);
    EXPECT_THROW(c.begin("../../etc/passwd", 10), std::invalid_argument);
    EXPECT_THROW(c.begin(std::string(64, 'A'), 10), std::invalid_argument);  // uppercase
    EXPECT_THROW(c.begin(std::string(64, 'a'), 1001), std::invalid_argument);
    EXPECT_FALSE(c.find("../cache"));
    EXPECT_EQ(incoming(c.dir()), 0);
  });
}

TEST(BinaryCache, TheLeastRecentlyUsedGoFirstWhenFull) {
  in_weft([] {
    temp_dir t;
    binary_cache c(t.path + "/cache", 3000);
    std::vector<std::string> bytes{std::string(1000, 'a'), std::string(1000, 'b'), std::string(1000, 'c'),
                                   std::string(1000, 'd')};
    std::vector<std::string> h;
    for (auto& b : bytes) h.push_back(hash_of(t, b));
    put(c, h[0], bytes[0]);
    put(c, h[1], bytes[1]);
    put(c, h[2], bytes[2]);
    EXPECT_EQ(c.bytes(), 3000u);
    ASSERT_TRUE(c.find(h[0]));  // a is now more recent than b
    put(c, h[3], bytes[3]);     // over by 1000: b goes
    EXPECT_EQ(c.bytes(), 3000u);
    EXPECT_TRUE(c.find(h[0]));
    EXPECT_FALSE(c.find(h[1]));
    EXPECT_EQ(::access((c.dir() + "/" + h[1]).c_str(), F_OK), -1);
    EXPECT_TRUE(c.find(h[2]));
    EXPECT_TRUE(c.find(h[3]));
  });
}

TEST(BinaryCache, AReopenedCacheKnowsItsFilesAndDropsUnfinishedUploads) {
  in_weft([] {
    temp_dir t;
    std::string bytes(2000, 'z');
    std::string h = hash_of(t, bytes);
    {
      binary_cache c(t.path + "/cache", 1 << 20);
      put(c, h, bytes);
    }
    write_file(t.path + "/cache/.incoming/" + h + ".1.0", "half an upload of a weftd that crashed");
    write_file(t.path + "/cache/not-a-hash", "ignored");
    binary_cache again(t.path + "/cache", 1 << 20);
    EXPECT_TRUE(again.find(h));
    EXPECT_EQ(again.bytes(), 2000u);
    EXPECT_EQ(incoming(again.dir()), 0);
  });
}

TEST(BinaryCache, TwoUploadsOfOneBinaryAtOnceLeaveOneFileCountedOnce) {
  in_weft([] {
    temp_dir t;
    binary_cache c(t.path + "/cache", 1 << 20);
    std::string bytes(300000, 'q');
    std::string h = hash_of(t, bytes);
    weft::wait_group wg;
    wg.add(2);
    for (int i = 0; i < 2; ++i)
      weft::go([&] {
        put(c, h, bytes);
        wg.done();
      });
    wg.wait();
    EXPECT_EQ(c.bytes(), 300000u);
    EXPECT_EQ(read_file(*c.find(h)), bytes);
    EXPECT_EQ(incoming(c.dir()), 0);
  });
}

}  // namespace
