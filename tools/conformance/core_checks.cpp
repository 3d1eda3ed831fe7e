// tools/conformance/core_checks.cpp: the core part, what every runtime
// server must do (docs/protocol.md): the handshake; Ping, Cancel, Goodbye
// and many requests at once; channels with WAIT and TRY, ChanClose,
// ChanStat and Remove; variables with every operation.
#include <cstdint>
#include <cstdio>
#include <limits>
#include <type_traits>

#include <weft/go.hpp>

#include "conformance.hpp"

namespace weft::conformance {

namespace {

using namespace ops;
using st = v1::ChanDone;

bool offers(const v1::Welcome& w, const std::string& capability) {
  for (const std::string& c : w.capabilities())
    if (c == capability) return true;
  return false;
}

void welcome(suite& s) {
  std::unique_ptr<client> a = s.connect();
  const v1::Welcome& w = a->welcome();
  require(w.version().major() == 1, "Welcome says protocol " + std::to_string(w.version().major()) + "." +
                                        std::to_string(w.version().minor()) + ", want 1.x");
  require(offers(w, "chan"), "Welcome does not offer the capability \"chan\"");
  require(offers(w, "var"), "Welcome does not offer the capability \"var\"");
  std::unique_ptr<client> b = s.connect();
  require(b->welcome().process_id() != w.process_id(),
          "two connections got the same process_id " + std::to_string(w.process_id()));
}

void newer_minor(suite& s) {
  client c(s.cfg());
  c.handshake(1, 99);  // minor versions talk to each other
}

void missing_capability(suite& s) {
  client c(s.cfg());
  v1::Hello h = tool_hello();
  h.add_required_capabilities("chan");
  h.add_required_capabilities("conformance-no-such-capability");
  v1::Frame r = c.hello(h);
  require(r.has_error() && r.error().code() == v1::Error::REFUSED,
          "a Hello requiring an unknown capability answered " + describe(r) + ", want Error REFUSED");
  require(r.error().message().find("conformance-no-such-capability") != std::string::npos,
          "the REFUSED message does not name the missing capability: \"" + r.error().message() + "\"");
  c.expect_closed("after refusing the handshake");
}

void ping(suite& s) {
  std::unique_ptr<client> c = s.connect();
  v1::Frame f;
  f.mutable_ping()->set_nonce(0x5eed1e55);
  c->send(f);
  v1::Frame r = c->expect(0, "Ping");
  require(r.has_pong() && r.pong().nonce() == 0x5eed1e55,
          "Ping answered " + describe(r) + ", want Pong with its nonce");
}

void multiplexing(suite& s) {
  std::unique_ptr<client> a = s.connect(), b = s.connect();
  std::string n1 = s.name("mux1"), n2 = s.name("mux2");
  std::uint64_t a1 = open_chan(*a, n1, "i64", {}).handle(), a2 = open_chan(*a, n2, "i64", {}).handle();
  std::uint64_t b1 = open_chan(*b, n1, "i64", {}).handle(), b2 = open_chan(*b, n2, "i64", {}).handle();
  std::uint64_t r1 = start_recv(*a, a1, v1::WAIT), r2 = start_recv(*a, a2, v1::WAIT);
  a->expect_silence(r1, "a receive on an empty channel");
  send_value(*b, b2, i64(2));  // the later request is answered first
  require(expect_done(*a, r2, st::DONE, "the second receive") == i64(2), "the second receive got another value");
  a->expect_silence(r1, "the first receive, its channel still empty");
  send_value(*b, b1, i64(1));
  require(expect_done(*a, r1, st::DONE, "the first receive") == i64(1), "the first receive got another value");
}

void cancel_wait(suite& s) {
  std::unique_ptr<client> c = s.connect();
  std::uint64_t h = open_chan(*c, s.name("cancel"), "i64", 1).handle();
  std::uint64_t id = start_recv(*c, h, v1::WAIT);
  c->expect_silence(id, "a receive on an empty channel");
  cancel(*c, id);
  expect_error(*c, id, v1::Error::CANCELLED, "a cancelled receive");
  send_value(*c, h, i64(5));
  require(expect_done(*c, start_recv(*c, h, v1::TRY), st::DONE, "a receive after the cancel") == i64(5),
          "the value went elsewhere: to the cancelled receive?");
}

void unknown_handle(suite& s) {
  std::unique_ptr<client> c = s.connect();
  const std::uint64_t bad = 0xdead0001;
  expect_error(*c, start_send(*c, bad, i64(1), v1::TRY), v1::Error::NOT_FOUND, "ChanSend on an unknown handle");
  expect_error(*c, start_recv(*c, bad, v1::WAIT), v1::Error::NOT_FOUND, "ChanRecv on an unknown handle");
  expect_error(*c, start_var_op(*c, bad, v1::VarOp::LOAD, {}, {}), v1::Error::NOT_FOUND, "VarOp on an unknown handle");
  std::uint64_t h = open_chan(*c, s.name("after-unknown"), "i64", 1).handle();
  send_value(*c, h, i64(3));
  require(recv_value(*c, h) == i64(3), "the connection does not work after the NOT_FOUND errors");
}

void goodbye(suite& s) {
  std::unique_ptr<client> a = s.connect(), b = s.connect();
  std::string n = s.name("goodbye");
  std::uint64_t ha = open_chan(*a, n, "i64", 1).handle(), hb = open_chan(*b, n, "i64", 1).handle();
  std::uint64_t id = start_recv(*a, ha, v1::WAIT);
  a->expect_silence(id, "a receive on an empty channel");
  v1::Frame bye;
  bye.mutable_goodbye()->set_reason("weft-conformance: leaving on purpose");
  a->send(bye);
  if (std::optional<v1::Frame> r = a->poll(0); r && r->has_error())
    throw failure("Goodbye answered with " + describe(*r));
  a->close();
  weft::this_goroutine::sleep_for(s.cfg().quiet);  // for the server to notice
  send_value(*b, hb, i64(9));
  std::string v = expect_done(*b, start_recv(*b, hb, v1::TRY), st::DONE,
                              "a receive after the leaving client's receive should have gone");
  require(v == i64(9), "the value is not the one sent");
}

void chan_open(suite& s) {
  std::unique_ptr<client> a = s.connect(), b = s.connect();
  std::string n = s.name("open");
  v1::ChanOpened o = open_chan(*a, n, "i64", 3);
  require(o.created() && o.capacity() == 3, "a new channel: created " + std::to_string(o.created()) + ", capacity " +
                                                std::to_string(o.capacity()) + "; want 1, 3");
  v1::ChanOpened again = open_chan(*b, n, "i64", {});
  require(!again.created() && again.capacity() == 3, "opening it again without a capacity: created " +
                                                         std::to_string(again.created()) + ", capacity " +
                                                         std::to_string(again.capacity()) + "; want 0, 3");
  open_chan(*b, n, "i64", 3);
  v1::Frame r = try_open_chan(*a, n, "str", {});
  require(r.has_error() && r.error().code() == v1::Error::REFUSED,
          "opening it as another element type answered " + describe(r) + ", want Error REFUSED");
  r = try_open_chan(*a, n, "i64", 4);
  require(r.has_error() && r.error().code() == v1::Error::REFUSED,
          "opening it with another capacity answered " + describe(r) + ", want Error REFUSED");
  v1::ChanOpened u = open_chan(*a, s.name("open-unbuffered"), "i64", {});
  require(u.created() && u.capacity() == 0, "a new channel without a capacity is not unbuffered");
  send_value(*a, o.handle(), i64(11));
  require(recv_value(*b, again.handle()) == i64(11), "a value sent on one connection is not received on another");
}

void buffered(suite& s) {
  std::unique_ptr<client> c = s.connect();
  std::uint64_t h = open_chan(*c, s.name("buffered"), "i64", 3).handle();
  for (int i = 1; i <= 3; ++i) send_value(*c, h, i64(i));
  expect_done(*c, start_send(*c, h, i64(4), v1::TRY), st::WOULD_BLOCK, "a TRY send on a full channel");
  v1::ChanStats stats = stat(*c, h);
  require(stats.size() == 3 && stats.capacity() == 3 && !stats.closed(),
          "ChanStats of a full channel: size " + std::to_string(stats.size()) + ", capacity " +
              std::to_string(stats.capacity()) + ", closed " + std::to_string(stats.closed()) + "; want 3, 3, 0");
  require(expect_done(*c, start_recv(*c, h, v1::TRY), st::DONE, "a TRY receive") == i64(1), "FIFO: want 1 first");
  require(recv_value(*c, h) == i64(2), "FIFO: want 2 second");
  expect_done(*c, start_send(*c, h, i64(4), v1::TRY), st::DONE, "a TRY send with room");
  require(recv_value(*c, h) == i64(3), "FIFO: want 3 third");
  require(recv_value(*c, h) == i64(4), "FIFO: want 4 fourth");
  expect_done(*c, start_recv(*c, h, v1::TRY), st::WOULD_BLOCK, "a TRY receive on an empty channel");
}

void wait_send(suite& s) {
  std::unique_ptr<client> c = s.connect();
  std::uint64_t h = open_chan(*c, s.name("wait-send"), "i64", 1).handle();
  send_value(*c, h, i64(1));
  std::uint64_t id = start_send(*c, h, i64(2), v1::WAIT);
  c->expect_silence(id, "a WAIT send on a full channel");
  require(recv_value(*c, h) == i64(1), "want the buffered value first");
  expect_done(*c, id, st::DONE, "the WAIT send, once there is room");
  require(recv_value(*c, h) == i64(2), "want the waiting sender's value next");
}

void unbuffered(suite& s) {
  std::unique_ptr<client> a = s.connect(), b = s.connect();
  std::string n = s.name("unbuffered");
  std::uint64_t ha = open_chan(*a, n, "i64", 0).handle(), hb = open_chan(*b, n, "i64", 0).handle();
  std::uint64_t id = start_send(*a, ha, i64(1), v1::WAIT);
  a->expect_silence(id, "a WAIT send with no receiver");
  expect_done(*b, start_send(*b, hb, i64(2), v1::TRY), st::WOULD_BLOCK, "a TRY send with no receiver");
  require(expect_done(*b, start_recv(*b, hb, v1::TRY), st::DONE, "a TRY receive with a sender waiting") == i64(1),
          "the receive got another value");
  expect_done(*a, id, st::DONE, "the WAIT send, once received");
  std::uint64_t r = start_recv(*b, hb, v1::WAIT);
  b->expect_silence(r, "a WAIT receive with no sender");
  expect_done(*a, start_send(*a, ha, i64(3), v1::TRY), st::DONE, "a TRY send with a receiver waiting");
  require(expect_done(*b, r, st::DONE, "the waiting receive") == i64(3), "the receive got another value");
  // Three senders waiting: their values leave in the order they came.
  std::uint64_t ids[3];
  for (int i = 0; i < 3; ++i) ids[i] = start_send(*a, ha, i64(10 + i), v1::WAIT);
  a->expect_silence(ids[2], "WAIT sends with no receiver");
  for (int i = 0; i < 3; ++i) require(recv_value(*b, hb) == i64(10 + i), "FIFO: waiting senders' values out of order");
  for (std::uint64_t i : ids) expect_done(*a, i, st::DONE, "a WAIT send, once received");
}

void close(suite& s) {
  std::unique_ptr<client> a = s.connect(), b = s.connect();
  std::uint64_t h = open_chan(*a, s.name("close"), "i64", 2).handle();
  std::string nr = s.name("close-receiver"), ns = s.name("close-sender");
  std::uint64_t hr = open_chan(*a, nr, "i64", 0).handle(), hs = open_chan(*a, ns, "i64", 0).handle();
  std::uint64_t waiting_recv = start_recv(*b, open_chan(*b, nr, "i64", {}).handle(), v1::WAIT);
  std::uint64_t waiting_send = start_send(*b, open_chan(*b, ns, "i64", {}).handle(), i64(1), v1::WAIT);
  b->expect_silence(waiting_send, "a WAIT send with no receiver");
  send_value(*a, h, i64(1));
  close_chan(*a, h);
  v1::Frame req;
  req.mutable_chan_close()->set_handle(h);
  expect_error(*a, a->request(req), v1::Error::CLOSED, "closing a closed channel");
  expect_send_closed(*a, start_send(*a, h, i64(2), v1::WAIT), "a WAIT send on a closed channel");
  expect_send_closed(*a, start_send(*a, h, i64(2), v1::TRY), "a TRY send on a closed channel");
  v1::ChanStats stats = stat(*a, h);
  require(stats.closed() && stats.size() == 1, "ChanStats of a closed channel holding one value: size " +
                                                   std::to_string(stats.size()) + ", closed " +
                                                   std::to_string(stats.closed()) + "; want 1, 1");
  require(recv_value(*a, h) == i64(1), "a closed channel must still give its values");
  expect_done(*a, start_recv(*a, h, v1::WAIT), st::CLOSED, "a WAIT receive on a closed, drained channel");
  expect_done(*a, start_recv(*a, h, v1::TRY), st::CLOSED, "a TRY receive on a closed, drained channel");
  close_chan(*a, hr);
  expect_done(*b, waiting_recv, st::CLOSED, "a receive waiting when its channel closed");
  close_chan(*a, hs);
  expect_send_closed(*b, waiting_send, "a send waiting when its channel closed");
}

void remove(suite& s) {
  std::unique_ptr<client> a = s.connect(), b = s.connect();
  std::string n = s.name("remove"), nv = s.name("remove-var");
  std::uint64_t ha = open_chan(*a, n, "i64", 1).handle();
  std::uint64_t r = start_recv(*b, open_chan(*b, n, "i64", {}).handle(), v1::WAIT);
  std::uint64_t hv = open_var(*a, nv, "i64", i64(1)).handle();
  std::uint64_t w = start_var_op(*b, open_var(*b, nv, "i64", i64(1)).handle(), v1::VarOp::WAIT, {}, i64(1));
  b->expect_silence(w, "a variable WAIT on its current value");
  auto remove_req = [](const std::string& name) {
    v1::Frame f;
    f.mutable_remove()->set_name(name);
    return f;
  };
  expect_ok(*a, remove_req(n), "Remove of a channel");
  expect_done(*b, r, st::CLOSED, "a receive waiting on a removed channel");
  expect_error(*a, start_send(*a, ha, i64(1), v1::TRY), v1::Error::NOT_FOUND, "a send on a removed channel's handle");
  expect_error(*a, a->request(remove_req(n)), v1::Error::NOT_FOUND, "Remove of a name that is gone");
  v1::ChanOpened again = open_chan(*a, n, "str", {});
  require(again.created(), "opening a removed channel's name again does not create a new channel");
  expect_ok(*a, remove_req(nv), "Remove of a variable");
  expect_error(*b, w, v1::Error::NOT_FOUND, "a WAIT on a removed variable");
  expect_error(*a, start_var_op(*a, hv, v1::VarOp::LOAD, {}, {}), v1::Error::NOT_FOUND, "a LOAD on a removed variable");
}

void var_open(suite& s) {
  std::unique_ptr<client> a = s.connect(), b = s.connect();
  std::string n = s.name("var");
  v1::VarOpened o = open_var(*a, n, "i64", i64(40));
  require(o.created() && o.value() == i64(40), "a new variable: not created with its initial value");
  v1::VarOpened again = open_var(*b, n, "i64", i64(0));
  require(!again.created() && again.value() == i64(40), "opening it again: created, or not its value");
  v1::Frame req;
  v1::VarOpen* vo = req.mutable_var_open();
  vo->set_name(n);
  vo->set_signature("str");
  vo->set_initial(str("x"));
  expect_error(*a, a->request(req), v1::Error::REFUSED, "opening a variable as another type");
}

void var_ops(suite& s) {
  std::unique_ptr<client> c = s.connect();
  std::uint64_t h = open_var(*c, s.name("var-ops"), "str", str("a")).handle();
  require(var_op(*c, h, v1::VarOp::LOAD).value() == str("a"), "LOAD: not the initial value");
  require(var_op(*c, h, v1::VarOp::STORE, str("b")).value() == str("b"), "STORE: the reply is not the new value");
  require(var_op(*c, h, v1::VarOp::EXCHANGE, str("c")).value() == str("b"), "EXCHANGE: the reply is not the old value");
  v1::VarValue r = var_op(*c, h, v1::VarOp::COMPARE_EXCHANGE, str("d"), str("x"));
  require(!r.ok() && r.value() == str("c"),
          "COMPARE_EXCHANGE with the wrong expected value: stored, or not the value now");
  r = var_op(*c, h, v1::VarOp::COMPARE_EXCHANGE, str("d"), str("c"));
  require(r.ok() && r.value() == str("d"),
          "COMPARE_EXCHANGE with the right expected value: not stored, or not the value now");
  require(var_op(*c, h, v1::VarOp::LOAD).value() == str("d"), "LOAD after COMPARE_EXCHANGE: not the stored value");
}

template <class T>
std::string show(T v) {
  if constexpr (std::is_floating_point_v<T>) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.9g", static_cast<double>(v));
    return buf;
  } else {
    return std::to_string(+v);
  }
}

// FETCH_ADD as C++ computes it (wrapping), encoded as weft::codec encodes it:
// compare_exchange and wait compare bytes, so the bytes must be the same.
template <class T>
void add_case(client& c, suite& s, T initial, T delta, T want) {
  const std::string sig = weft::codec<T>::signature();
  const std::string what = sig + " " + show(initial) + " + " + show(delta);
  std::uint64_t h = open_var(c, s.name("add-" + sig), sig, weft::encode(initial)).handle();
  v1::VarValue old = var_op(c, h, v1::VarOp::FETCH_ADD, weft::encode(delta));
  require(old.value() == weft::encode(initial), what + ": FETCH_ADD did not return the old value");
  std::string now = var_op(c, h, v1::VarOp::LOAD).value();
  T got{};
  try {
    got = weft::decode<T>(now);
  } catch (const std::exception& e) {
    throw failure(what + ": the sum is not a " + sig + ": " + e.what());
  }
  require(got == want, what + " = " + show(got) + ", want " + show(want));
  require(now == weft::encode(want), what + ": the sum is encoded unlike weft::codec's encoding of it");
}

void fetch_add(suite& s) {
  std::unique_ptr<client> c = s.connect();
  using i64l = std::numeric_limits<std::int64_t>;
  using u64l = std::numeric_limits<std::uint64_t>;
  add_case<std::int8_t>(*c, s, 127, 1, -128);
  add_case<std::int8_t>(*c, s, -100, -100, 56);
  add_case<std::int16_t>(*c, s, -32768, -1, 32767);
  add_case<std::int32_t>(*c, s, 2147483647, 2, -2147483647);
  add_case<std::int64_t>(*c, s, i64l::max(), 1, i64l::min());
  add_case<std::int64_t>(*c, s, 40, 2, 42);
  add_case<std::uint8_t>(*c, s, 250, 10, 4);
  add_case<std::uint16_t>(*c, s, 65535, 1, 0);
  add_case<std::uint32_t>(*c, s, 4000000000u, 1000000000u, 705032704u);
  add_case<std::uint64_t>(*c, s, u64l::max(), 2, 1);
  add_case<float>(*c, s, 1.5f, 2.25f, 3.75f);
  add_case<float>(*c, s, 0.1f, 0.2f, 0.1f + 0.2f);
  add_case<float>(*c, s, 1.5f, 1.5f, 3.0f);  // integral: msgpack writes an integer
  add_case<double>(*c, s, 0.1, 0.2, 0.1 + 0.2);
  add_case<double>(*c, s, 2.5, -0.5, 2.0);
  add_case<double>(*c, s, 1e308, 1e308, std::numeric_limits<double>::infinity());
}

void fetch_add_refused(suite& s) {
  std::unique_ptr<client> c = s.connect();
  std::uint64_t h = open_var(*c, s.name("add-str"), "str", str("a")).handle();
  expect_error(*c, start_var_op(*c, h, v1::VarOp::FETCH_ADD, str("b"), {}), v1::Error::REFUSED,
               "FETCH_ADD on a str variable");
  require(var_op(*c, h, v1::VarOp::LOAD).value() == str("a"), "a refused FETCH_ADD changed the value");
}

void var_wait(suite& s) {
  std::unique_ptr<client> a = s.connect(), b = s.connect();
  std::string n = s.name("var-wait");
  std::uint64_t ha = open_var(*a, n, "i64", i64(1)).handle(), hb = open_var(*b, n, "i64", i64(1)).handle();
  std::uint64_t id = start_var_op(*a, ha, v1::VarOp::WAIT, {}, i64(1));
  a->expect_silence(id, "WAIT for a change of the current value");
  var_op(*b, hb, v1::VarOp::STORE, i64(1));
  a->expect_silence(id, "WAIT, after a STORE of the same value");
  var_op(*b, hb, v1::VarOp::STORE, i64(2));
  require(expect_var_value(*a, id, "WAIT, after a STORE of another value").value() == i64(2),
          "WAIT did not return the new value");
  require(var_op(*a, ha, v1::VarOp::WAIT, {}, i64(5)).value() == i64(2),
          "WAIT with an expected value that differs must return the value at once");
  id = start_var_op(*a, ha, v1::VarOp::WAIT, {}, i64(2));
  a->expect_silence(id, "WAIT for a change");
  cancel(*a, id);
  expect_error(*a, id, v1::Error::CANCELLED, "a cancelled WAIT");
}

}  // namespace

std::vector<check> core_checks() {
  return {
      {"handshake.welcome", true, welcome},
      {"handshake.newer-minor-version", true, newer_minor},
      {"handshake.missing-capability", true, missing_capability},
      {"flow.ping", true, ping},
      {"flow.many-requests-answered-out-of-order", true, multiplexing},
      {"flow.cancel-waiting-receive", true, cancel_wait},
      {"flow.unknown-handle", true, unknown_handle},
      {"flow.goodbye-drops-waiting-requests", true, goodbye},
      {"chan.open", true, chan_open},
      {"chan.buffered-fifo-and-try", true, buffered},
      {"chan.wait-send-on-full-channel", true, wait_send},
      {"chan.unbuffered", true, unbuffered},
      {"chan.close", true, close},
      {"chan.remove", true, remove},
      {"var.open", true, var_open},
      {"var.load-store-exchange-compare-exchange", true, var_ops},
      {"var.fetch-add-wraps", true, fetch_add},
      {"var.fetch-add-on-non-number", true, fetch_add_refused},
      {"var.wait-and-cancel", true, var_wait},
  };
}

}  // namespace weft::conformance
