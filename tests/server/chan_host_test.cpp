// src/server/chan_host: the channel state machine, driven by recorders (no
// sockets): FIFO, every mode, offers accepted, declined, cancelled and
// orphaned by a disconnect, close, remove, open mismatches, and the
// budget back at zero once everything has left (no value leaked).
#include "server/chan_host.hpp"

#include <gtest/gtest.h>

#include <weft/codec.hpp>

#include "server/server_testing.hpp"

namespace {

using namespace server_testing;
using weft::server::budget;
using weft::server::chan_host;
using weft::server::hosted_chan;

std::string val(std::int64_t i) { return weft::encode<std::int64_t>(i); }
std::int64_t num(const std::string& b) { return weft::decode<std::int64_t>(b); }

class ChanHost : public ::testing::Test {
 protected:
  std::shared_ptr<hosted_chan> open(const std::string& name, std::uint64_t cap) {
    chan_host::opened o = host.open(name, "i64", true, cap);
    EXPECT_TRUE(o.chan) << o.error;
    return o.chan;
  }
  void expect_done(recorder& r, std::uint64_t id, v1::ChanDone::Status s) {
    frame f = r.one();
    EXPECT_EQ(f.id(), id);
    EXPECT_EQ(done_status(f), v1::ChanDone::Status_Name(s));
  }
  void expect_value(recorder& r, std::uint64_t id, std::int64_t want) {
    frame f = r.one();
    EXPECT_EQ(f.id(), id);
    ASSERT_EQ(done_status(f), "DONE");
    EXPECT_EQ(num(f.chan_done().value()), want);
  }
  std::int64_t expect_offer(recorder& r, std::uint64_t id) {
    frame f = r.one();
    EXPECT_EQ(f.id(), id);
    EXPECT_TRUE(f.has_offer()) << f.ShortDebugString();
    return f.offer().value().empty() ? -1 : num(f.offer().value());
  }
  void expect_error(recorder& r, std::uint64_t id, v1::Error::Code code) {
    frame f = r.one();
    EXPECT_EQ(f.id(), id);
    ASSERT_TRUE(f.has_error()) << f.ShortDebugString();
    EXPECT_EQ(f.error().code(), code) << f.error().message();
    EXPECT_FALSE(f.error().message().empty());
  }

