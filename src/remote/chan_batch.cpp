// src/remote/chan_batch.cpp: a remote channel's pipelined operations,
// send_all and recv_some (weft/remote.hpp): up to `window` requests on the
// wire before the first reply comes back, their replies taken in order.
//
// Why each value keeps the meaning of one send or receive: the server
// handles one connection's requests in the order they arrive, and a
// channel is FIFO (server/chan_host.hpp, I4), so pipelined WAIT sends join
// the channel in the order they were sent, as the same sends one after
// another would, and a TRY receive takes the channel's head or nothing.
// Nothing is held back in this process: a value is returned only once its
// own reply came. Every request's reply is awaited before an error is
// thrown, so none is left in flight behind the caller's back, and a closed
// channel stays closed: no send after the first refused one got in.
//
// A migratable goroutine's sends go one by one: each wait is a safe point
// (migration.hpp).
#include <algorithm>
#include <deque>
#include <exception>
#include <memory>
#include <vector>

#include <weft/detail/remote_core.hpp>
#include <weft/errors.hpp>

#include "remote/chan_link.hpp"
#include "remote/migration.hpp"
#include "remote/stub.hpp"

namespace weft::remote::detail {

namespace {

constexpr std::size_t window = 128;  // requests in flight at once

// The reply's ChanDone status (CLOSED for an Error CLOSED); throws
// remote_error for any other error.
v1::ChanDone::Status status_of(chan_link& c, const v1::Frame& r, const char* what) {
  if (r.has_error()) {
    if (r.error().code() == v1::Error::CLOSED) return v1::ChanDone::CLOSED;
    throw_error(r.error(), std::string(what) + " on " + c.describe());
  }
  if (!r.has_chan_done())
    throw remote_error(remote_errc::protocol, std::string(what) + " on " + c.describe() + ": unexpected reply");
  return r.chan_done().status();
}

// Requests made by next() while it gives one, up to `window` in flight
// (all that one round gives go in one write); each reply goes to on_reply
// in order, and next() is asked again after each (a reply may allow more).
// next() is not asked again once on_reply returned false. Rethrows
// on_reply's first exception after every reply came.
template <class Next, class OnReply>
void pipeline(chan_link& c, Next next, OnReply on_reply) {
  std::deque<std::shared_ptr<pending>> in_flight;
  bool more = true;
  std::exception_ptr failure;
  std::vector<v1::Frame> reqs;
  std::vector<std::shared_ptr<pending>> ps;
  for (;;) {
    reqs.clear();
    ps.clear();
    while (more && !failure && in_flight.size() + reqs.size() < window) {
      std::optional<v1::Frame> req = next();
      if (!req) break;
      reqs.push_back(std::move(*req));
      ps.push_back(std::make_shared<pending>());
    }
    if (!reqs.empty()) {  // one write for all of them
      c.server().start_requests(reqs, ps);
      for (std::shared_ptr<pending>& p : ps) in_flight.push_back(std::move(p));
    }
    if (in_flight.empty()) break;
    std::shared_ptr<pending> p = std::move(in_flight.front());
    in_flight.pop_front();
    p->done.acquire();
    try {
      if (!on_reply(p->reply)) more = false;
    } catch (...) {
      if (!failure) failure = std::current_exception();
    }
  }
  if (failure) std::rethrow_exception(failure);
}

}  // namespace

void chan_send_all(chan_link& c, std::vector<std::string> values) {
  if (current_migration() != nullptr) {
    for (std::string& v : values) chan_send(c, std::move(v));
    return;
  }
  std::size_t next = 0;
  bool closed = false;
  pipeline(
      c,
      [&]() -> std::optional<v1::Frame> {
        if (next == values.size()) return std::nullopt;
        return c.send_request(std::move(values[next++]), v1::WAIT);
      },
      [&](const v1::Frame& r) {
        if (status_of(c, r, "send_all") == v1::ChanDone::CLOSED) closed = true;
        return !closed;
      });
  if (closed) throw closed_channel_error();
}

// The first value as recv() waits for it, then as many TRY receives as
// the replies say are left (ChanDone.remaining), up to max in all: none
// asked in vain when the receiver keeps up with the sender.
std::vector<std::string> chan_recv_some(chan_link& c, std::size_t max) {
  std::vector<std::string> out;
  if (max == 0) return out;
  std::uint64_t left = 0;
  if (current_migration() != nullptr) {
    std::optional<std::string> first = chan_recv(c);  // a safe point
    if (first) out.push_back(std::move(*first));
    return out;
  }
  v1::Frame r = c.server().call(c.recv_request(v1::WAIT));
  if (status_of(c, r, "recv_some") != v1::ChanDone::DONE) return out;  // closed and drained
  out.push_back(std::move(*r.mutable_chan_done()->mutable_value()));
  left = r.chan_done().remaining();
  std::size_t asked = 1;
  pipeline(
      c,
      [&]() -> std::optional<v1::Frame> {
        if (asked == max || left == 0) return std::nullopt;
        ++asked;
        --left;
        return c.recv_request(v1::TRY);
      },
      [&](v1::Frame& reply) {
        if (status_of(c, reply, "recv_some") != v1::ChanDone::DONE) return false;  // taken by others, or closed
        left = std::max(left, reply.chan_done().remaining());
        out.push_back(std::move(*reply.mutable_chan_done()->mutable_value()));
        return true;
      });
  return out;
}

}  // namespace weft::remote::detail
