// weft::remote with no runtime server attached: channels and variables live
// in the process, one object per name, with a server's identity rules, and
// work in select beside local channels. Also the attach failures that end a
// program: an unreachable server, a malformed address.
#include <weft/remote.hpp>
#include <weft/weft.hpp>

#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <stdexcept>
#include <string>

#include "weft_test_util.hpp"

namespace {

struct job {
  int id = 0;
  std::string what;
};
WEFT_FIELDS(job, id, what);

weft::options unattached(int procs = 2) {
  weft::options o;
  o.procs = procs;
  return o;
}

TEST(LocalRemote, ChannelsOfOneNameAreOneChannel) {
  ::unsetenv("WEFT_RUNTIME");
  weft::run([] {
    EXPECT_FALSE(weft::remote::attached());
    weft::remote::chan<job> a("local.jobs", 4);
    weft::remote::chan<job> b("local.jobs");
    EXPECT_EQ(b.capacity(), 4u);
    a.send(job{1, "x"});
    auto j = b.recv();
    ASSERT_TRUE(j.has_value());
    EXPECT_EQ(j->id, 1);
    EXPECT_EQ(j->what, "x");
    EXPECT_THROW(weft::remote::chan<int>("local.jobs"), std::invalid_argument);     // another type
    EXPECT_THROW(weft::remote::chan<job>("local.jobs", 8), std::invalid_argument);  // another capacity
    weft::go([a]() mutable {
      for (int i = 0; i < 100; ++i) a.send(job{i, "n"});
      a.close();
    });
    int n = 0;
    for (job v : b) n += v.id == n ? 1 : 1000;
    EXPECT_EQ(n, 100);
    weft::remote::remove("local.jobs");
    weft::remote::chan<int> fresh("local.jobs");  // a new object: any type
    EXPECT_EQ(fresh.capacity(), 0u);
    weft::remote::remove("local.jobs");
  }, unattached());
}

TEST(LocalRemote, SelectMixesRemoteAndLocalChannels) {
  ::unsetenv("WEFT_RUNTIME");
  weft::run([] {
    weft::remote::chan<int> r("local.sel", 1);
    weft::chan<int> l(1);
    r.send(7);
    int got = 0;
    std::size_t k = weft::select(weft::on_recv(r, [&](std::optional<int> v) { got = *v; }),
                                 weft::on_recv(l, [&](std::optional<int> v) { got = -*v; }));
    EXPECT_EQ(k, 0u);
    EXPECT_EQ(got, 7);
    k = weft::select(weft::on_send(r, 8), weft::on_default());
    EXPECT_EQ(k, 0u);
    EXPECT_EQ(r.recv(), 8);
    weft::remote::remove("local.sel");
  }, unattached());
}

TEST(LocalRemote, VariablesAreAtomicAndWaitable) {
  ::unsetenv("WEFT_RUNTIME");
  weft::run([] {
    weft::remote::var<std::int64_t> counter("local.counter", 0);
    weft::wait_group wg;
    const int n = 8, k = weft_test::scaled(1000);
    wg.add(n);
    for (int i = 0; i < n; ++i) {
      weft::go([&] {
        weft::remote::var<std::int64_t> c("local.counter", 0);
        for (int j = 0; j < k; ++j) c.fetch_add(1);
        wg.done();
      });
    }
    wg.wait();
    EXPECT_EQ(counter.load(), std::int64_t{n} * k);
    std::int64_t expected = 5;
    EXPECT_FALSE(counter.compare_exchange(expected, 9));
    EXPECT_EQ(expected, std::int64_t{n} * k);
    EXPECT_TRUE(counter.compare_exchange(expected, 9));
    EXPECT_EQ(counter.exchange(10), 9);
    weft::go([] {
      weft::this_goroutine::sleep_for(std::chrono::milliseconds(5));
      weft::remote::var<std::int64_t>("local.counter", 0).store(11);
    });
    EXPECT_EQ(counter.wait(10), 11);
    weft::remote::var<std::uint8_t> small("local.small", 250);
    EXPECT_EQ(small.fetch_add(10), 250);
    EXPECT_EQ(small.load(), 4);  // wraps at the type's width
    EXPECT_THROW(weft::remote::var<int>("local.counter", 0), std::invalid_argument);
    weft::remote::remove("local.counter");
    weft::remote::remove("local.small");
  }, unattached());
}

TEST(LocalRemote, AnUnreachableServerEndsTheProgram) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_EXIT(weft::run([] { std::puts("main ran"); }, weft::options{.procs = 1, .runtime = "unix:/nonexistent/weftd.sock"}),
              ::testing::ExitedWithCode(2), "weft: fatal error: runtime server unix:/nonexistent/weftd.sock: ");
  EXPECT_EXIT(weft::run([] {}, weft::options{.procs = 1, .runtime = "carrier-pigeon:home"}), ::testing::ExitedWithCode(2),
              "runtime server address 'carrier-pigeon:home' names an unknown network");
}

}  // namespace
