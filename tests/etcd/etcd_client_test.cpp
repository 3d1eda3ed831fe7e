// tests/etcd/etcd_client_test.cpp: the etcd client (src/etcd/) against a
// real etcd (etcd_fixture.hpp): Debian's binary, started per test in a
// temporary data directory on free loopback ports, SIGKILLed and removed
// after, even when the test fails. A machine without etcd fails every test
// here with a message saying what to install.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include <weft/weft.hpp>

#include "etcd/client.hpp"
#include "etcd_fixture.hpp"
#include "weft_test_util.hpp"

namespace {

using namespace std::chrono_literals;
using clock_type = std::chrono::steady_clock;
namespace etcd = weft::etcd;
using weft_test::etcd_test;
using weft_test::host_port;
using weft_test::relay;

weft::options procs2() { return weft_test::procs_opt(2); }

// The remote_error f throws, or nullopt if it returns.
template <class F>
std::optional<weft::remote_error> failure_of(F f) {
  try {
    f();
  } catch (const weft::remote_error& e) {
    return e;
  }
  return std::nullopt;
}

// Receives one event within 10 s, or nullopt.
std::optional<etcd::event> next_event(const etcd::watcher& w) {
  std::optional<etcd::event> got;
  weft::select(weft::on_recv(w.events(), [&](std::optional<etcd::event> e) { got = std::move(e); }),
               weft::on_recv(weft::after(10s), [](auto) {}));
  return got;
}

// Polls until get(key) finds nothing (every 20 ms, up to limit): how long it took, or nullopt.
std::optional<clock_type::duration> time_until_gone(etcd::client& c, const std::string& key,
                                                    clock_type::time_point from, clock_type::duration limit) {
  while (clock_type::now() - from < limit) {
    if (!c.get(key)) return clock_type::now() - from;
    weft::this_goroutine::sleep_for(20ms);
  }
  return std::nullopt;
}

double seconds(clock_type::duration d) { return std::chrono::duration<double>(d).count(); }

TEST_F(etcd_test, PutGetPrefixErase) {
  weft::run(
      [&] {
        etcd::client c({server_.endpoint()});
        std::int64_t r1 = c.put("/t/a", "1");
        std::int64_t r2 = c.put("/t/b", "2");
        std::int64_t r3 = c.put("/t/c", std::string("3\0x", 3));
        c.put("/u/other", "x");
        EXPECT_LT(r1, r2);
        EXPECT_LT(r2, r3);
        std::optional<etcd::key_value> a = c.get("/t/a");
        ASSERT_TRUE(a);
        EXPECT_EQ(a->value, "1");
        EXPECT_EQ(a->create_revision, r1);
        EXPECT_EQ(a->version, 1);
        EXPECT_EQ(a->lease, 0);
        c.put("/t/a", "one");
        EXPECT_EQ(c.get("/t/a")->version, 2);
        EXPECT_EQ(c.get("/t/c")->value, std::string("3\0x", 3));  // values are bytes
        EXPECT_FALSE(c.get("/t/missing"));

        etcd::snapshot s = c.get_prefix("/t/");
        ASSERT_EQ(s.kvs.size(), 3u);
        EXPECT_EQ(s.kvs[0].key, "/t/a");
        EXPECT_EQ(s.kvs[1].key, "/t/b");
        EXPECT_EQ(s.kvs[2].key, "/t/c");
        EXPECT_GE(s.revision, r3);
        EXPECT_EQ(c.get_prefix("").kvs.size(), 4u);  // every key

        EXPECT_TRUE(c.erase("/t/b"));
        EXPECT_FALSE(c.erase("/t/b"));
        EXPECT_EQ(c.erase_prefix("/t/"), 2);
        EXPECT_TRUE(c.get_prefix("/t/").kvs.empty());
        EXPECT_TRUE(c.get("/u/other"));
        EXPECT_THROW(c.erase_prefix(""), std::invalid_argument);
        EXPECT_THROW(c.put("", "x"), std::invalid_argument);
      },
      procs2());
}

TEST_F(etcd_test, PutIfAbsentOnlyOnce) {
  weft::run(
      [&] {
        etcd::client c({server_.endpoint()});
        EXPECT_TRUE(c.put_if_absent("/lock", "first"));
        EXPECT_FALSE(c.put_if_absent("/lock", "second"));
        EXPECT_EQ(c.get("/lock")->value, "first");
        c.erase("/lock");
        EXPECT_TRUE(c.put_if_absent("/lock", "third"));
        EXPECT_EQ(c.get("/lock")->value, "third");
      },
      procs2());
}

// Many goroutines share one client: 8 x 25 puts, each seen once.
TEST_F(etcd_test, ConcurrentCallsShareOneClient) {
  weft::run(
      [&] {
        etcd::client c({server_.endpoint()});
        constexpr int goroutines = 8, each = 25;
        weft::wait_group wg;
        std::atomic<int> failed{0};
        for (int g = 0; g < goroutines; ++g) {
          wg.add(1);
          weft::go([&, g] {
            for (int i = 0; i < each; ++i) {
              try {
                c.put("/many/" + std::to_string(g) + "/" + std::to_string(i), "v");
              } catch (const std::exception& e) {
                ADD_FAILURE() << e.what();
                failed++;
              }
            }
            wg.done();
          });
        }
        wg.wait();
        EXPECT_EQ(failed.load(), 0);
        EXPECT_EQ(c.get_prefix("/many/").kvs.size(), static_cast<std::size_t>(goroutines * each));
      },
      procs2());
}

TEST_F(etcd_test, RevokedLeaseTakesItsKeysAtOnce) {
  weft::run(
      [&] {
        etcd::client c({server_.endpoint()});
        etcd::lease l = c.grant(30s);
        EXPECT_NE(l.id, 0);
        EXPECT_GE(l.ttl, 30s);
        c.put("/leased/a", "1", l.id);
        c.put("/leased/b", "2", l.id);
        c.put("/leased/free", "3");
        EXPECT_EQ(c.get("/leased/a")->lease, l.id);
        std::optional<std::chrono::seconds> left = c.time_to_live(l.id);
        ASSERT_TRUE(left);
        EXPECT_GT(*left, 25s);
        EXPECT_TRUE(c.revoke(l.id));
        // At once: the very next read sees them gone.
        etcd::snapshot s = c.get_prefix("/leased/");
        ASSERT_EQ(s.kvs.size(), 1u);
        EXPECT_EQ(s.kvs[0].key, "/leased/free");
        EXPECT_FALSE(c.revoke(l.id));
        EXPECT_FALSE(c.time_to_live(l.id));
        auto e = failure_of([&] { c.put("/leased/c", "x", l.id); });
        ASSERT_TRUE(e);
        EXPECT_EQ(e->kind(), weft::remote_errc::refused) << e->what();
      },
      procs2());
}

TEST_F(etcd_test, ExpiredLeaseTakesItsKeysWithinTtlPlusOneSecond) {
  weft::run(
      [&] {
        etcd::client c({server_.endpoint()});
        const auto granted = clock_type::now();
        etcd::lease l = c.grant(2s);
        c.put("/expiring", "v", l.id);
        auto gone = time_until_gone(c, "/expiring", granted, l.ttl + 5s);
        ASSERT_TRUE(gone) << "the key outlived its lease by 5 s";
        EXPECT_LE(*gone, l.ttl + 1s) << "gone after " << seconds(*gone) << " s, TTL " << l.ttl.count() << " s";
        EXPECT_GE(*gone, l.ttl - 500ms) << "gone after " << seconds(*gone) << " s, TTL " << l.ttl.count() << " s";
      },
      procs2());
}

TEST_F(etcd_test, KeeperKeepsTheLeasePastSeveralTtls) {
  weft::run(
      [&] {
        etcd::client c({server_.endpoint()});
        etcd::lease l = c.grant(2s);
        std::optional<etcd::lease_keeper> keep;
        keep.emplace(c, l);
        c.put("/kept", "v", l.id);
        // Checked every 100 ms for three TTLs: present every time.
        const auto start = clock_type::now();
        int checks = 0, present = 0;
        while (clock_type::now() - start < 3 * l.ttl) {
          ++checks;
          if (c.get("/kept")) ++present;
          weft::this_goroutine::sleep_for(100ms);
        }
        EXPECT_EQ(present, checks);
        EXPECT_FALSE(keep->lost());
        EXPECT_EQ(keep->last_error(), "");
        EXPECT_GT(keep->confirmed_until(), clock_type::now());
        EXPECT_FALSE(keep->done().try_recv()) << "done() closed while the keeper runs";
        // Stopped, the lease expires as any other.
        const auto stopped = clock_type::now();
        keep.reset();
        auto gone = time_until_gone(c, "/kept", stopped, l.ttl + 5s);
        ASSERT_TRUE(gone);
        EXPECT_LE(*gone, l.ttl + 1s) << "gone " << seconds(*gone) << " s after the keeper stopped";
        EXPECT_TRUE(weft_test::wait_goroutines(1));
      },
      procs2());
}

TEST_F(etcd_test, KeeperReportsARevokedLeaseAsLost) {
  weft::run(
      [&] {
        etcd::client c({server_.endpoint()});
        etcd::lease l = c.grant(3s);
        etcd::lease_keeper keep(c, l);
        ASSERT_TRUE(c.revoke(l.id));
        bool ended = false;
        weft::select(weft::on_recv(keep.done(), [&](std::optional<bool>) { ended = true; }),
                     weft::on_recv(weft::after(l.ttl + 2s), [](auto) {}));
        ASSERT_TRUE(ended) << "the keeper did not notice within TTL + 2 s";
        EXPECT_TRUE(keep.lost());
        EXPECT_NE(keep.last_error().find("is gone"), std::string::npos) << keep.last_error();
      },
      procs2());
}

TEST_F(etcd_test, WatchSeesPutsAndDeletesInOrderAndResumes) {
  weft::run(
      [&] {
        etcd::client c({server_.endpoint()});
        const std::int64_t before = c.put("/elsewhere", "x");
        std::int64_t resume = 0;
        {
          etcd::watcher w = c.watch("/w/");
          c.put("/w/a", "1");
          c.put("/w/b", "2");
          c.put("/outside", "not seen");
          c.erase("/w/a");
          c.put("/w/b", "3");
          const std::vector<std::pair<etcd::event::kind, std::string>> want = {
              {etcd::event::kind::put, "/w/a=1"},
              {etcd::event::kind::put, "/w/b=2"},
              {etcd::event::kind::erase, "/w/a="},
              {etcd::event::kind::put, "/w/b=3"}};
          std::int64_t last = 0;
          for (const auto& [kind, kv] : want) {
            std::optional<etcd::event> e = next_event(w);
            ASSERT_TRUE(e) << "no event for " << kv;
            EXPECT_EQ(e->type, kind) << kv;
            EXPECT_EQ(e->kv.key + "=" + e->kv.value, kv);
            EXPECT_GT(e->kv.mod_revision, last);
            last = e->kv.mod_revision;
          }
          w.stop();
          EXPECT_FALSE(w.events().recv()) << "an event after the last write";
          EXPECT_EQ(w.error(), nullptr) << "stop() is not an error";
          EXPECT_EQ(w.next_revision(), last + 1);
          resume = w.next_revision();
        }
        // Written while nobody watched: a watch from the saved revision sees
        // exactly these, in order.
        c.put("/w/c", "4");
        c.erase("/w/b");
        etcd::watcher again = c.watch("/w/", resume);
        std::optional<etcd::event> e1 = next_event(again);
        std::optional<etcd::event> e2 = next_event(again);
        ASSERT_TRUE(e1 && e2);
        EXPECT_EQ(e1->kv.key, "/w/c");
        EXPECT_EQ(e1->type, etcd::event::kind::put);
        EXPECT_EQ(e2->kv.key, "/w/b");
        EXPECT_EQ(e2->type, etcd::event::kind::erase);
        // And from before everything: the whole history of the prefix.
        etcd::watcher history = c.watch("/w/", before);
        int n = 0;
        while (next_event(history) && ++n < 6) {
        }
        EXPECT_EQ(n, 6);
      },
      procs2());
}

// The lease expires while its keeper cannot reach etcd (a partition: etcd
// itself runs on); once the keeper reaches etcd again it learns the lease
// is gone and says so.
TEST_F(etcd_test, KeeperReportsALeaseThatExpiredWhileEtcdWasUnreachable) {
  weft::run(
      [&] {
        {  // the relay goes before the count of goroutines
          etcd::client direct({server_.endpoint()});
          relay r(host_port(server_.endpoint()));
          etcd::options o;
          o.timeout = 2s;
          o.connect_timeout = 500ms;
          etcd::client far({r.endpoint()}, o);
          etcd::lease l = far.grant(2s);
          {
            etcd::lease_keeper keep(far, l);
            far.put("/partitioned", "v", l.id);
            weft::this_goroutine::sleep_for(l.ttl);  // a refresh or two go through
            ASSERT_TRUE(direct.get("/partitioned"));
            const auto cut = clock_type::now();
            r.cut();
            auto gone = time_until_gone(direct, "/partitioned", cut, l.ttl + 5s);
            ASSERT_TRUE(gone) << "the key outlived its lease by 5 s";
            EXPECT_LE(*gone, l.ttl + 1s + 500ms);  // from the cut: the last refresh was up to TTL/3 before it
            EXPECT_FALSE(keep.lost()) << "the keeper cannot know yet";
            EXPECT_NE(keep.last_error(), "");
            auto e = failure_of([&] { far.get("/partitioned"); });
            ASSERT_TRUE(e);
            EXPECT_EQ(e->kind(), weft::remote_errc::unreachable) << e->what();
            r.heal();
            bool ended = false;
            weft::select(weft::on_recv(keep.done(), [&](std::optional<bool>) { ended = true; }),
                         weft::on_recv(weft::after(10s), [](auto) {}));
            ASSERT_TRUE(ended) << "the keeper did not notice within 10 s of the heal: " << keep.last_error();
            EXPECT_TRUE(keep.lost());
          }
          // The caller re-registers under a new lease.
          etcd::lease again = far.grant(2s);
          far.put("/partitioned", "v", again.id);
          EXPECT_EQ(direct.get("/partitioned")->lease, again.id);
          far.revoke(again.id);
        }
        EXPECT_TRUE(weft_test::wait_goroutines(1));
      },
      procs2());
}

// etcd killed: calls fail within their deadline with unreachable, a watch
// ends with lost, the process runs on; etcd back on the same port and data:
// the same client works again, the lease kept alive across survives, and
// a watch resumes where the broken one stopped.
TEST_F(etcd_test, EtcdKilledAndRestarted) {
  weft::run(
      [&] {
        etcd::options o;
        o.timeout = 2s;
        o.connect_timeout = 500ms;
        etcd::client c({server_.endpoint()}, o);
        c.put("/r/before", "1");
        etcd::lease l = c.grant(3s);
        etcd::lease_keeper keep(c, l);
        c.put("/r/leased", "v", l.id);
        std::optional<etcd::watcher> w;
        w.emplace(c.watch("/r/"));
        c.put("/r/seen", "2");
        std::optional<etcd::event> e = next_event(*w);
        ASSERT_TRUE(e);
        EXPECT_EQ(e->kv.key, "/r/seen");

        server_.kill();
        // The watch breaks with lost.
        std::optional<etcd::event> after_kill = next_event(*w);
        EXPECT_FALSE(after_kill) << "an event from a dead etcd: " << after_kill->kv.key;
        std::exception_ptr why = w->error();
        ASSERT_TRUE(why);
        try {
          std::rethrow_exception(why);
        } catch (const weft::remote_error& err) {
          EXPECT_EQ(err.kind(), weft::remote_errc::lost) << err.what();
        }
        const std::int64_t resume = w->next_revision();
        w.reset();

        // Every call: unreachable, within the deadline, naming the endpoint.
        for (int i = 0; i < 3; ++i) {
          const auto t0 = clock_type::now();
          auto err = failure_of([&] { c.get("/r/before"); });
          const auto took = clock_type::now() - t0;
          ASSERT_TRUE(err);
          EXPECT_EQ(err->kind(), weft::remote_errc::unreachable) << err->what();
          EXPECT_NE(std::string(err->what()).find(server_.endpoint()), std::string::npos) << err->what();
          EXPECT_NE(std::string(err->what()).find("is etcd running"), std::string::npos) << err->what();
          EXPECT_LE(took, o.timeout + 500ms) << seconds(took) << " s";
        }
        auto werr = failure_of([&] { c.watch("/r/", resume); });
        ASSERT_TRUE(werr);
        EXPECT_EQ(werr->kind(), weft::remote_errc::unreachable) << werr->what();
        EXPECT_NE(keep.last_error(), "") << "the keeper has not tried while etcd was down";
        EXPECT_FALSE(keep.lost());

        ASSERT_TRUE(server_.start());
        // The same client: working again within a few tries (gRPC reconnects
        // within its 1 s backoff).
        int tries = 0;
        std::optional<etcd::key_value> before;
        for (; tries < 10 && !before; ++tries) {
          try {
            before = c.get("/r/before");
          } catch (const weft::remote_error& err) {
            EXPECT_EQ(err.kind(), weft::remote_errc::unreachable) << err.what();
          }
        }
        ASSERT_TRUE(before) << "no answer in " << tries << " tries";
        EXPECT_EQ(before->value, "1");
        EXPECT_LE(tries, 4);
        c.put("/r/after", "3");
        etcd::watcher resumed = c.watch("/r/", resume);
        std::optional<etcd::event> next = next_event(resumed);
        ASSERT_TRUE(next);
        EXPECT_EQ(next->kv.key, "/r/after");
        // A restarted etcd renews its leases: the key is kept, and the
        // keeper goes on.
        weft::this_goroutine::sleep_for(l.ttl + 1s);
        EXPECT_TRUE(c.get("/r/leased"));
        EXPECT_FALSE(keep.lost());
        EXPECT_EQ(keep.last_error(), "");
      },
      procs2());
}

TEST_F(etcd_test, FailsOverToAnEndpointThatAnswers) {
  weft::run(
      [&] {
        const std::string dead = "http://127.0.0.1:" + std::to_string(weft_test::free_tcp_port());
        etcd::options o;
        o.timeout = 3s;
        o.connect_timeout = 500ms;
        etcd::client c({dead, server_.endpoint()}, o);
        c.put("/fo", "1");
        EXPECT_EQ(c.get("/fo")->value, "1");
        etcd::watcher w = c.watch("/fo");
        c.put("/fo", "2");
        std::optional<etcd::event> e = next_event(w);
        ASSERT_TRUE(e);
        EXPECT_EQ(e->kv.value, "2");
        etcd::client none({dead, "127.0.0.1:" + std::to_string(weft_test::free_tcp_port())}, o);
        auto err = failure_of([&] { none.get("/fo"); });
        ASSERT_TRUE(err);
        EXPECT_EQ(err->kind(), weft::remote_errc::unreachable);
        EXPECT_NE(std::string(err->what()).find(dead), std::string::npos) << err->what();
      },
      procs2());
}

TEST(etcd_client, RefusesBadEndpoints) {
  using list = std::vector<std::string>;
  EXPECT_THROW(etcd::client(list{}), std::invalid_argument);
  EXPECT_THROW(etcd::client(list{"https://127.0.0.1:2379"}), std::invalid_argument);
  EXPECT_THROW(etcd::client(list{"127.0.0.1"}), std::invalid_argument);
  EXPECT_THROW(etcd::client(list{"ftp://127.0.0.1:2379"}), std::invalid_argument);
  EXPECT_NO_THROW(etcd::client(list{"http://127.0.0.1:2379/", "localhost:2379", "unix:/run/etcd.sock"}));
}

}  // namespace
