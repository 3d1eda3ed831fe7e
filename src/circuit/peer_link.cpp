// src/circuit/peer_link.cpp: a peer link's handshake, reader and heartbeat
// (design in peer_link.hpp).
#include "circuit/peer_link.hpp"

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <system_error>
#include <utility>
#include <vector>

#include <weft/go.hpp>
#include <weft/select.hpp>
#include <weft/timer.hpp>

#include "circuit/exports.hpp"
#include "circuit/identity.hpp"
#include "circuit/peers.hpp"
#include "circuit/xref_flow.hpp"
#include "circuit/xref_serve.hpp"
#include "remote/migration.hpp"
#include "remote/stub.hpp"
#include "runtime/runtime.hpp"
#include "runtime/trace_events.hpp"
#include "wire/worker_id.hpp"
#include "wire/cluster_key.hpp"
#include "wire/endpoint.hpp"
#include "wire/peer_traffic.hpp"
#include "wire/tls.hpp"
#include "wire/version.hpp"
#include "wire/utf8.hpp"

namespace weft::circuit::detail {

namespace {

using namespace std::chrono_literals;
using clock = std::chrono::steady_clock;

constexpr auto dial_timeout = 1s;
constexpr auto handshake_timeout = 5s;

std::int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(clock::now().time_since_epoch()).count();
}

v1::Frame error_frame(std::uint64_t id, v1::Error::Code code, const std::string& why) {
  v1::Frame f;
  f.set_id(id);
  f.mutable_error()->set_code(code);
  f.mutable_error()->set_message(wire::utf8_text(why));
  return f;
}

// A handshake step: writes f at once (the writer is not running yet).
void write_now(wire::link& l, const v1::Frame& f) {
  std::string out;
  wire::append_frame(f, out);
  l.write_now(out);
}

// A handshake step's answer; the failures become remote_error{what}.
v1::Frame read_now(wire::link& l, const std::string& peer, remote_errc what) {
  v1::Frame f;
  try {
    if (!l.receive(f)) throw remote_error(what, "weft: peer " + peer + " closed the connection in the handshake");
  } catch (const std::system_error& e) {
    throw remote_error(what,
                       "weft: peer " + peer + ": " +
                           (e.code() == std::errc::timed_out ? std::string("no answer to the handshake within 5 s")
                                                             : e.code().message()));
  }
  return f;
}

void log_refusal(const std::string& why) {
  std::fprintf(stderr, "weft: peer listener %s: refused a connection: %s\n", self_id().c_str(), why.c_str());
}

}  // namespace

void settle_from(weft::detail::future_state& out, v1::Frame& reply, const std::string& peer) {
  if (reply.has_x_return()) {
    v1::XReturn* r = reply.mutable_x_return();
    if (r->threw())
      out.settle_threw(std::move(*r->mutable_type_name()), std::move(*r->mutable_what()));
    else
      out.settle_value(std::move(*r->mutable_value()));
  } else if (reply.has_x_dialed()) {
    out.settle_value(std::move(*reply.mutable_x_dialed()->mutable_ref()));
  } else if (reply.has_error()) {
    out.settle_failed(remote::detail::errc_of(reply.error().code()),
                      "weft: peer " + peer + ": " + reply.error().message());
  } else {
    out.settle_failed(remote_errc::protocol, "weft: peer " + peer + " answered with an unexpected message");
  }
}

peer_link::peer_link(std::unique_ptr<wire::link> l, std::string address, bool dialed, std::chrono::milliseconds lease,
                     const v1::ProcessInfo& peer)
    : link_(std::move(l)),
      address_(std::move(address)),
      dialed_(dialed),
      lease_(lease),
      self_pid_(::getpid()),
      peer_pid_(peer.pid()),
      peer_host_(peer.host()) {
  last_heard_ns_.store(now_ns(), std::memory_order_relaxed);
  wire::track_peer_link(link_.get(), peer.pid(), peer.host());
}

peer_link::~peer_link() { wire::untrack_peer_link(link_.get()); }

