// tests/circuit/anchor_watch_test.cpp: AnchorWatch against a real weftd of
// one host (no etcd), with real workers (this binary is its own worker, as
// spawn_test's is): a raw protocol client sees the snapshot, SYNCED, a
// spawned worker's JOIN and its LEAVE once it is killed, in that order,
// and CANCELLED for its Cancel; and the real `weft ls --watch` prints
// those changes as lines, ends with status 0 on SIGINT, and with status 1
// saying why when its weftd goes.
#include <gtest/gtest.h>

#include <signal.h>

#include <chrono>
#include <optional>
#include <string>

#include <weft/circuit.hpp>
#include <weft/remote.hpp>
#include <weft/weft.hpp>

#include "remote/weftd_fixture.hpp"
#include "server/server_testing.hpp"
#include "wire/endpoint.hpp"
#include "weft_test_util.hpp"

namespace {

using namespace std::chrono_literals;
using server_testing::frame;
using server_testing::test_client;
namespace v1 = weft::runtime::v1;

// Parks until the remote channel `name` is closed or sent to.
int waits_on(std::string name) {
  weft::remote::chan<int> c(name);
  auto v = c.recv();
  return v ? *v : -1;
}
WEFT_SPAWNABLE(waits_on);

// Polls f for 10 s (the condition is another process's doing).
template <class F>
bool eventually(F f) {
  return weft_test::eventually(f, 10s);
}

class AnchorWatch : public weft_test::weftd_test {
 protected:
  // A TOOL connection to the fixture's weftd.
  std::unique_ptr<test_client> tool() {
    auto c = std::make_unique<test_client>(weft::wire::parse_endpoint(address()));
    v1::Hello h = server_testing::good_hello();
    h.clear_required_capabilities();
    h.add_required_capabilities("circuit");
    std::optional<frame> w = c->handshake(h);
    EXPECT_TRUE(w && w->has_welcome()) << (w ? w->ShortDebugString() : "no answer");
    return c;
  }
  static void watch(test_client& c, std::uint64_t id, const std::string& selector) {
    frame f;
    f.set_id(id);
    f.mutable_anchor_watch()->set_selector(selector);
    c.send(f);
  }
  // The next AnchorEvent of request id (fails the test otherwise).
  static v1::AnchorEvent event(test_client& c, std::uint64_t id) {
    std::optional<frame> f = c.next(10s);
    EXPECT_TRUE(f && f->has_anchor_event() && f->id() == id) << (f ? f->ShortDebugString() : "no frame");
    return f && f->has_anchor_event() ? f->anchor_event() : v1::AnchorEvent();
  }
  static std::string text(const v1::AnchorEvent& e) {
    return v1::AnchorEvent::Kind_Name(e.kind()) + (e.entry().path().empty() ? "" : " " + e.entry().path());
  }
  static void kill_worker(weft::spawned<int>& w) {
    w.worker().kill_hard();
    try {
      w.get();
      ADD_FAILURE() << "no exception";
    } catch (const weft::remote_error&) {}
  }
};

TEST_F(AnchorWatch, SeesTheSnapshotThenSyncedThenJoinAndLeaveInOrder) {
  weft::run(
      [this] {
        auto before = weft::spawn({.anchors = {"/test/watch"}}, waits_on, std::string("never"));
        const std::string b = before.worker().id();
        auto c = tool();
        watch(*c, 5, "/test/watch");
        EXPECT_EQ(text(event(*c, 5)), "JOIN /test/watch/" + b);
        v1::AnchorEvent synced = event(*c, 5);
        EXPECT_EQ(text(synced), "SYNCED");

        auto later = weft::spawn({.anchors = {"/test/watch", "/other"}}, waits_on, std::string("never"));
        const std::string l = later.worker().id();
        v1::AnchorEvent j = event(*c, 5);
        EXPECT_EQ(text(j), "JOIN /test/watch/" + l);  // not /other: not selected
        EXPECT_EQ(j.entry().worker_id(), l);
        EXPECT_EQ(j.entry().pid(), later.worker().pid());
        EXPECT_EQ(j.entry().function(), "waits_on");

        kill_worker(before);
        EXPECT_EQ(text(event(*c, 5)), "LEAVE /test/watch/" + b);
        kill_worker(later);
        EXPECT_EQ(text(event(*c, 5)), "LEAVE /test/watch/" + l);

        frame cancel;
        cancel.set_id(5);
        cancel.mutable_cancel();
        c->send(cancel);
        std::optional<frame> end = c->next(10s);
        server_testing::expect_error(end, v1::Error::CANCELLED, "cancelled");
        if (end) {
          EXPECT_EQ(end->id(), 5u);
        }
        // And nothing after the final reply, though workers come and go.
        auto more = weft::spawn({.anchors = {"/test/watch"}}, waits_on, std::string("never"));
        kill_worker(more);
        frame ping;  // a request whose reply comes after anything the watch would have sent
        ping.set_id(6);
        ping.mutable_anchor_list()->set_selector("/test/watch");
        c->send(ping);
        std::optional<frame> list = c->next(10s);
        ASSERT_TRUE(list) << "no reply";
        EXPECT_TRUE(list->has_anchors()) << list->ShortDebugString();
      },
      attached());
}

TEST_F(AnchorWatch, TheWeftCommandPrintsTheEntriesThenEachChange) {
  weft::run(
      [this] {
        auto before = weft::spawn({.anchors = {"/test/cmd"}}, waits_on, std::string("never"));
        const std::string b = before.worker().id();
        weft_test::command ls({WEFT_TEST_WEFT, "ls", "--watch", "--runtime", address(), "/test/cmd"});
        const std::string start = "/test/cmd/" + b + "\n";
        ASSERT_TRUE(eventually([&] { return ls.out() == start; })) << ls.out() << ls.err();

        auto later = weft::spawn({.anchors = {"/test/cmd"}}, waits_on, std::string("never"));
        const std::string l = later.worker().id();
        const std::string joined = start + "+ /test/cmd/" + l + "\n";
        ASSERT_TRUE(eventually([&] { return ls.out() == joined; })) << ls.out() << ls.err();
        kill_worker(before);
        const std::string left = joined + "- /test/cmd/" + b + "\n";
        ASSERT_TRUE(eventually([&] { return ls.out() == left; })) << ls.out() << ls.err();

        ::kill(ls.pid(), SIGINT);
        EXPECT_EQ(ls.wait(), 0) << ls.err();
        EXPECT_EQ(ls.out(), left);
        EXPECT_EQ(ls.err(), "");
        kill_worker(later);
      },
      attached());
}

TEST_F(AnchorWatch, TheWeftCommandWithJsonPrintsOneEventPerLine) {
  weft::run(
      [this] {
        weft_test::command ls({WEFT_TEST_WEFT, "ls", "--watch", "--json", "--runtime", address(), "/test/json/..."});
        ASSERT_TRUE(eventually([&] { return ls.out() == "{\"event\":\"synced\"}\n"; })) << ls.out() << ls.err();
        auto w = weft::spawn({.anchors = {"/test/json/a"}}, waits_on, std::string("never"));
        const std::string id = w.worker().id();
        const std::string join = "{\"event\":\"join\",\"path\":\"/test/json/a/" + id + "\",\"id\":\"" + id + "\"";
        ASSERT_TRUE(eventually([&] { return ls.out().find(join) != std::string::npos; })) << ls.out() << ls.err();
        kill_worker(w);
        const std::string leave = "{\"event\":\"leave\",\"path\":\"/test/json/a/" + id + "\"";
        ASSERT_TRUE(eventually([&] { return ls.out().find(leave) != std::string::npos; })) << ls.out() << ls.err();
        ::kill(ls.pid(), SIGTERM);
        EXPECT_EQ(ls.wait(), 0) << ls.err();
      },
      attached(1));
}

TEST_F(AnchorWatch, TheWeftCommandEndsWithStatus1WhenItsWeftdGoes) {
  weft_test::command ls({WEFT_TEST_WEFT, "ls", "--watch", "--json", "--runtime", address()});
  // Watching once it has printed the end of the (empty) snapshot.
  auto end = std::chrono::steady_clock::now() + 10s;
  while (ls.out().empty() && std::chrono::steady_clock::now() < end) std::this_thread::sleep_for(5ms);
  ASSERT_EQ(ls.out(), "{\"event\":\"synced\"}\n") << ls.err();
  kill_server();
  EXPECT_EQ(ls.wait(), 1) << ls.err();
  EXPECT_NE(ls.err().find("weft ls: the watch ended: weftd at " + address()), std::string::npos) << ls.err();
}

}  // namespace

int main(int argc, char** argv) {
  if (weft::is_worker()) return weft::run([] {});
  ::testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}
