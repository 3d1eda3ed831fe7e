// tests/etcd/etcd_anchor_watch_test.cpp: every host's anchors as a stream
// (etcd_member::watch_anchors, src/cluster/anchor_watch.cpp) against a
// real etcd: one member watches while another member's workers start and
// end; the snapshot comes first and then SYNCED; a selector filters; etcd
// killed gives one warning, and the changes made while it was away come
// once it is back, none repeated.
#include "cluster/etcd_member.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <optional>
#include <stop_token>
#include <string>
#include <vector>

#include <weft/weft.hpp>

#include "etcd/etcd_fixture.hpp"

namespace {

using namespace std::chrono_literals;
using weft::cluster::etcd_member;
using weft::cluster::member_options;
namespace v1 = weft::runtime::v1;

v1::AnchorEntry entry(const std::string& path, const std::string& id, const std::string& host) {
  v1::AnchorEntry e;
  e.set_path(path);
  e.set_worker_id(id);
  e.set_host(host);
  return e;
}

// A watch's events on a channel (the sink runs on the member's goroutine).
struct events {
  weft::chan<v1::AnchorEvent> ch{1024};
  std::stop_source stop;
  // The next event, or nullopt after 10 s.
  std::optional<v1::AnchorEvent> next() {
    std::optional<v1::AnchorEvent> got;
    weft::select(weft::on_recv(ch, [&](std::optional<v1::AnchorEvent> e) { got = std::move(e); }),
                 weft::on_recv(weft::after(10s), [] {}));
    return got;
  }
  // The next event that is not a warning alone.
  std::optional<v1::AnchorEvent> next_change() {
    for (;;) {
      std::optional<v1::AnchorEvent> e = next();
      if (!e || e->kind() != v1::AnchorEvent::KIND_UNSPECIFIED) return e;
    }
  }
};

std::string describe(const std::optional<v1::AnchorEvent>& e) {
  if (!e) return "no event";
  return v1::AnchorEvent::Kind_Name(e->kind()) + " " + e->entry().path() + " " + e->warning();
}

void expect(const std::optional<v1::AnchorEvent>& e, v1::AnchorEvent::Kind kind, const std::string& path = "") {
  ASSERT_TRUE(e) << "no event";
  EXPECT_EQ(e->kind(), kind) << describe(e);
  EXPECT_EQ(e->entry().path(), path) << describe(e);
}

class EtcdAnchorWatch : public weft_test::etcd_test {
 protected:
  std::unique_ptr<etcd_member> member(const std::string& name) {
    member_options o;
    o.etcd = {server_.endpoint()};
    o.prefix = "/weft-test";
    o.refresh = 200ms;
    weft::server::host_identity id{name, "tcp:10.0.0.1:7070", {}, 1};
    return std::make_unique<etcd_member>(o, id, [] { return 0u; }, [](std::string_view) {});
  }
  void watch(etcd_member& m, const std::string& selector, events& ev) {
    m.watch_anchors(selector, ev.stop.get_token(), [&ev](const v1::AnchorEvent& e) {
      return ev.ch.try_send(e);  // full: the test has stopped reading
    });
  }
};

TEST_F(EtcdAnchorWatch, SeesAnotherHostsWorkersJoinAndLeaveAfterTheSnapshot) {
  weft::run([&] {
    auto a = member("ha");
    auto b = member("hb");
    a->start();
    b->start();
    const std::string before = "R0000000000000001", later = "R0000000000000002", other = "R0000000000000003";
    b->worker_started(before, {entry("/db/shard/" + before, before, "hb")});
    // Published by a goroutine of b's: wait until a reads it.
    for (int i = 0; i < 500 && a->anchors("/db/...").empty(); ++i) weft::this_goroutine::sleep_for(10ms);
    ASSERT_EQ(a->anchors("/db/...").size(), 1u);

    events ev;
    watch(*a, "/db/shard", ev);
    expect(ev.next(), v1::AnchorEvent::JOIN, "/db/shard/" + before);
    expect(ev.next(), v1::AnchorEvent::SYNCED);

    b->worker_started(other, {entry("/elsewhere/" + other, other, "hb")});  // not selected
    b->worker_started(later, {entry("/db/shard/" + later, later, "hb")});
    std::optional<v1::AnchorEvent> j = ev.next();
    expect(j, v1::AnchorEvent::JOIN, "/db/shard/" + later);
    if (j) {
      EXPECT_EQ(j->entry().host(), "hb");
    }
    b->worker_ended(before);
    std::optional<v1::AnchorEvent> l = ev.next();
    expect(l, v1::AnchorEvent::LEAVE, "/db/shard/" + before);
    if (l) {
      EXPECT_EQ(l->entry().worker_id(), before);  // the entry as it was told, not just the key
    }
    b->worker_ended(other);
    b->worker_ended(later);
    expect(ev.next(), v1::AnchorEvent::LEAVE, "/db/shard/" + later);

    ev.stop.request_stop();
    b->stop();
    a->stop();  // waits for the watch's goroutine
    EXPECT_TRUE(ev.ch.try_recv() == std::nullopt) << "an event after the last one expected";
  });
}

TEST_F(EtcdAnchorWatch, EtcdLostGivesAWarningAndTheWatchResumesWithTheChangesMeanwhile) {
  weft::run([&] {
    auto a = member("ha");
    a->start();
    events ev;
    watch(*a, "/...", ev);
    expect(ev.next(), v1::AnchorEvent::SYNCED);
    const std::string id = "R0000000000000004";
    a->worker_started(id, {entry("/x/" + id, id, "ha")});
    expect(ev.next(), v1::AnchorEvent::JOIN, "/x/" + id);

    server_.kill();
    std::optional<v1::AnchorEvent> w = ev.next();
    ASSERT_TRUE(w);
    EXPECT_EQ(w->kind(), v1::AnchorEvent::KIND_UNSPECIFIED) << describe(w);
    EXPECT_NE(w->warning().find("etcd"), std::string::npos) << describe(w);
    ASSERT_TRUE(server_.start());
    // Removed while the watch was down (etcd is back, the watch may not
    // be yet): its LEAVE comes once, and nothing else does.
    a->worker_ended(id);
    expect(ev.next_change(), v1::AnchorEvent::LEAVE, "/x/" + id);
    const std::string id2 = "R0000000000000005";
    a->worker_started(id2, {entry("/x/" + id2, id2, "ha")});
    expect(ev.next_change(), v1::AnchorEvent::JOIN, "/x/" + id2);
    ev.stop.request_stop();
    a->stop();
  });
}

}  // namespace