std::shared_ptr<peer_link> peer_link::dial(const std::string& address, std::chrono::milliseconds lease) {
  wire::endpoint e;
  try {
    e = wire::parse_endpoint(address);
  } catch (const std::invalid_argument& ex) {
    throw remote_error(remote_errc::unreachable, ex.what());
  }
  if (peers_use_tls()) e.tls = true;  // a TLS circuit dials every peer over TLS
  std::string key;  // TLS needs it before the first byte (wire/tls.hpp)
  if (wire::wants_tls(e)) {
    try {
      key = wire::cluster_key_from_env();
    } catch (const std::exception& ex) {
      throw remote_error(remote_errc::unauthorized, "weft: peer " + address + " is reached over TLS: " + ex.what());
    }
  }
  wire::stream c;
  try {
    c = wire::connect(e, dial_timeout, key);
  } catch (const std::system_error& ex) {
    throw remote_error(remote_errc::unreachable, "weft: peer " + address + ": " + ex.code().message());
  } catch (const remote_error& ex) {
    throw remote_error(ex.kind(), "weft: peer " + address + ": " + ex.what());
  }
  c.set_deadline(clock::now() + handshake_timeout);
  auto l = std::make_unique<wire::link>(std::move(c), "peer " + address);

  v1::Frame hello;
  v1::Hello* h = hello.mutable_hello();
  h->set_magic(wire::magic);
  h->mutable_version()->set_major(wire::version_major);
  h->mutable_version()->set_minor(wire::version_minor);
  h->set_role(v1::Hello::PEER);
  h->mutable_process()->set_pid(::getpid());
  h->mutable_process()->set_host(wire::peer_host_name());  // whom the acceptor's bytes go to (peer_traffic.hpp)
  h->set_worker(self_id());  // PEER: the id alone; the key, not a ticket, proves a peer
  try {
    write_now(*l, hello);
  } catch (const std::system_error& ex) {
    throw remote_error(remote_errc::unreachable, "weft: peer " + address + ": " + ex.code().message());
  }
  v1::Frame w = read_now(*l, address, remote_errc::unreachable);
  if (w.has_error())
    throw remote_error(remote::detail::errc_of(w.error().code()),
                       "weft: peer " + address + " refused: " + w.error().message());
  if (!w.has_welcome())
    throw remote_error(remote_errc::protocol, "weft: peer " + address + " answered Hello with something else");
  if (w.welcome().version().major() != wire::version_major)
    throw remote_error(remote_errc::refused, "weft: peer " + address + " speaks protocol " +
                                                 std::to_string(w.welcome().version().major()) + ", this process " +
                                                 wire::version_text());
  if (!w.welcome().challenge().empty()) {
    try {
      if (key.empty()) key = wire::cluster_key_from_env();
    } catch (const std::exception& ex) {
      throw remote_error(remote_errc::unauthorized,
                         "weft: peer " + address + " requires the cluster key: " + ex.what());
    }
    if (key.empty())
      throw remote_error(remote_errc::unauthorized,
                         "weft: peer " + address + " requires the cluster key: set WEFT_KEY_FILE");
    v1::Frame proof;
    proof.mutable_auth_proof()->set_mac(wire::auth_proof(key, w.welcome().challenge()));
    write_now(*l, proof);
    v1::Frame r = read_now(*l, address, remote_errc::unauthorized);
    if (r.has_error())
      throw remote_error(remote::detail::errc_of(r.error().code()),
                         "weft: peer " + address + " refused: " + r.error().message());
    if (!r.has_auth_result())
      throw remote_error(remote_errc::protocol, "weft: peer " + address + " answered AuthProof with something else");
  }
  l->clear_deadline();
  return std::shared_ptr<peer_link>(new peer_link(std::move(l), address, true, lease, w.welcome().process()));
}

