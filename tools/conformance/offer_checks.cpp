// tools/conformance/offer_checks.cpp: the select commit protocol
// (docs/protocol.md, "The select commit protocol"): OFFER and OFFER_NOW,
// accept and decline, Cancel before and after an Offer, a client that goes
// away mid-offer, and FIFO while offers are out. What must hold: a value
// leaves the channel only on accept; a decline, a cancel or a disconnect
// puts it back at the head; one reserved value is offered to one request at
// a time; values leave in the order they entered.
#include <weft/go.hpp>

#include "conformance.hpp"

namespace weft::conformance {

namespace {

using namespace ops;
using st = v1::ChanDone;

void recv_accept(suite& s) {
  std::unique_ptr<client> c = s.connect();
  std::uint64_t h = open_chan(*c, s.name("offer-accept"), "i64", 2).handle();
  send_value(*c, h, i64(1));
  send_value(*c, h, i64(2));
  std::uint64_t id = start_recv(*c, h, v1::OFFER);
  require(expect_offer(*c, id, "a receive OFFER with values there") == i64(1), "the Offer is not the head value");
  answer_offer(*c, id, true);
  c->expect_silence(id, "an accepted Offer (the request is over)");
  require(stat(*c, h).size() == 1, "after the accept, the channel does not hold one value");
  require(expect_done(*c, start_recv(*c, h, v1::TRY), st::DONE, "a receive after the accept") == i64(2),
          "the accepted value is still in the channel");
}

void recv_decline(suite& s) {
  std::unique_ptr<client> c = s.connect();
  std::uint64_t h = open_chan(*c, s.name("offer-decline"), "i64", 3).handle();
  send_value(*c, h, i64(1));
  send_value(*c, h, i64(2));
  std::uint64_t id = start_recv(*c, h, v1::OFFER);
  require(expect_offer(*c, id, "a receive OFFER") == i64(1), "the Offer is not the head value");
  answer_offer(*c, id, false);
  require(expect_done(*c, start_recv(*c, h, v1::TRY), st::DONE, "a receive after the decline") == i64(1),
          "the declined value is not back at the head of the channel");
  require(recv_value(*c, h) == i64(2), "FIFO: want 2 after the declined 1");
}

void recv_waits(suite& s) {
  std::unique_ptr<client> a = s.connect(), b = s.connect();
  std::string n = s.name("offer-waits");
  std::uint64_t ha = open_chan(*a, n, "i64", 0).handle(), hb = open_chan(*b, n, "i64", 0).handle();
  std::uint64_t id = start_recv(*a, ha, v1::OFFER);
  a->expect_silence(id, "a receive OFFER on an empty channel");
  std::uint64_t send = start_send(*b, hb, i64(6), v1::WAIT);
  require(expect_offer(*a, id, "the receive OFFER, once a sender came") == i64(6), "the Offer is not the sent value");
  b->expect_silence(send, "a WAIT send whose value is only offered, not yet accepted");
  answer_offer(*a, id, true);
  expect_done(*b, send, st::DONE, "the WAIT send, once its value was accepted");
}

void offer_now(suite& s) {
  std::unique_ptr<client> c = s.connect();
  std::uint64_t h = open_chan(*c, s.name("offer-now"), "i64", 1).handle();
  expect_done(*c, start_recv(*c, h, v1::OFFER_NOW), st::WOULD_BLOCK, "a receive OFFER_NOW on an empty channel");
  send_value(*c, h, i64(1));
  expect_done(*c, start_send(*c, h, i64(2), v1::OFFER_NOW), st::WOULD_BLOCK, "a send OFFER_NOW on a full channel");
  std::uint64_t id = start_recv(*c, h, v1::OFFER_NOW);
  require(expect_offer(*c, id, "a receive OFFER_NOW with a value there") == i64(1), "the Offer is not the value");
  answer_offer(*c, id, false);
  require(expect_done(*c, start_recv(*c, h, v1::TRY), st::DONE, "a receive after the decline") == i64(1),
          "the declined value is not back");
  id = start_send(*c, h, i64(3), v1::OFFER_NOW);
  expect_offer(*c, id, "a send OFFER_NOW with room");
  answer_offer(*c, id, true);
  require(recv_value(*c, h) == i64(3), "the accepted send's value is not in the channel");
}

void send_offers(suite& s) {
  std::unique_ptr<client> c = s.connect();
  std::uint64_t h = open_chan(*c, s.name("offer-send"), "i64", 1).handle();
  std::uint64_t id = start_send(*c, h, i64(7), v1::OFFER);
  expect_offer(*c, id, "a send OFFER with room");
  answer_offer(*c, id, true);
  c->expect_silence(id, "an accepted send Offer (the request is over)");
  std::uint64_t second = start_send(*c, h, i64(8), v1::OFFER);
  c->expect_silence(second, "a send OFFER on a full channel");
  require(recv_value(*c, h) == i64(7), "the accepted send's value is not in the channel");
  expect_offer(*c, second, "the send OFFER, once there is room");
  answer_offer(*c, second, false);
  require(stat(*c, h).size() == 0, "a declined send Offer put its value in the channel");
  expect_done(*c, start_recv(*c, h, v1::TRY), st::WOULD_BLOCK, "a receive after a declined send");
}

void send_unbuffered(suite& s) {
  std::unique_ptr<client> a = s.connect(), b = s.connect();
  std::string n = s.name("offer-send-unbuffered");
  std::uint64_t ha = open_chan(*a, n, "i64", 0).handle(), hb = open_chan(*b, n, "i64", 0).handle();
  std::uint64_t id = start_send(*a, ha, i64(5), v1::OFFER);
  a->expect_silence(id, "a send OFFER on an unbuffered channel with no receiver");
  std::uint64_t r = start_recv(*b, hb, v1::WAIT);
  expect_offer(*a, id, "the send OFFER, once a receiver waits");
  b->expect_silence(r, "a receive whose sender was offered but has not accepted");
  answer_offer(*a, id, true);
  require(expect_done(*b, r, st::DONE, "the receive, once the send was accepted") == i64(5), "not the sent value");
}

// docs/protocol.md: an accepted send's value is committed; if the receiver
// it was meant for declines, it waits at the head for the next receiver.
void accepted_send_waits(suite& s) {
  std::unique_ptr<client> a = s.connect(), b = s.connect();
  std::string n = s.name("offer-send-committed");
  std::uint64_t ha = open_chan(*a, n, "i64", 0).handle(), hb = open_chan(*b, n, "i64", 0).handle();
  std::uint64_t r = start_recv(*b, hb, v1::OFFER);
  std::uint64_t id = start_send(*a, ha, i64(5), v1::OFFER);
  expect_offer(*a, id, "a send OFFER with a receiver waiting");
  answer_offer(*a, id, true);
  require(expect_offer(*b, r, "the receive OFFER, once the send was accepted") == i64(5), "not the sent value");
  answer_offer(*b, r, false);
  std::uint64_t later = start_send(*a, ha, i64(6), v1::WAIT);
  require(recv_value(*b, hb) == i64(5), "the accepted, then declined value is not at the head");
  require(recv_value(*b, hb) == i64(6), "FIFO: want the later send's value next");
  expect_done(*a, later, st::DONE, "the later WAIT send, once received");
}

void closed(suite& s) {
  std::unique_ptr<client> a = s.connect(), b = s.connect();
  std::string n = s.name("offer-closed");
  std::uint64_t ha = open_chan(*a, n, "i64", 1).handle(), hb = open_chan(*b, n, "i64", 1).handle();
  std::uint64_t waiting = start_recv(*b, hb, v1::OFFER);
  b->expect_silence(waiting, "a receive OFFER on an empty channel");
  close_chan(*a, ha);
  expect_done(*b, waiting, st::CLOSED, "a receive OFFER waiting when the channel closed");
  expect_done(*a, start_recv(*a, ha, v1::OFFER), st::CLOSED, "a receive OFFER on a closed channel");
  expect_done(*a, start_recv(*a, ha, v1::OFFER_NOW), st::CLOSED, "a receive OFFER_NOW on a closed channel");
  expect_send_closed(*a, start_send(*a, ha, i64(1), v1::OFFER), "a send OFFER on a closed channel");
}

void cancel_before(suite& s) {
  std::unique_ptr<client> a = s.connect(), b = s.connect();
  std::string n = s.name("offer-cancel-before");
  std::uint64_t ha = open_chan(*a, n, "i64", 1).handle(), hb = open_chan(*b, n, "i64", 1).handle();
  std::uint64_t id = start_recv(*a, ha, v1::OFFER);
  a->expect_silence(id, "a receive OFFER on an empty channel");
  cancel(*a, id);
  expect_error(*a, id, v1::Error::CANCELLED, "a receive OFFER cancelled before any Offer");
  send_value(*b, hb, i64(3));
  a->expect_silence(id, "a cancelled receive OFFER (no Offer may follow)");
  require(expect_done(*b, start_recv(*b, hb, v1::TRY), st::DONE, "a receive after the cancel") == i64(3),
          "the value was kept for the cancelled request");
  send_value(*b, hb, i64(4));  // full: a send OFFER must wait
  std::uint64_t send = start_send(*a, ha, i64(5), v1::OFFER);
  a->expect_silence(send, "a send OFFER on a full channel");
  cancel(*a, send);
  expect_error(*a, send, v1::Error::CANCELLED, "a send OFFER cancelled before any Offer");
  require(recv_value(*b, hb) == i64(4), "want the buffered value");
  expect_done(*b, start_recv(*b, hb, v1::TRY), st::WOULD_BLOCK, "a receive after the cancelled send");
}

// The Cancel crosses the Offer: the Offer was the final reply; the client
// declines it, and the value must be back at the head.
void cancel_after(suite& s) {
  std::unique_ptr<client> a = s.connect(), b = s.connect();
  std::string n = s.name("offer-cancel-after");
  std::uint64_t ha = open_chan(*a, n, "i64", 2).handle(), hb = open_chan(*b, n, "i64", 2).handle();
  send_value(*b, hb, i64(1));
  send_value(*b, hb, i64(2));
  std::uint64_t id = start_recv(*a, ha, v1::OFFER);
  require(expect_offer(*a, id, "a receive OFFER") == i64(1), "the Offer is not the head value");
  cancel(*a, id);
  answer_offer(*a, id, false);
  if (std::optional<v1::Frame> r = a->poll(id); r && !(r->has_error() && r->error().code() == v1::Error::CANCELLED))
    throw failure("after the Offer, its Cancel and its decline, the server sent " + describe(*r));
  require(recv_value(*b, hb) == i64(1), "the offered value is not back at the head after Cancel and decline");
  require(recv_value(*b, hb) == i64(2), "FIFO: want 2 next");
}

void disconnect_recv(suite& s) {
  std::unique_ptr<client> a = s.connect(), b = s.connect();
  std::string n = s.name("offer-disconnect-recv");
  std::uint64_t ha = open_chan(*a, n, "i64", 2).handle(), hb = open_chan(*b, n, "i64", 2).handle();
  send_value(*b, hb, i64(1));
  send_value(*b, hb, i64(2));
  std::uint64_t id = start_recv(*a, ha, v1::OFFER);
  require(expect_offer(*a, id, "a receive OFFER") == i64(1), "the Offer is not the head value");
  std::uint64_t r = start_recv(*b, hb, v1::WAIT);
  a->close();  // mid-offer, without an OfferReply
  require(expect_done(*b, r, st::DONE, "a receive waiting while the offer was out") == i64(1),
          "the value reserved for the client that left did not come back to the head");
  require(recv_value(*b, hb) == i64(2), "FIFO: want 2 next");
}

void disconnect_send(suite& s) {
  std::unique_ptr<client> a = s.connect(), b = s.connect();
  std::string n = s.name("offer-disconnect-send");
  std::uint64_t ha = open_chan(*a, n, "i64", 1).handle(), hb = open_chan(*b, n, "i64", 1).handle();
  expect_offer(*a, start_send(*a, ha, i64(9), v1::OFFER), "a send OFFER with room");
  expect_done(*b, start_send(*b, hb, i64(8), v1::TRY), st::WOULD_BLOCK, "a TRY send while the only room is held");
  a->close();
  weft::this_goroutine::sleep_for(s.cfg().quiet);  // for the server to notice
  expect_done(*b, start_send(*b, hb, i64(8), v1::TRY), st::DONE, "a TRY send once the held room was released");
  require(recv_value(*b, hb) == i64(8), "the value of the send that was never accepted entered the channel");
}

// While a receive offer is out, the channel's later values go to nobody.
void one_at_a_time(suite& s) {
  std::unique_ptr<client> a = s.connect(), b = s.connect();
  std::string n = s.name("offer-one-at-a-time");
  std::uint64_t ha = open_chan(*a, n, "i64", 3).handle(), hb = open_chan(*b, n, "i64", 3).handle();
  send_value(*a, ha, i64(1));
  send_value(*a, ha, i64(2));
  std::uint64_t first = start_recv(*a, ha, v1::OFFER);
  require(expect_offer(*a, first, "a receive OFFER") == i64(1), "the Offer is not the head value");
  std::uint64_t second = start_recv(*b, hb, v1::OFFER);
  b->expect_silence(second, "a second receive OFFER while the first is out");
  expect_done(*b, start_recv(*b, hb, v1::TRY), st::WOULD_BLOCK, "a TRY receive while an offer is out (FIFO)");
  answer_offer(*a, first, false);
  require(expect_offer(*b, second, "the second receive OFFER, once the first was declined") == i64(1),
          "the declined head value was not offered next");
  answer_offer(*b, second, true);
  require(recv_value(*a, ha) == i64(2), "FIFO: want 2 next");
}

// A run of receives, offers declined and accepted in turn, from two
// connections: every value once, in order.
void fifo(suite& s) {
  std::unique_ptr<client> a = s.connect(), b = s.connect();
  std::string n = s.name("offer-fifo");
  std::uint64_t ha = open_chan(*a, n, "i64", 8).handle(), hb = open_chan(*b, n, "i64", 8).handle();
  const int count = 6;
  for (int i = 1; i <= count; ++i) send_value(*a, ha, i64(i));
  for (int want = 1; want <= count; ++want) {
    const std::string what = "receive of value " + std::to_string(want);
    std::uint64_t id = start_recv(*a, ha, v1::OFFER);
    require(expect_offer(*a, id, what) == i64(want), what + ": offered out of order");
    if (want % 2 == 1) {
      answer_offer(*a, id, false);  // b's request may come first: it must wait for the decline
      id = start_recv(*b, hb, want % 4 == 1 ? v1::OFFER : v1::WAIT);
      std::string v = want % 4 == 1 ? expect_offer(*b, id, what) : expect_done(*b, id, st::DONE, what);
      require(v == i64(want), what + ": after a decline, another value came first");
      if (want % 4 == 1) answer_offer(*b, id, true);
    } else {
      answer_offer(*a, id, true);
    }
  }
  expect_done(*b, start_recv(*b, hb, v1::TRY), st::WOULD_BLOCK, "a receive after every value was taken once");
}

}  // namespace

std::vector<check> offer_checks() {
  return {
      {"offer.receive-accept", false, recv_accept},
      {"offer.receive-decline-returns-value-to-head", false, recv_decline},
      {"offer.receive-waits-for-a-sender", false, recv_waits},
      {"offer.offer-now", false, offer_now},
      {"offer.send-accept-and-decline", false, send_offers},
      {"offer.send-unbuffered-needs-a-receiver", false, send_unbuffered},
      {"offer.accepted-send-waits-at-head-after-decline", false, accepted_send_waits},
      {"offer.closed-channel", false, closed},
      {"offer.cancel-before-offer", false, cancel_before},
      {"offer.cancel-after-offer", false, cancel_after},
      {"offer.disconnect-mid-offer-returns-value", false, disconnect_recv},
      {"offer.disconnect-releases-held-room", false, disconnect_send},
      {"fifo.one-receive-offer-at-a-time", false, one_at_a_time},
      {"fifo.with-offers", false, fifo},
  };
}

}  // namespace weft::conformance
