// src/server/session and server over real sockets: the handshake and its
// refusals, bad bytes of every kind answered with an Error to that client
// only (and logged once), a silent client dropped, heartbeats, channels
// and variables shared across connections, a disconnect mid-offer giving
// the value back, and other clients unaffected throughout.
#include "server/server.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <mutex>

#include <weft/codec.hpp>

#include "server/server_testing.hpp"
#include "weft_test_util.hpp"

namespace {

using namespace server_testing;
namespace srv = weft::server;

// Reads what the server sends to a raw connection until it closes.
std::vector<frame> read_to_end(weft::net::conn& c) {
  weft::wire::frame_decoder d;
  std::vector<frame> out;
  c.set_read_deadline(std::chrono::steady_clock::now() + std::chrono::seconds(5));
  for (;;) {
    char* at = d.prepare(4096);
    std::size_t n = c.read(std::span<std::byte>(reinterpret_cast<std::byte*>(at), 4096));
    if (n == 0) break;
    d.commit(n);
    std::string_view p;
    while (d.next(&p) == weft::wire::frame_decoder::status::ready) {
      frame f;
      EXPECT_TRUE(weft::wire::parse_frame(p, f));
      out.push_back(f);
    }
  }
  return out;
}

std::string framed(const frame& f) {
  std::string s;
  weft::wire::append_frame(f, s);
  return s;
}

frame hello_frame(v1::Hello h = good_hello()) {
  frame f;
  *f.mutable_hello() = std::move(h);
  return f;
}

// The connection ends after the Error (not a timeout).
void expect_closed(test_client& c) {
  std::optional<frame> f = c.next(std::chrono::seconds(3));
  EXPECT_FALSE(f) << f->ShortDebugString();
  EXPECT_FALSE(c.timed_out()) << "the server kept the connection open";
}

template <class F>
void in_runtime(F f) {
  weft_test::watchdog dog(std::chrono::seconds(60), "session test");
  weft::run(std::move(f), weft_test::procs_opt(2));
}

// "os" lends weftd's user's files: offered on a Unix socket (the user's own
// directory) or with a cluster key, never on TCP without one.
TEST(Session, OsIsOfferedOnlyWhereAttachingProvesSomething) {
  auto offers_os = [](weft::wire::endpoint e, std::string key) {
    srv::options o;
    o.endpoint = std::move(e);
    o.state.cluster_key = std::move(key);
    srv::server s(o);
    const auto& caps = s.state().opts.self.capabilities;
    return std::find(caps.begin(), caps.end(), "os") != caps.end();
  };
  EXPECT_TRUE(offers_os({"unix", "/tmp/weft-never-bound.sock"}, ""));
  EXPECT_FALSE(offers_os({"tcp", "127.0.0.1:0"}, ""));
  EXPECT_TRUE(offers_os({"tcp", "127.0.0.1:0"}, "a cluster key of 32 bytes......."));
}

TEST(Session, HandshakeWelcomes) {
  in_runtime([] {
    served s;
    test_client c(s.endpoint);
    std::optional<frame> w = c.handshake();
    ASSERT_TRUE(w && w->has_welcome()) << (w ? w->ShortDebugString() : "none");
    EXPECT_EQ(w->id(), 0u);
    EXPECT_EQ(w->welcome().version().major(), 1u);
    EXPECT_EQ(w->welcome().max_frame(), weft::wire::default_max_frame);
    EXPECT_NE(w->welcome().process_id(), 0u);
    EXPECT_TRUE(w->welcome().challenge().empty());
    std::vector<std::string> caps(w->welcome().capabilities().begin(), w->welcome().capabilities().end());
    EXPECT_EQ(caps, (std::vector<std::string>{"chan", "var", "control", "os", "circuit", "migrate", "exit_after_done"}));
    EXPECT_EQ(s.log->count("attached: tool 1.0"), 1u) << s.log->all();
  });
}

TEST(Session, AnotherMajorIsRefusedNamingBoth) {
  in_runtime([] {
    served s;
    test_client c(s.endpoint);
    v1::Hello h = good_hello();
    h.mutable_version()->set_major(2);
    h.mutable_version()->set_minor(3);
    expect_error(c.handshake(h), v1::Error::VERSION, "server speaks weft runtime protocol 1.0, client 2.3");
    expect_closed(c);
    test_client minor(s.endpoint);  // another minor is fine
    v1::Hello m = good_hello();
    m.mutable_version()->set_minor(9);
    std::optional<frame> w = minor.handshake(m);
    EXPECT_TRUE(w && w->has_welcome());
  });
}

TEST(Session, WrongMagicOrFirstFrameIsNotAWeftClient) {
  in_runtime([] {
    served s;
    test_client c(s.endpoint);
    v1::Hello h = good_hello();
    h.set_magic("weft-runtimE");
    expect_error(c.handshake(h), v1::Error::PROTOCOL, "not a weft client");
    expect_closed(c);
    test_client d(s.endpoint);
    frame open;
    open.set_id(1);
    open.mutable_chan_open()->set_name("x");
    d.send(open);
    expect_error(d.next(), v1::Error::PROTOCOL, "not a weft client");
    expect_closed(d);
  });
}

TEST(Session, AMissingCapabilityIsRefusedByName) {
  in_runtime([] {
    served s;
    test_client c(s.endpoint);
    v1::Hello h = good_hello();
    h.add_required_capabilities("trace");
    expect_error(c.handshake(h), v1::Error::REFUSED, "capability trace (it offers chan, var, control, os, circuit, migrate, exit_after_done)");
    expect_closed(c);
  });
}

TEST(Session, GarbageBytesGetAnErrorThenTheConnectionCloses) {
  in_runtime([] {
    served s;
    weft::net::conn c = weft::wire::dial(s.endpoint, std::chrono::seconds(2));
    c.write(std::string_view("GET / HTTP/1.1\r\nHost: weft\r\n\r\n"));
    std::vector<frame> got = read_to_end(c);
    ASSERT_EQ(got.size(), 1u);
    expect_error(got[0], v1::Error::PROTOCOL, "not a weft client");
    EXPECT_EQ(s.log->count("not a weft client"), 1u) << s.log->all();
  });
}

TEST(Session, AnOversizedOrUnparsableFrameAfterTheHandshake) {
  in_runtime([] {
    served s;
    {
      weft::net::conn c = weft::wire::dial(s.endpoint, std::chrono::seconds(2));
      c.write(framed(hello_frame()) + std::string("\x01\x00\x00\x01", 4));  // 16 MiB + 1
      std::vector<frame> got = read_to_end(c);
      ASSERT_EQ(got.size(), 2u);
      EXPECT_TRUE(got[0].has_welcome());
      expect_error(got[1], v1::Error::PROTOCOL, "announced a frame of 16777217 bytes");
    }
    {
      weft::net::conn c = weft::wire::dial(s.endpoint, std::chrono::seconds(2));
      std::string junk("\x00\x00\x00\x03\xff\xff\xff", 7);
      c.write(framed(hello_frame()) + junk);
      std::vector<frame> got = read_to_end(c);
      ASSERT_EQ(got.size(), 2u);
      expect_error(got[1], v1::Error::PROTOCOL, "not a weft.runtime.v1.Frame");
    }
  });
}

TEST(Session, ASilentClientIsDropped) {
  in_runtime([] {
    served s(std::chrono::milliseconds(300));
    auto start = std::chrono::steady_clock::now();
    weft::net::conn c = weft::wire::dial(s.endpoint, std::chrono::seconds(2));
    std::vector<frame> got = read_to_end(c);
    auto took = std::chrono::steady_clock::now() - start;
    ASSERT_EQ(got.size(), 1u);
    expect_error(got[0], v1::Error::PROTOCOL, "no Hello within 300 ms");
    EXPECT_GE(took, std::chrono::milliseconds(300));
    EXPECT_LT(took, std::chrono::seconds(3));
    for (int i = 0; i < 100 && s.log->count("sent no Hello") == 0; ++i) weft::this_goroutine::sleep_for(10ms);
    EXPECT_EQ(s.log->count("dropped: sent no Hello within 300 ms"), 1u) << s.log->all();
  });
}

TEST(Session, PingPongAndServerHeartbeats) {
  in_runtime([] {
    served s;
    test_client c(s.endpoint);
    ASSERT_TRUE(c.handshake());
    frame ping;
    ping.mutable_ping()->set_nonce(4242);
    c.send(ping);
    std::optional<frame> pong = c.next();
    ASSERT_TRUE(pong && pong->has_pong());
    EXPECT_EQ(pong->pong().nonce(), 4242u);
    weft::this_goroutine::sleep_for(700ms);  // the server is silent: it pings
    EXPECT_GE(c.pings(), 1u);
  });
}

TEST(Session, ChannelsAreSharedAcrossConnections) {
  in_runtime([] {
    served s;
    test_client a(s.endpoint), b(s.endpoint);
    ASSERT_TRUE(a.handshake());
    ASSERT_TRUE(b.handshake());
    std::uint64_t ha = a.open_chan("jobs", 0), hb = b.open_chan("jobs", 0);
    EXPECT_EQ(a.open_chan("jobs", 0), ha);  // one handle per object
    frame recv;
    recv.set_id(b.next_id());
    recv.mutable_chan_recv()->set_handle(hb);
    recv.mutable_chan_recv()->set_mode(v1::WAIT);
    b.send(recv);
    frame send;
    send.mutable_chan_send()->set_handle(ha);
    send.mutable_chan_send()->set_value(weft::encode<std::int64_t>(99));
    send.mutable_chan_send()->set_mode(v1::WAIT);
    std::optional<frame> done = a.call(send);
    ASSERT_TRUE(done);
    EXPECT_EQ(done_status(*done), "DONE");
    std::optional<frame> got = b.next();
    ASSERT_TRUE(got);
    EXPECT_EQ(got->id(), recv.id());
    EXPECT_EQ(weft::decode<std::int64_t>(got->chan_done().value()), 99);

    frame mismatch;
    mismatch.mutable_chan_open()->set_name("jobs");
    mismatch.mutable_chan_open()->set_signature("i64");
    mismatch.mutable_chan_open()->set_has_capacity(true);
    mismatch.mutable_chan_open()->set_capacity(64);
    expect_error(a.call(mismatch), v1::Error::REFUSED, "capacity 0, not 64");

    frame var;
    var.mutable_var_open()->set_name("n");
    var.mutable_var_open()->set_signature("i64");
    var.mutable_var_open()->set_initial(weft::encode<std::int64_t>(1));
    std::optional<frame> vo = a.call(var);
    ASSERT_TRUE(vo && vo->has_var_opened());
    frame add;
    add.mutable_var_op()->set_handle(vo->var_opened().handle());
    add.mutable_var_op()->set_op(v1::VarOp::FETCH_ADD);
    add.mutable_var_op()->set_value(weft::encode<std::int64_t>(2));
    std::optional<frame> old = a.call(add);
    ASSERT_TRUE(old && old->has_var_value());
    EXPECT_EQ(weft::decode<std::int64_t>(old->var_value().value()), 1);
  });
}

TEST(Session, CancelAndAClientsProtocolErrors) {
  in_runtime([] {
    served s;
    test_client c(s.endpoint);
    ASSERT_TRUE(c.handshake());
    std::uint64_t h = c.open_chan("q", 1);
    frame recv;
    recv.set_id(50);
    recv.mutable_chan_recv()->set_handle(h);
    recv.mutable_chan_recv()->set_mode(v1::WAIT);
    c.send(recv);
    frame cancel;
    cancel.set_id(50);
    cancel.mutable_cancel();
    c.send(cancel);
    std::optional<frame> r = c.next();
    ASSERT_TRUE(r);
    EXPECT_EQ(r->id(), 50u);
    expect_error(r, v1::Error::CANCELLED, "cancelled");

    c.send(recv);  // id 50 again: free since its reply
    c.send(recv);  // outstanding twice: the client is broken
    expect_error(c.next(), v1::Error::PROTOCOL, "request id 50 is already outstanding");
    expect_closed(c);

    test_client d(s.endpoint);
    ASSERT_TRUE(d.handshake());
    frame reply;
    reply.set_id(9);
    reply.mutable_offer_reply()->set_accept(true);
    d.send(reply);
    expect_error(d.next(), v1::Error::PROTOCOL, "no Offer outstanding");
    expect_closed(d);
  });
}

TEST(Session, ADisconnectMidOfferGivesTheValueBack) {
  in_runtime([] {
    served s;
    test_client a(s.endpoint), c(s.endpoint);
    ASSERT_TRUE(a.handshake());
    ASSERT_TRUE(c.handshake());
    std::uint64_t ha = a.open_chan("sel", 1);
    frame send;
    send.mutable_chan_send()->set_handle(ha);
    send.mutable_chan_send()->set_value(weft::encode<std::int64_t>(7));
    send.mutable_chan_send()->set_mode(v1::TRY);
    ASSERT_EQ(done_status(*a.call(send)), "DONE");
    {
      test_client b(s.endpoint);
      ASSERT_TRUE(b.handshake());
      std::uint64_t hb = b.open_chan("sel", 1);
      frame offer;
      offer.mutable_chan_recv()->set_handle(hb);
      offer.mutable_chan_recv()->set_mode(v1::OFFER);
      std::optional<frame> o = b.call(offer);
      ASSERT_TRUE(o && o->has_offer());
      EXPECT_EQ(weft::decode<std::int64_t>(o->offer().value()), 7);
      b.close();  // dies with the Offer unanswered
    }
    std::uint64_t hc = c.open_chan("sel", 1);
    frame recv;
    recv.mutable_chan_recv()->set_handle(hc);
    recv.mutable_chan_recv()->set_mode(v1::WAIT);
    std::optional<frame> got = c.call(recv);
    ASSERT_TRUE(got);
    EXPECT_EQ(weft::decode<std::int64_t>(got->chan_done().value()), 7);
  });
}

TEST(Session, BadRequestsGetErrorsAndAreLoggedOnce) {
  in_runtime([] {
    served s;
    {
      test_client c(s.endpoint);
      ASSERT_TRUE(c.handshake());
      for (int i = 0; i < 5; ++i) {
        frame send;
        send.mutable_chan_send()->set_handle(12345);
        send.mutable_chan_send()->set_mode(v1::WAIT);
        expect_error(c.call(send), v1::Error::NOT_FOUND, "no channel has handle 12345");
      }
      frame ok;
      ok.mutable_chan_stat()->set_handle(c.open_chan("still", 2));
      std::optional<frame> st = c.call(ok);  // the connection goes on
      ASSERT_TRUE(st && st->has_chan_stats());
      EXPECT_EQ(st->chan_stats().capacity(), 2u);
    }
    for (int i = 0; i < 200 && s.log->count("detached") == 0; ++i) weft::this_goroutine::sleep_for(10ms);
    EXPECT_EQ(s.log->count("no channel has handle"), 1u) << s.log->all();
    EXPECT_EQ(s.log->count("4 more bad inputs not logged"), 1u) << s.log->all();
  });
}

// Bad clients of every kind come and go while a good one keeps working.
TEST(Session, OtherClientsAreUnaffected) {
  in_runtime([] {
    served s(std::chrono::milliseconds(300));
    test_client good(s.endpoint), peer(s.endpoint);
    ASSERT_TRUE(good.handshake());
    ASSERT_TRUE(peer.handshake());
    std::uint64_t hg = good.open_chan("work", 4), hp = peer.open_chan("work", 4);
    weft::wait_group bad;
    auto raw = [&](std::string bytes) {
      bad.add(1);
      weft::go([&, bytes] {
        weft::net::conn c = weft::wire::dial(s.endpoint, std::chrono::seconds(2));
        if (!bytes.empty()) c.write(bytes);
        read_to_end(c);
        bad.done();
      });
    };
    v1::Hello two = good_hello();
    two.mutable_version()->set_major(2);
    for (int round = 0; round < 3; ++round) {
      raw("garbage garbage garbage");
      raw(framed(hello_frame()) + std::string("\x7f\xff\xff\xff", 4));
      raw(framed(hello_frame(two)));
      raw("");  // silent
      for (int i = 0; i < 20; ++i) {
        frame send;
        send.mutable_chan_send()->set_handle(hg);
        send.mutable_chan_send()->set_value(weft::encode<std::int64_t>(round * 100 + i));
        send.mutable_chan_send()->set_mode(v1::WAIT);
        std::optional<frame> d = good.call(send);
        ASSERT_TRUE(d);
        ASSERT_EQ(done_status(*d), "DONE");
        frame recv;
        recv.mutable_chan_recv()->set_handle(hp);
        recv.mutable_chan_recv()->set_mode(v1::WAIT);
        std::optional<frame> r = peer.call(recv);
        ASSERT_TRUE(r);
        ASSERT_EQ(weft::decode<std::int64_t>(r->chan_done().value()), round * 100 + i);
      }
    }
    bad.wait();
    // A bad client sees the end of its stream a moment before its
    // connection goroutine has finished: wait for that.
    for (int i = 0; i < 200 && s.server().connections() != 2; ++i) weft::this_goroutine::sleep_for(10ms);
    EXPECT_EQ(s.server().connections(), 2u);
  });
}

TEST(Session, StopEndsEveryConnection) {
  in_runtime([] {
    served s;
    test_client c(s.endpoint);
    ASSERT_TRUE(c.handshake());
    std::uint64_t h = c.open_chan("q", 0);
    frame recv;
    recv.set_id(c.next_id());
    recv.mutable_chan_recv()->set_handle(h);
    recv.mutable_chan_recv()->set_mode(v1::WAIT);
    c.send(recv);
    s.server().stop();
    expect_closed(c);
    EXPECT_EQ(s.server().connections(), 0u);
    EXPECT_THROW(weft::wire::dial(s.endpoint, std::chrono::seconds(1)), std::system_error);
  });
}

TEST(Server, ListensBeyondLoopbackOnlyWithAKey) {
  EXPECT_TRUE(srv::loopback(weft::wire::parse_endpoint("unix:/tmp/x")));
  EXPECT_TRUE(srv::loopback(weft::wire::parse_endpoint("tcp:127.0.0.1:1")));
  EXPECT_TRUE(srv::loopback(weft::wire::parse_endpoint("tcp:127.8.9.10:1")));
  EXPECT_TRUE(srv::loopback(weft::wire::parse_endpoint("tcp:[::1]:1")));
  EXPECT_TRUE(srv::loopback(weft::wire::parse_endpoint("tcp:localhost:1")));
  EXPECT_FALSE(srv::loopback(weft::wire::parse_endpoint("tcp::1")));
  EXPECT_FALSE(srv::loopback(weft::wire::parse_endpoint("tcp:0.0.0.0:1")));
  EXPECT_FALSE(srv::loopback(weft::wire::parse_endpoint("tcp:[::]:1")));
  EXPECT_FALSE(srv::loopback(weft::wire::parse_endpoint("tcp:10.1.2.3:1")));
  EXPECT_FALSE(srv::loopback(weft::wire::parse_endpoint("tcp:example.com:1")));
  in_runtime([] {
    srv::options o;
    o.endpoint = weft::wire::parse_endpoint("tcp:0.0.0.0:0");
    srv::server s(o);
    try {
      s.listen();
      ADD_FAILURE() << "listened beyond loopback without a key";
    } catch (const std::invalid_argument& e) {
      EXPECT_NE(std::string(e.what()).find("--key"), std::string::npos) << e.what();
    }
  });
}

TEST(Server, ServesLoopbackTcp) {
  in_runtime([] {
    srv::options o;
    o.endpoint = weft::wire::parse_endpoint("tcp:127.0.0.1:0");
    o.state.log = nullptr;
    srv::server s(o);
    s.listen();
    weft::go([&] { s.serve(); });
    ASSERT_EQ(s.address().rfind("tcp:127.0.0.1:", 0), 0u) << s.address();
    {
      test_client c(weft::wire::parse_endpoint(s.address()));
      std::optional<frame> w = c.handshake();
      EXPECT_TRUE(w && w->has_welcome());
    }
    s.stop();
  });
}

}  // namespace