std::shared_ptr<peer_link> peer_link::accept(net::conn c, const std::string& key, std::chrono::milliseconds lease,
                                             std::shared_ptr<const wire::tls_context> tls) {
  c.set_deadline(clock::now() + handshake_timeout);
  wire::stream st;
  if (tls) {
    std::unique_ptr<wire::tls_session> s;
    try {
      s = wire::tls_accept(c, std::move(tls), "this worker requires TLS: dial " + self_address());
    } catch (const remote_error& e) {
      if (e.kind() != remote_errc::lost) log_refusal(e.what());
      return nullptr;
    } catch (const std::exception& e) {
      log_refusal(std::string("in the TLS handshake: ") + e.what());
      return nullptr;
    }
    st = wire::stream(std::move(c), std::move(s));
  } else {
    st = wire::stream(std::move(c));
  }
  auto l = std::make_unique<wire::link>(std::move(st), "peer (accepted)");
  auto refuse = [&](v1::Error::Code code, const std::string& why) -> std::shared_ptr<peer_link> {
    log_refusal(why);
    try {
      write_now(*l, error_frame(0, code, why));
    } catch (...) {}
    l->close();
    return nullptr;
  };
  v1::Frame f;
  try {
    f = read_now(*l, "(accepted)", remote_errc::unreachable);
  } catch (const remote_error& e) {
    return refuse(v1::Error::PROTOCOL, e.what());
  }
  if (!f.has_hello() || f.hello().magic() != wire::magic)
    return refuse(v1::Error::PROTOCOL, "not a weft peer: the first frame must be a Hello with the magic");
  const v1::Hello& h = f.hello();
  if (h.version().major() != wire::version_major)
    return refuse(v1::Error::VERSION, "this peer speaks weft runtime protocol " + wire::version_text() +
                                          ", the dialer " + std::to_string(h.version().major()));
  if (h.role() != v1::Hello::PEER || !wire::is_worker_id(h.worker()))
    return refuse(v1::Error::PROTOCOL, "a peer listener takes Hello{role PEER, worker = the dialer's id}");
  std::string who = h.worker();
  v1::Frame welcome;
  v1::Welcome* w = welcome.mutable_welcome();
  w->mutable_version()->set_major(wire::version_major);
  w->mutable_version()->set_minor(wire::version_minor);
  w->set_server("weft peer " + self_id());
  w->set_max_frame(wire::default_max_frame);
  w->mutable_process()->set_pid(::getpid());  // whom the dialer's bytes go to (peer_traffic.hpp)
  w->mutable_process()->set_host(wire::peer_host_name());
  std::string challenge;
  if (!key.empty()) {
    challenge = wire::new_challenge();
    w->set_challenge(challenge);
  }
  try {
    write_now(*l, welcome);
    if (!key.empty()) {
      v1::Frame p;
      try {
        p = read_now(*l, who, remote_errc::unauthorized);
      } catch (const std::exception& e) {
        return refuse(v1::Error::UNAUTHORIZED, "peer " + who + " (pid " + std::to_string(h.process().pid()) +
                                                   ") did not prove the cluster key: " + e.what());
      }
      if (!p.has_auth_proof() || !wire::proof_matches(key, challenge, p.auth_proof().mac()))
        return refuse(v1::Error::UNAUTHORIZED,
                      "peer " + who + " (pid " + std::to_string(h.process().pid()) + ") did not prove the cluster key");
      v1::Frame ok;
      ok.mutable_auth_result();
      write_now(*l, ok);
    }
  } catch (const std::exception& e) {
    return refuse(v1::Error::PROTOCOL, e.what());
  }
  l->clear_deadline();
  return std::shared_ptr<peer_link>(new peer_link(std::move(l), peer_address(who), false, lease, h.process()));
}

std::chrono::steady_clock::time_point peer_link::last_heard() const noexcept {
  return clock::time_point(std::chrono::nanoseconds(last_heard_ns_.load(std::memory_order_relaxed)));
}

void peer_link::start(weft::wait_group& wg) {
  wg.add(3);
  auto self = shared_from_this();
  weft::go(weft::go_options{.name = "weft: peer writer"}, [self, &wg] {
    self->link_->write_loop();
    wg.done();
  });
  weft::go(weft::go_options{.name = "weft: peer reader"}, [self, &wg] {
    self->read_loop();
    wg.done();
  });
  weft::go(weft::go_options{.name = "weft: peer heartbeat"}, [self, &wg] {
    self->heartbeat_loop();
    wg.done();
  });
}

