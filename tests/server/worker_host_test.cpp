// tests/server/worker_host_test.cpp: weftd's reading of anchors and
// selectors (worker_host::clean_anchor, worker_host::selects): the rules
// docs/protocol.md ("Workers") states, case by case.
#include <gtest/gtest.h>

#include <string>

#include "server/worker_host.hpp"

namespace {

using weft::server::worker_host;

std::string clean(const std::string& a) {
  std::string why;
  std::string c = worker_host::clean_anchor(a, why);
  if (c.empty()) {
    EXPECT_FALSE(why.empty()) << "refused \"" << a << "\" without a reason";
  }
  return c;
}

TEST(Anchors, AnAnchorIsAPathOfNames) {
  EXPECT_EQ(clean("/db/shard"), "/db/shard");
  EXPECT_EQ(clean("/db/shard/"), "/db/shard");  // a trailing slash is dropped
  EXPECT_EQ(clean("/"), "/");
  EXPECT_EQ(clean("/a-b_c.d/e@1"), "/a-b_c.d/e@1");
  for (const char* bad : {"", "db/shard", "/db//shard", "/db/./x", "/db/../x", "/db/..", "/db/.", "/db/...",
                          "/db/x y", "/db/\tx", "/db/\x7f"})
    EXPECT_EQ(clean(bad), "") << "accepted \"" << bad << "\"";
  EXPECT_EQ(clean("/" + std::string(1100, 'a')), "");
}

TEST(Anchors, ASelectorMatchesDirectEntriesOrASubtree) {
  const std::string e = "/db/shard/R8efd95a09bcde325";
  EXPECT_TRUE(worker_host::selects("/db/shard", e));
  EXPECT_TRUE(worker_host::selects("/db/shard/", e));
  EXPECT_TRUE(worker_host::selects(e, e));
  EXPECT_FALSE(worker_host::selects("/db", e));  // not a direct entry
  EXPECT_FALSE(worker_host::selects("/db/sh", e));
  EXPECT_TRUE(worker_host::selects("/db/...", e));
  EXPECT_TRUE(worker_host::selects("/db/...", "/db/R8efd95a09bcde325"));
  EXPECT_FALSE(worker_host::selects("/db/...", "/dbx/R8efd95a09bcde325"));
  EXPECT_TRUE(worker_host::selects("/db/shard/...", e));
  EXPECT_FALSE(worker_host::selects("/other/...", e));
  for (const char* all : {"", "/", "/..."}) EXPECT_TRUE(worker_host::selects(all, e)) << all;
}

}  // namespace
