// tests/wire/peer_traffic_test.cpp: the per-peer byte table (design in
// src/wire/peer_traffic.hpp): a live link's bytes count for its peer, two
// links to one peer add up, a link that goes leaves its bytes in its
// peer's total (T1), and the busiest peer comes first. One goroutine's
// tally (src/wire/peer_tally.hpp) adds up per peer the same way.
#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <vector>

#include "weft/runtime/v1/runtime.pb.h"
#include "wire/link.hpp"
#include "wire/peer_tally.hpp"
#include "wire/peer_traffic.hpp"
#include <weft/net.hpp>
#include <weft/weft.hpp>

namespace {

using weft::wire::frame;
using weft::wire::peer_bytes;

// The table's entry for (pid, host); zeros if none.
peer_bytes entry(std::int64_t pid, const std::string& host) {
  for (const peer_bytes& p : weft::wire::peer_traffic())
    if (p.pid == pid && p.host == host) return p;
  return peer_bytes{.pid = pid, .host = host, .out = 0, .in = 0};
}

// Sends n bytes of payload from `from` to `to` and reads it there.
void exchange(weft::wire::link& from, weft::wire::link& to, std::size_t n) {
  frame f;
  f.mutable_error()->set_message(std::string(n, 'x'));
  from.send(f);
  frame got;
  ASSERT_TRUE(to.receive(got));
}

TEST(PeerTraffic, LiveAndGoneLinksAddUpPerPeerAndTheBusiestComesFirst) {
  // Made-up pids: nothing else in this process tracks them.
  constexpr std::int64_t busy = 900001, quiet = 900002;
  weft::run([&] {
    weft::net::listener ln = weft::net::listen("tcp", "127.0.0.1:0");
    auto a = std::make_unique<weft::wire::link>(weft::net::dial("tcp", ln.address()), "a");
    auto a_far = std::make_unique<weft::wire::link>(ln.accept(), "a's far end");
    auto b = std::make_unique<weft::wire::link>(weft::net::dial("tcp", ln.address()), "b");
    auto b_far = std::make_unique<weft::wire::link>(ln.accept(), "b's far end");
    auto q = std::make_unique<weft::wire::link>(weft::net::dial("tcp", ln.address()), "q");
    auto q_far = std::make_unique<weft::wire::link>(ln.accept(), "q's far end");
    // Writers: a send cut short by a full socket finishes in its writer.
    weft::wait_group writers;
    for (auto* l : {a.get(), a_far.get(), b.get(), q.get()}) {
      writers.add(1);
      weft::go([l, &writers] {
        l->write_loop();
        writers.done();
      });
    }
    weft::wire::track_peer_link(a.get(), busy, "h");
    weft::wire::track_peer_link(b.get(), busy, "h");  // a second link to one peer (T2)
    weft::wire::track_peer_link(q.get(), quiet, "h");
    exchange(*a, *a_far, 50000);
    exchange(*a_far, *a, 1000);
    exchange(*b, *b_far, 30000);
    exchange(*q, *q_far, 100);
    peer_bytes e = entry(busy, "h");
    EXPECT_GT(e.out, 80000u);
    EXPECT_LT(e.out, 81000u);  // the frames' own bytes: a few each
    EXPECT_GT(e.in, 1000u);
    EXPECT_LT(e.in, 1100u);
    const std::uint64_t before = e.out + e.in;
    // b goes: its bytes stay in busy's total, counted once (T1).
    weft::wire::untrack_peer_link(b.get());
    weft::wire::untrack_peer_link(b.get());  // idempotent
    b->close();
    b_far->close();
    e = entry(busy, "h");
    EXPECT_EQ(e.out + e.in, before);
    exchange(*a, *a_far, 10000);
    EXPECT_GT(entry(busy, "h").out, e.out + 10000 - 1);
    const std::vector<peer_bytes> all = weft::wire::peer_traffic();
    std::size_t at_busy = all.size(), at_quiet = all.size();
    for (std::size_t i = 0; i < all.size(); ++i) {
      if (all[i].pid == busy) at_busy = i;
      if (all[i].pid == quiet) at_quiet = i;
    }
    ASSERT_LT(at_quiet, all.size());
    EXPECT_LT(at_busy, at_quiet);
    weft::wire::untrack_peer_link(a.get());
    weft::wire::untrack_peer_link(q.get());
    for (auto* l : {a.get(), a_far.get(), q.get(), q_far.get()}) l->close();
    writers.wait();
  });
}

// A goroutine's tally: calls and replies to one peer add up, peers are
// told apart by pid and host, the busiest comes first.
TEST(PeerTally, CallsAndRepliesAddUpPerPeerAndTheBusiestComesFirst) {
  weft::wire::peer_tally t;
  EXPECT_TRUE(t.snapshot().empty());
  t.add(7, "a", 100, 0);
  t.add(7, "a", 0, 40);
  t.add(7, "b", 1000, 0);  // the same pid on another host: another peer
  t.add(9, "a", 10, 5);
  const std::vector<peer_bytes> s = t.snapshot();
  ASSERT_EQ(s.size(), 3u);
  EXPECT_EQ(s[0].pid, 7);
  EXPECT_EQ(s[0].host, "b");
  EXPECT_EQ(s[0].out, 1000u);
  EXPECT_EQ(s[1].host, "a");
  EXPECT_EQ(s[1].out, 100u);
  EXPECT_EQ(s[1].in, 40u);
  EXPECT_EQ(s[2].pid, 9);
  EXPECT_EQ(s[2].out + s[2].in, 15u);
}

}  // namespace