void peer_link::close(const std::string& why) noexcept {
  std::vector<std::shared_ptr<weft::detail::future_state>> failed;
  {
    weft::detail::lock_scope lk(lock_);
    if (dead_.load(std::memory_order_relaxed)) return;
    dead_.store(true, std::memory_order_release);
    death_ = why;
    for (auto& [id, p] : pending_) failed.push_back(std::move(p));
    pending_.clear();
    tallied_.clear();
  }
  // These were sent and got no reply: they may or may not have run, and
  // weft never sends them again (the caller decides).
  for (auto& p : failed)
    p->settle_failed(remote_errc::unknown_outcome,
                     "weft: the outcome of this call is unknown (it may or may not have "
                     "run): " +
                         why);
  // The peer's references here expire a lease after it was last heard from.
  exported().holder_lost(address_, last_heard() + lease_);
  try {
    stop_.close();
  } catch (...) {}
  link_->close();
}

void peer_link::shutdown(const std::string& why) noexcept {
  if (dead()) return;
  v1::Frame bye;
  bye.mutable_goodbye()->set_reason(wire::utf8_text(why));
  send(bye);
  link_->close_when_flushed();
  try {
    for (int i = 0; i < 200 && !link_->closed(); ++i) weft::this_goroutine::sleep_for(1ms);
  } catch (...) {}
  close(why);
}

void peer_link::request(v1::Frame f, std::shared_ptr<weft::detail::future_state> out) {
  std::uint64_t id = next_id_.fetch_add(1, std::memory_order_relaxed);
  f.set_id(id);
  if (weft::detail::tracing() && f.has_x_call())
    weft::detail::trace_here(weft::detail::ev::xref_call, xref_flow_id(self_pid_, peer_pid_, id));
  std::shared_ptr<wire::peer_tally> tally;
  if (f.has_x_call()) {
    if (remote::detail::migration_ctx* m = remote::detail::current_migration()) tally = m->tally();
  }
  {
    weft::detail::lock_scope lk(lock_);
    if (dead_.load(std::memory_order_relaxed)) {
      std::string why = death_;
      lk.unlock();
      out->settle_failed(remote_errc::lost, "weft: " + why);
      return;
    }
    pending_.emplace(id, out);
    if (tally) tallied_.emplace(id, tally);
  }
  auto take = [&] {
    weft::detail::lock_scope lk(lock_);
    pending_.erase(id);
    tallied_.erase(id);
  };
  try {
    link_->send(f);
    if (tally) tally->add(peer_pid_, peer_host_, f.ByteSizeLong(), 0);
  } catch (const remote_error& e) {
    take();
    out->settle_failed(remote_errc::lost, e.what());
  } catch (const std::length_error& e) {
    take();
    out->settle_failed(remote_errc::protocol, "weft: a call to peer " + address_ + " is too large: " + e.what());
  }
}

void peer_link::send(const v1::Frame& f) noexcept {
  if (dead()) return;
  try {
    link_->send(f);
  } catch (...) {}
}

void peer_link::read_loop() {
  // Each reply readies its caller and the reader reads again at once (as
  // the stub's reader does: runtime.hpp, parks_soon_scope).
  weft::detail::parks_soon_scope handing_over;
  v1::Frame f;
  std::string why = "closed the connection";
  for (;;) {
    try {
      if (!link_->receive(f)) break;
    } catch (const remote_error& e) {
      why = e.what();
      break;
    }
    last_heard_ns_.store(now_ns(), std::memory_order_relaxed);
    dispatch(f);
    if (dead()) return;
    f.Clear();
  }
  close("peer " + address_ + ": " + why);
}