  budget values{1u << 30};
  chan_host host{&values};
  recorder a, b, c;
};

TEST_F(ChanHost, BufferedIsFifoAndAdmitsBlockedSendersInOrder) {
  auto ch = open("q", 2);
  ch->send(a, 1, val(10), v1::WAIT);
  expect_done(a, 1, v1::ChanDone::DONE);
  ch->send(a, 2, val(11), v1::WAIT);
  expect_done(a, 2, v1::ChanDone::DONE);
  ch->send(a, 3, val(12), v1::WAIT);  // full: waits
  ch->send(b, 4, val(13), v1::WAIT);
  EXPECT_TRUE(a.quiet());
  EXPECT_EQ(ch->stat().size(), 2u);
  ch->recv(c, 5, v1::WAIT);
  expect_value(c, 5, 10);
  expect_done(a, 3, v1::ChanDone::DONE);  // 12 moved into the buffer
  EXPECT_TRUE(b.quiet());
  for (std::int64_t want : {11, 12, 13}) {
    ch->recv(c, 6, v1::WAIT);
    expect_value(c, 6, want);
  }
  expect_done(b, 4, v1::ChanDone::DONE);
  EXPECT_EQ(values.used(), 0u);
}

TEST_F(ChanHost, TryModesNeverWait) {
  auto ch = open("t", 1);
  ch->recv(a, 1, v1::TRY);
  expect_done(a, 1, v1::ChanDone::WOULD_BLOCK);
  ch->send(a, 2, val(1), v1::TRY);
  expect_done(a, 2, v1::ChanDone::DONE);
  ch->send(a, 3, val(2), v1::TRY);
  expect_done(a, 3, v1::ChanDone::WOULD_BLOCK);
  ch->recv(a, 4, v1::TRY);
  expect_value(a, 4, 1);
  auto un = open("u", 0);
  un->send(a, 5, val(3), v1::TRY);  // nobody receiving
  expect_done(a, 5, v1::ChanDone::WOULD_BLOCK);
  un->recv(b, 6, v1::WAIT);
  un->send(a, 7, val(4), v1::TRY);  // a receiver waits: done
  expect_done(a, 7, v1::ChanDone::DONE);
  expect_value(b, 6, 4);
  EXPECT_EQ(values.used(), 0u);
}

TEST_F(ChanHost, UnbufferedWaitRendezvous) {
  auto ch = open("u", 0);
  ch->send(a, 1, val(7), v1::WAIT);
  EXPECT_TRUE(a.quiet());
  EXPECT_EQ(ch->stat().size(), 0u);  // a blocked sender is not in the buffer
  ch->recv(b, 2, v1::WAIT);
  expect_value(b, 2, 7);
  expect_done(a, 1, v1::ChanDone::DONE);
  ch->recv(b, 3, v1::WAIT);  // now the receiver waits
  ch->send(a, 4, val(8), v1::WAIT);
  expect_value(b, 3, 8);
  expect_done(a, 4, v1::ChanDone::DONE);
}

TEST_F(ChanHost, AcceptedReceiveOfferTakesTheValueAndLaterReceiversWaitBehindIt) {
  auto ch = open("o", 4);
  for (int i = 0; i < 3; ++i) ch->send(a, 1 + i, val(i), v1::WAIT);
  a.take();
  ch->recv(b, 10, v1::OFFER);
  EXPECT_EQ(expect_offer(b, 10), 0);
  ch->recv(c, 11, v1::WAIT);  // FIFO: nothing is handed out while 0 is offered
  EXPECT_TRUE(c.quiet());
  ch->recv(c, 12, v1::TRY);
  expect_done(c, 12, v1::ChanDone::WOULD_BLOCK);
  EXPECT_TRUE(ch->offer_reply(b, 10, true));
  EXPECT_TRUE(b.quiet());  // an accept ends the request: no further reply
  expect_value(c, 11, 1);
  EXPECT_FALSE(ch->offer_reply(b, 10, true));  // no longer outstanding
}

TEST_F(ChanHost, DeclinedReceiveOfferPutsTheValueBackAtTheHead) {
  auto ch = open("d", 4);
  ch->send(a, 1, val(1), v1::WAIT);
  ch->send(a, 2, val(2), v1::WAIT);
  a.take();
  ch->recv(b, 10, v1::OFFER);
  EXPECT_EQ(expect_offer(b, 10), 1);
  ch->recv(c, 11, v1::WAIT);
  EXPECT_TRUE(ch->offer_reply(b, 10, false));
  expect_value(c, 11, 1);  // 1 again, before 2
  ch->recv(c, 12, v1::WAIT);
  expect_value(c, 12, 2);
  EXPECT_EQ(values.used(), 0u);
}

TEST_F(ChanHost, OfferNowReportsWouldBlockOrOffers) {
  auto ch = open("n", 1);
  ch->recv(a, 1, v1::OFFER_NOW);
  expect_done(a, 1, v1::ChanDone::WOULD_BLOCK);
  ch->send(a, 2, val(5), v1::OFFER_NOW);
  EXPECT_EQ(expect_offer(a, 2), -1);  // room held for the value
  ch->send(b, 3, val(6), v1::OFFER_NOW);  // one send offer at a time
  expect_done(b, 3, v1::ChanDone::WOULD_BLOCK);
  EXPECT_TRUE(ch->offer_reply(a, 2, true));
  ch->recv(b, 4, v1::OFFER_NOW);
  EXPECT_EQ(expect_offer(b, 4), 5);
  EXPECT_TRUE(ch->offer_reply(b, 4, true));
  EXPECT_EQ(values.used(), 0u);
}

TEST_F(ChanHost, CancelBeforeTheOfferEndsTheRequestAfterItWaitsForTheReply) {
  auto ch = open("c", 0);
  ch->recv(a, 1, v1::OFFER);
  ch->cancel(a, 1);
  expect_error(a, 1, v1::Error::CANCELLED);
  ch->send(b, 2, val(9), v1::WAIT);  // the cancelled receiver takes nothing
  EXPECT_TRUE(a.quiet());
  ch->recv(a, 3, v1::OFFER);
  EXPECT_EQ(expect_offer(a, 3), 9);
  ch->cancel(a, 3);  // crossed the Offer: no reply, the Offer stands
  EXPECT_TRUE(a.quiet());
  EXPECT_TRUE(ch->offer_reply(a, 3, false));  // the stub declines it
  EXPECT_TRUE(b.quiet());                    // the sender still waits
  ch->recv(c, 4, v1::WAIT);
  expect_value(c, 4, 9);
  expect_done(b, 2, v1::ChanDone::DONE);
  ch->cancel(a, 99);  // unknown: nothing
  EXPECT_TRUE(a.quiet());
}

TEST_F(ChanHost, CancelOfASenderWhoseValueIsOfferedWaitsForTheOutcome) {
  auto ch = open("s", 0);
  ch->send(a, 1, val(1), v1::WAIT);
  ch->recv(b, 2, v1::OFFER);
  EXPECT_EQ(expect_offer(b, 2), 1);
  ch->cancel(a, 1);
  EXPECT_TRUE(a.quiet());
  EXPECT_TRUE(ch->offer_reply(b, 2, false));
  expect_error(a, 1, v1::Error::CANCELLED);  // declined: the cancel wins
  ch->send(a, 3, val(2), v1::WAIT);
  ch->recv(b, 4, v1::OFFER);
  EXPECT_EQ(expect_offer(b, 4), 2);
  ch->cancel(a, 3);
  EXPECT_TRUE(ch->offer_reply(b, 4, true));
  expect_done(a, 3, v1::ChanDone::DONE);  // accepted: the send happened
  EXPECT_EQ(values.used(), 0u);
}

TEST_F(ChanHost, DisconnectMidOfferGivesTheValueBack) {
  auto ch = open("x", 2);
  ch->send(a, 1, val(1), v1::WAIT);
  ch->send(a, 2, val(2), v1::WAIT);
  a.take();
  ch->recv(b, 3, v1::OFFER);
  EXPECT_EQ(expect_offer(b, 3), 1);
  ch->recv(c, 4, v1::WAIT);
  EXPECT_TRUE(c.quiet());
  ch->drop(b);  // b's process died with the Offer unanswered
  expect_value(c, 4, 1);
  ch->recv(c, 5, v1::WAIT);
  expect_value(c, 5, 2);
  EXPECT_FALSE(ch->offer_reply(b, 3, true));
  EXPECT_EQ(values.used(), 0u);
}

TEST_F(ChanHost, DisconnectDropsWaitersBlockedValuesAndSendOffers) {
  auto ch = open("y", 0);
  ch->send(a, 1, val(1), v1::WAIT);  // blocked
  ch->recv(b, 2, v1::OFFER);
  EXPECT_EQ(expect_offer(b, 2), 1);  // a's value reserved for b
  ch->send(a, 3, val(2), v1::WAIT);  // blocked behind it
  ch->drop(a);                       // the sender dies
  EXPECT_TRUE(ch->offer_reply(b, 2, false));
  ch->recv(c, 4, v1::TRY);  // both of a's values went with a
  expect_done(c, 4, v1::ChanDone::WOULD_BLOCK);

  ch->send(a, 5, val(3), v1::WAIT);
  ch->recv(b, 6, v1::OFFER);
  EXPECT_EQ(expect_offer(b, 6), 3);
  ch->drop(a);
  EXPECT_TRUE(ch->offer_reply(b, 6, true));  // accepted: b has it; nobody to tell
  EXPECT_TRUE(a.quiet());

  ch->recv(b, 7, v1::WAIT);
  ch->send(c, 8, val(4), v1::OFFER);
  EXPECT_EQ(expect_offer(c, 8), -1);
  ch->drop(c);  // the send offer dies unanswered: nothing was sent
  EXPECT_TRUE(b.quiet());
  ch->drop(b);
  EXPECT_EQ(values.used(), 0u);
}

TEST_F(ChanHost, UnbufferedOfferSendersMeetOfferReceivers) {
  auto ch = open("sel", 0);
  ch->send(a, 1, val(42), v1::OFFER);  // no receiver: waits, no offer
  EXPECT_TRUE(a.quiet());
  ch->recv(b, 2, v1::OFFER);  // a receiver: the sender is offered room
  EXPECT_EQ(expect_offer(a, 1), -1);
  EXPECT_TRUE(b.quiet());
  EXPECT_TRUE(ch->offer_reply(a, 1, true));  // committed
  EXPECT_EQ(expect_offer(b, 2), 42);
  EXPECT_TRUE(ch->offer_reply(b, 2, false));  // b's select went elsewhere
  EXPECT_EQ(ch->stat().size(), 1u);          // 42 waits at the head
  ch->recv(c, 3, v1::WAIT);
  expect_value(c, 3, 42);  // received exactly once

  ch->send(a, 4, val(43), v1::OFFER);
  ch->recv(b, 5, v1::OFFER);
  EXPECT_EQ(expect_offer(a, 4), -1);
  EXPECT_TRUE(ch->offer_reply(a, 4, false));  // a's select went elsewhere
  EXPECT_TRUE(b.quiet());
  ch->cancel(b, 5);
  expect_error(b, 5, v1::Error::CANCELLED);
  EXPECT_EQ(values.used(), 0u);
}

TEST_F(ChanHost, CloseWakesEveryoneAndKeepsBufferedValues) {
  auto ch = open("cl", 1);
  ch->send(a, 1, val(1), v1::WAIT);
  expect_done(a, 1, v1::ChanDone::DONE);
  ch->send(a, 2, val(2), v1::WAIT);   // blocked
  ch->send(b, 3, val(3), v1::OFFER);  // waiting for room
  ch->close(c, 4);
  frame ok = c.one();
  EXPECT_TRUE(ok.has_ok());
  std::vector<frame> fa = a.take(), fb = b.take();
  ASSERT_EQ(fa.size(), 1u);
  EXPECT_EQ(done_status(fa[0]), "CLOSED");
  ASSERT_EQ(fb.size(), 1u);
  EXPECT_EQ(done_status(fb[0]), "CLOSED");
  ch->recv(c, 5, v1::WAIT);
  expect_value(c, 5, 1);  // buffered values stay receivable
  ch->recv(c, 6, v1::WAIT);
  expect_done(c, 6, v1::ChanDone::CLOSED);
  ch->recv(c, 7, v1::TRY);
  expect_done(c, 7, v1::ChanDone::CLOSED);
  ch->send(a, 8, val(4), v1::WAIT);
  expect_done(a, 8, v1::ChanDone::CLOSED);
  ch->close(a, 9);
  expect_error(a, 9, v1::Error::CLOSED);
  EXPECT_TRUE(ch->stat().closed());

  auto un = open("cl2", 0);
  un->recv(a, 10, v1::WAIT);
  un->recv(b, 11, v1::OFFER);
  un->close(c, 12);
  c.take();
  expect_done(a, 10, v1::ChanDone::CLOSED);
  expect_done(b, 11, v1::ChanDone::CLOSED);
  EXPECT_EQ(values.used(), 0u);
}

TEST_F(ChanHost, ReceiversOfAClosedChannelWaitForAnOutstandingSendOffer) {
  auto ch = open("late", 0);
  ch->recv(a, 1, v1::WAIT);
  ch->send(b, 2, val(5), v1::OFFER);
  EXPECT_EQ(expect_offer(b, 2), -1);
  ch->close(c, 3);
  c.take();
  EXPECT_TRUE(a.quiet());  // the offer may still be accepted
  EXPECT_TRUE(ch->offer_reply(b, 2, true));
  expect_value(a, 1, 5);  // the send happened before the close
  ch->recv(a, 4, v1::WAIT);
  expect_done(a, 4, v1::ChanDone::CLOSED);
}

TEST_F(ChanHost, RemoveClosesAndLaterRequestsAreNotFound) {
  auto ch = open("rm", 4);
  ch->send(a, 1, val(1), v1::WAIT);
  a.take();
  auto un = open("rm2", 0);
  un->recv(b, 2, v1::WAIT);
  EXPECT_TRUE(host.remove("rm"));
  EXPECT_TRUE(host.remove("rm2"));
  EXPECT_FALSE(host.remove("rm2"));
  expect_done(b, 2, v1::ChanDone::CLOSED);
  ch->recv(a, 3, v1::WAIT);
  expect_error(a, 3, v1::Error::NOT_FOUND);
  EXPECT_EQ(values.used(), 0u);  // the buffered value went with it
  auto again = open("rm", 0);    // a new channel of that name
  EXPECT_NE(again.get(), ch.get());
}

TEST_F(ChanHost, OpenChecksSignatureAndCapacity) {
  chan_host::opened first = host.open("jobs", "i64", true, 4);
  ASSERT_TRUE(first.chan);
  EXPECT_TRUE(first.created);
  chan_host::opened same = host.open("jobs", "i64", false, 0);
  EXPECT_EQ(same.chan, first.chan);
  EXPECT_FALSE(same.created);
  chan_host::opened cap = host.open("jobs", "i64", true, 64);
  EXPECT_FALSE(cap.chan);
  EXPECT_EQ(cap.code, v1::Error::REFUSED);
  EXPECT_NE(cap.error.find("capacity 4, not 64"), std::string::npos) << cap.error;
  chan_host::opened sig = host.open("jobs", "str", false, 0);
  EXPECT_FALSE(sig.chan);
  EXPECT_EQ(sig.code, v1::Error::REFUSED);
  EXPECT_NE(sig.error.find("holds i64, not str"), std::string::npos) << sig.error;
  EXPECT_FALSE(host.open("", "i64", false, 0).chan);
  EXPECT_FALSE(host.open("x", "", false, 0).chan);
  EXPECT_FALSE(host.open(std::string(5000, 'n'), "i64", false, 0).chan);
  EXPECT_EQ(host.size(), 1u);
}

TEST_F(ChanHost, ValuesBeyondTheBudgetAreRefused) {
  budget small(16);
  chan_host h(&small);
  auto ch = h.open("b", "str", true, 10).chan;
  ch->send(a, 1, std::string(10, 'x'), v1::WAIT);
  expect_done(a, 1, v1::ChanDone::DONE);
  ch->send(a, 2, std::string(10, 'y'), v1::WAIT);
  expect_error(a, 2, v1::Error::REFUSED);
  ch->recv(a, 3, v1::WAIT);
  a.take();
  ch->send(a, 4, std::string(10, 'y'), v1::WAIT);  // room again
  expect_done(a, 4, v1::ChanDone::DONE);
}

}  // namespace
