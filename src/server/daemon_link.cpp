// src/server/daemon_link.cpp: one weftd's link to another's (design and
// invariants in daemon_link.hpp).
//
// Handlers run under mu_, on whichever goroutine delivers (the reader, or
// close()): that is what makes D1's "never both" hold when the link ends
// while a reply is being read. So a handler must not park and must not
// call back into this link. Lock order: a link's mu_ before anything a
// handler takes (the forwarder's lock: spawn_forwarder.hpp).
#include "server/daemon_link.hpp"

#include <system_error>

#include <weft/errors.hpp>
#include <weft/go.hpp>
#include <weft/semaphore.hpp>

#include "server/client.hpp"
#include "wire/cluster_key.hpp"
#include "wire/endpoint.hpp"
#include "wire/version.hpp"

namespace weft::server {

namespace {

// The start of every Error a handler gets when the link ends (ended()).
constexpr std::string_view ended_mark = "link to the weftd of host \"";

std::int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

}  // namespace

daemon_link::daemon_link(std::string host, std::string address, options o)
    : host_(std::move(host)), address_(std::move(address)), opts_(o) {}

daemon_link::~daemon_link() { close("this weftd let the link go"); }

std::shared_ptr<daemon_link> daemon_link::dial(const std::string& host, const std::string& address,
                                               const std::string& key, options o) {
  std::shared_ptr<daemon_link> l(new daemon_link(host, address, o));
  const std::string who = "the weftd of host \"" + host + "\" at " + address;
  wire::endpoint e;
  try {
    e = wire::parse_endpoint(address);
  } catch (const std::exception& bad) {
    throw remote_error(remote_errc::refused, who + ": not an address: " + bad.what());
  }
  wire::stream c;
  try {
    c = wire::connect(e, o.dial_timeout, key);
  } catch (const std::system_error& ex) {
    throw remote_error(remote_errc::unreachable,
                       who + ": " + (ex.code() == std::errc::timed_out ? "no answer" : ex.code().message()));
  } catch (const remote_error& ex) {
    throw remote_error(ex.kind(), who + ": " + ex.what());
  }
  c.set_deadline(std::chrono::steady_clock::now() + o.dial_timeout);
  l->link_ = std::make_unique<wire::link>(std::move(c), who);
  l->handshake(key);
  l->link_->clear_deadline();
  l->last_heard_ns_.store(now_ns(), std::memory_order_relaxed);
  l->last_sent_ns_.store(now_ns(), std::memory_order_relaxed);
  weft::go(weft::go_options{.name = "weftd link writer " + host}, [l] { l->link_->write_loop(); });
  weft::go(weft::go_options{.name = "weftd link reader " + host}, [l] { l->read_loop(); });
  weft::go(weft::go_options{.name = "weftd link heartbeat " + host}, [l] { l->heartbeat_loop(); });
  return l;
}

// One step of the handshake, before the writer runs: straight to the
// socket, within the dial's deadline.
wire::frame daemon_link::exchange(const wire::frame& f, const char* what) {
  const std::string who = "the weftd of host \"" + host_ + "\" at " + address_;
  std::string out;
  wire::append_frame(f, out);
  wire::frame reply;
  try {
    link_->write_now(out);
    if (!link_->receive(reply))
      throw remote_error(remote_errc::unreachable, who + " closed the connection after " + what);
  } catch (const std::system_error& ex) {
    throw remote_error(
        remote_errc::unreachable,
        who + ": " + (ex.code() == std::errc::timed_out ? std::string("no answer to ") + what : ex.code().message()));
  }
  if (reply.has_error()) {
    remote_errc kind =
        reply.error().code() == v1::Error::UNAUTHORIZED ? remote_errc::unauthorized : remote_errc::refused;
    throw remote_error(kind, who + " refused this weftd: " + reply.error().message());
  }
  return reply;
}

void daemon_link::handshake(const std::string& key) {
  const std::string who = "the weftd of host \"" + host_ + "\" at " + address_;
  wire::frame hello;
  v1::Hello* h = hello.mutable_hello();
  h->set_magic(wire::magic);
  h->mutable_version()->set_major(wire::version_major);
  h->mutable_version()->set_minor(wire::version_minor);
  h->set_role(v1::Hello::DAEMON);
  h->add_required_capabilities("circuit");
  wire::frame w = exchange(hello, "Hello");
  if (!w.has_welcome()) throw remote_error(remote_errc::protocol, who + " answered Hello with something else");
  if (w.welcome().challenge().empty())
    throw remote_error(remote_errc::refused,
                       who + " asks no cluster key: a weftd forwards spawns only to one that does");
  wire::frame proof;
  proof.mutable_auth_proof()->set_mac(wire::auth_proof(key, w.welcome().challenge()));
  wire::frame r = exchange(proof, "the key's proof");
  if (!r.has_auth_result()) throw remote_error(remote_errc::protocol, who + " answered AuthProof with something else");
}

void daemon_link::send(const wire::frame& f) {
  link_->send(f);
  last_sent_ns_.store(now_ns(), std::memory_order_relaxed);
}

std::uint64_t daemon_link::start(wire::frame req, handler h) {
  const std::uint64_t id = next_id_.fetch_add(1, std::memory_order_relaxed);
  req.set_id(id);
  {
    detail::lock_scope lk(mu_);
    if (ended_.load(std::memory_order_acquire)) {
      wire::frame lost = error_frame(id, v1::Error::LOST, why_ended_);
      h(lost);
      return id;
    }
    pending_.emplace(id, std::move(h));
  }
  try {
    send(req);
  } catch (const remote_error& e) {
    close(e.what());  // the outbox overflowed or the link closed: every request gets its LOST (D1)
  }
  return id;
}

wire::frame daemon_link::call(wire::frame req, std::chrono::milliseconds timeout) {
  struct waiter {
    weft::binary_semaphore done{0};
    wire::frame reply;
  };
  auto w = std::make_shared<waiter>();
  const std::uint64_t id = start(std::move(req), [w](wire::frame& f) {
    w->reply = std::move(f);
    w->done.release();
    return true;
  });
  if (w->done.try_acquire_for(timeout)) return std::move(w->reply);
  {
    detail::lock_scope lk(mu_);
    if (pending_.erase(id) == 0) {
      lk.unlock();
      w->done.acquire();  // delivered meanwhile
      return std::move(w->reply);
    }
  }
  return error_frame(
      id, v1::Error::TIMEOUT,
      "the weftd of host \"" + host_ + "\" did not answer within " + std::to_string(timeout.count()) + " ms");
}

bool daemon_link::ended(const wire::frame& f) {
  return f.has_error() && f.error().code() == v1::Error::LOST && f.error().message().rfind(ended_mark, 0) == 0;
}

void daemon_link::close(const std::string& why) {
  std::unordered_map<std::uint64_t, handler> pending;
  {
    detail::lock_scope lk(mu_);
    if (ended_.exchange(true, std::memory_order_acq_rel)) return;
    why_ended_ = std::string(ended_mark) + host_ + "\" at " + address_ + " ended: " + why;
    for (auto& [id, h] : pending_) {
      wire::frame lost = error_frame(id, v1::Error::LOST, why_ended_);
      h(lost);
    }
    pending_.clear();
  }
  if (link_) link_->close();
}

void daemon_link::read_loop() {
  wire::frame f;
  for (;;) {
    try {
      if (!link_->receive(f)) return close("it closed the link");
    } catch (const remote_error& e) {
      return close(e.what());
    }
    last_heard_ns_.store(now_ns(), std::memory_order_relaxed);
    if (f.id() == 0) {
      if (f.has_ping()) {
        wire::frame pong;
        pong.mutable_pong()->set_nonce(f.ping().nonce());
        try {
          send(pong);
        } catch (const remote_error&) {}
      } else if (f.has_error()) {
        return close(f.error().message());
      } else if (f.has_goodbye()) {
        return close("it is stopping (" + f.goodbye().reason() + ")");
      }
      continue;  // Pong
    }
    detail::lock_scope lk(mu_);
    auto it = pending_.find(f.id());
    if (it == pending_.end()) continue;  // a late reply to a call that timed out
    if (it->second(f)) pending_.erase(it);
  }
}

void daemon_link::heartbeat_loop() {
  std::uint64_t nonce = 0;
  const std::int64_t ping_ns = std::chrono::nanoseconds(opts_.ping_after).count();
  const std::int64_t dead_ns = std::chrono::nanoseconds(opts_.dead_after).count();
  while (alive()) {
    weft::this_goroutine::sleep_for(opts_.ping_after / 2);
    if (!alive()) return;
    const std::int64_t now = now_ns();
    if (now - last_heard_ns_.load(std::memory_order_relaxed) > dead_ns)
      return close("silent for " + std::to_string(opts_.dead_after.count()) + " ms: declared dead");
    if (now - last_sent_ns_.load(std::memory_order_relaxed) > ping_ns) {
      wire::frame ping;
      ping.mutable_ping()->set_nonce(++nonce);
      try {
        send(ping);
      } catch (const remote_error& e) {
        return close(e.what());
      }
    }
  }
}

}  // namespace weft::server