void peer_link::dispatch(v1::Frame& f) {
  switch (f.body_case()) {
    case v1::Frame::kPing: {
      v1::Frame pong;
      pong.mutable_pong()->set_nonce(f.ping().nonce());
      send(pong);
      return;
    }
    case v1::Frame::kPong:
    case v1::Frame::kGoodbye: return;  // a Goodbye's close follows
    case v1::Frame::kXPin: exported().pin(f.x_pin().object(), f.x_pin().token()); return;
    case v1::Frame::kXAcquire: exported().acquire(f.x_acquire().object(), address_, f.x_acquire().token()); return;
    case v1::Frame::kXRelease:
      exported().release(f.x_release().object(), address_, std::max<std::uint32_t>(1, f.x_release().count()));
      return;
    case v1::Frame::kXCall: {
      if (f.id() == 0) break;
      std::uint64_t id = f.id();
      if (serving_.fetch_add(1, std::memory_order_relaxed) >= max_serving) {
        serving_.fetch_sub(1, std::memory_order_relaxed);
        send(error_frame(id, v1::Error::REFUSED,
                         "more than " + std::to_string(max_serving) + " calls in flight from one peer"));
        return;
      }
      auto self = shared_from_this();
      weft::go(weft::go_options{.name = "weft: xref call"}, [self, id, f = std::move(f)]() mutable {
        const std::uint64_t flow = xref_flow_id(self->peer_pid_, self->self_pid_, id);
        weft::detail::trace_here(weft::detail::ev::xref_serve, flow);
        v1::Frame r = serve_call(f.x_call());
        r.set_id(id);
        self->send(r);
        weft::detail::trace_here(weft::detail::ev::xref_served, flow);
        self->serving_.fetch_sub(1, std::memory_order_relaxed);
      });
      return;
    }
    case v1::Frame::kXDial: {
      if (f.id() == 0) break;
      v1::Frame r = serve_dial(f.x_dial());
      r.set_id(f.id());
      send(r);
      return;
    }
    case v1::Frame::kXReturn:
    case v1::Frame::kXDialed:
    case v1::Frame::kError: {
      if (f.id() == 0) {
        close("peer " + address_ + " ended the link: " + (f.has_error() ? f.error().message() : std::string("?")));
        return;
      }
      std::shared_ptr<weft::detail::future_state> p;
      std::shared_ptr<wire::peer_tally> tally;
      {
        weft::detail::lock_scope lk(lock_);
        auto it = pending_.find(f.id());
        if (it == pending_.end()) return;  // not ours: ignored
        p = std::move(it->second);
        pending_.erase(it);
        if (auto t = tallied_.find(f.id()); t != tallied_.end()) {
          tally = std::move(t->second);
          tallied_.erase(t);
        }
      }
      if (tally) tally->add(peer_pid_, peer_host_, 0, f.ByteSizeLong());
      // Replies to dials too: the trace finds no call of that id, and skips it.
      if (weft::detail::tracing())
        weft::detail::trace_here(weft::detail::ev::xref_reply, xref_flow_id(self_pid_, peer_pid_, f.id()));
      settle_from(*p, f, address_);
      return;
    }
    default: break;
  }
  std::string why = "peer " + address_ + " broke the protocol (a frame with body " +
                    std::to_string(static_cast<int>(f.body_case())) + ", id " + std::to_string(f.id()) + ")";
  send(error_frame(0, v1::Error::PROTOCOL, why));
  close(why);
}

void peer_link::heartbeat_loop() {
  const auto ping_every = std::clamp<std::chrono::milliseconds>(lease_ / 5, 20ms, 250ms);
  std::uint64_t nonce = 0;
  while (!dead()) {
    bool stopped = false;
    weft::select(weft::on_recv(stop_, [&] { stopped = true; }), weft::on_recv(weft::after(ping_every), [] {}));
    if (stopped || dead()) return;
    auto silent = clock::now() - last_heard();
    if (silent > lease_) {
      close("peer " + address_ + " said nothing for " +
            std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(silent).count()) + " ms");
      return;
    }
    if (silent >= ping_every) {
      v1::Frame ping;
      ping.mutable_ping()->set_nonce(++nonce);
      send(ping);
    }
  }
}

}  // namespace weft::circuit::detail
