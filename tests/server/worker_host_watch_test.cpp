// tests/server/worker_host_watch_test.cpp: AnchorWatch in weftd's session and
// worker host (src/server/worker_host_watch.cpp), with a cluster view the
// test drives: the view's events reach the client under the request's id
// and none is final; Cancel ends the watch with CANCELLED and stops the
// view's watch; a client that leaves stops it too; a client that does not
// read loses its watch with TOO_LARGE; one host with no workers answers
// SYNCED alone. (With real workers: tests/circuit/anchor_watch_test.cpp;
// with etcd: tests/etcd/etcd_anchor_watch_test.cpp.)
#include <gtest/gtest.h>

#include <atomic>
#include <stop_token>

#include "server/server_testing.hpp"
#include "server/worker_host.hpp"
#include "weft_test_util.hpp"

namespace {

using namespace server_testing;
using weft::server::cluster_view;
using weft::server::worker_host;

// A cluster view whose anchor watch the test drives: it keeps the last
// watch's sink and stop_token.
class fake_view final : public cluster_view {
 public:
  std::vector<v1::HostInfo> hosts() override { return {}; }
  void worker_started(const std::string&, const std::vector<v1::AnchorEntry>&) override {}
  void worker_ended(const std::string&) override {}
  std::vector<v1::AnchorEntry> anchors(const std::string&) override { return {}; }
  void watch_anchors(const std::string& selector, std::stop_token stop, anchor_sink sink) override {
    std::lock_guard lk(mu_);
    selector_ = selector;
    stop_ = std::move(stop);
    sink_ = std::move(sink);
    watches_.fetch_add(1);
  }
  bool send(v1::AnchorEvent::Kind kind, const std::string& path = "") {
    v1::AnchorEvent ev;
    ev.set_kind(kind);
    if (!path.empty()) ev.mutable_entry()->set_path(path);
    anchor_sink s;
    {
      std::lock_guard lk(mu_);
      s = sink_;
    }
    return s(ev);
  }
  bool stop_requested() {
    std::lock_guard lk(mu_);
    return stop_.stop_requested();
  }
  std::string selector() {
    std::lock_guard lk(mu_);
    return selector_;
  }
  std::atomic<int> watches_{0};

 private:
  std::mutex mu_;
  std::string selector_;
  std::stop_token stop_;
  anchor_sink sink_;
};

// A recorder whose backlog the test sets.
class slow_client final : public weft::server::client {
 public:
  void post(const frame& f) noexcept override { inner.post(f); }
  std::size_t backlog() const noexcept override { return behind.load(); }
  recorder inner;
  std::atomic<std::size_t> behind{0};
};

// Polls f (a condition the server reaches on its own goroutines) for 5 s.
template <class F>
bool eventually(F f) {
  return weft_test::eventually(f, 5s);
}

frame watch_request(std::uint64_t id, const std::string& selector) {
  frame f;
  f.set_id(id);
  f.mutable_anchor_watch()->set_selector(selector);
  return f;
}

TEST(WorkerHostWatch, TheViewsEventsReachTheClientUntilCancel) {
  weft::run([] {
    fake_view view;
    served s;
    s.server().state().workers.set_cluster(&view);
    test_client c(s.endpoint);
    ASSERT_TRUE(c.handshake());
    c.send(watch_request(7, "/db/..."));
    ASSERT_TRUE(eventually([&] { return view.watches_.load() == 1; }));
    EXPECT_EQ(view.selector(), "/db/...");
    EXPECT_TRUE(view.send(v1::AnchorEvent::JOIN, "/db/R1"));
    EXPECT_TRUE(view.send(v1::AnchorEvent::SYNCED));
    EXPECT_TRUE(view.send(v1::AnchorEvent::LEAVE, "/db/R1"));
    for (auto kind : {v1::AnchorEvent::JOIN, v1::AnchorEvent::SYNCED, v1::AnchorEvent::LEAVE}) {
      std::optional<frame> f = c.next();
      ASSERT_TRUE(f && f->has_anchor_event()) << (f ? f->ShortDebugString() : "no frame");
      EXPECT_EQ(f->id(), 7u);
      EXPECT_EQ(f->anchor_event().kind(), kind);
    }
    frame cancel;
    cancel.set_id(7);
    cancel.mutable_cancel();
    c.send(cancel);
    std::optional<frame> end = c.next();
    expect_error(end, v1::Error::CANCELLED, "cancelled");
    if (end) {
      EXPECT_EQ(end->id(), 7u);
    }
    // Ended before the Error was posted; its view told to stop just after.
    EXPECT_FALSE(view.send(v1::AnchorEvent::JOIN, "/db/R2"));
    EXPECT_TRUE(eventually([&] { return view.stop_requested(); }));
    // The id is free again (its final reply was posted): a new watch under it.
    c.send(watch_request(7, "/x"));
    ASSERT_TRUE(eventually([&] { return view.watches_.load() == 2; }));
    EXPECT_TRUE(view.send(v1::AnchorEvent::SYNCED));
    std::optional<frame> f = c.next();
    ASSERT_TRUE(f && f->has_anchor_event());
    EXPECT_EQ(f->id(), 7u);
  });
}

TEST(WorkerHostWatch, AClientThatLeavesStopsTheViewsWatch) {
  weft::run([] {
    fake_view view;
    served s;
    s.server().state().workers.set_cluster(&view);
    {
      test_client c(s.endpoint);
      ASSERT_TRUE(c.handshake());
      c.send(watch_request(3, "/..."));
      ASSERT_TRUE(eventually([&] { return view.watches_.load() == 1; }));
      c.close();
    }
    EXPECT_TRUE(eventually([&] { return view.stop_requested(); }));
    EXPECT_FALSE(view.send(v1::AnchorEvent::JOIN, "/a/R1"));
  });
}

TEST(WorkerHostWatch, AClientThatDoesNotReadLosesItsWatch) {
  weft::run([] {
    fake_view view;
    worker_host::limits l;
    l.max_watch_backlog = 1000;
    std::vector<std::string> lines;
    worker_host wh(l, [&](std::string_view line) { lines.emplace_back(line); });
    wh.set_cluster(&view);
    slow_client c;
    v1::AnchorWatch m;
    m.set_selector("/...");
    wh.watch(c, 9, m);
    EXPECT_TRUE(view.send(v1::AnchorEvent::SYNCED));
    EXPECT_EQ(c.inner.one().anchor_event().kind(), v1::AnchorEvent::SYNCED);
    c.behind = 1001;
    EXPECT_FALSE(view.send(v1::AnchorEvent::JOIN, "/a/R1"));
    frame end = c.inner.one();
    EXPECT_EQ(end.id(), 9u);
    ASSERT_TRUE(end.has_error()) << end.ShortDebugString();
    EXPECT_EQ(end.error().code(), v1::Error::TOO_LARGE);
    EXPECT_NE(end.error().message().find("wait to be read"), std::string::npos) << end.error().message();
    EXPECT_FALSE(wh.cancel_watch(c, 9));  // already over
    EXPECT_TRUE(c.inner.quiet());
    wh.forget_client(c);
  });
}

TEST(WorkerHostWatch, OneHostWithNoWorkersSendsSyncedAlone) {
  weft::run([] {
    worker_host wh({}, [](std::string_view) {});
    recorder c;
    v1::AnchorWatch m;
    wh.watch(c, 4, m);
    frame f = c.one();
    EXPECT_EQ(f.id(), 4u);
    EXPECT_EQ(f.anchor_event().kind(), v1::AnchorEvent::SYNCED);
    EXPECT_TRUE(wh.cancel_watch(c, 4));
    expect_error(c.one(), v1::Error::CANCELLED, "cancelled");
    EXPECT_FALSE(wh.cancel_watch(c, 4));
  });
}

}  // namespace
