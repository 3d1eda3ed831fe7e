// src/remote/remote_chan.cpp: a remote channel's plain operations, each one
// request and its reply (docs/protocol.md, "Remote channels"). The stop-token
// forms are selects over an offer case and a stop case (offer_case.cpp).
#include <stdexcept>

#include <weft/detail/remote_core.hpp>
#include <weft/errors.hpp>

#include "remote/chan_link.hpp"
#include "remote/migration.hpp"
#include "remote/stub.hpp"
#include "runtime/gstats.hpp"
#include "wire/remote_wait.hpp"
#include "wire/utf8.hpp"

namespace weft::remote::detail {

namespace {

// A select over an offer case and a stop case, its wait counted as one on
// the runtime server (wire/remote_wait.hpp).
int remote_select(weft::detail::select_arm (&arms)[2]) {
  weft::detail::wait_label_scope remote(wire::wait_runtime_server);
  return weft::detail::select_core(arms, 2, false);
}

v1::Frame ask(chan_link& c, v1::Frame req, const char* what) {
  v1::Frame r = c.server().call(std::move(req));
  if (r.has_error()) {
    if (r.error().code() == v1::Error::CLOSED) {
      if (std::string(what) == "close") throw misuse_error("close of closed channel");
      throw closed_channel_error();
    }
    throw_error(r.error(), std::string(what) + " on " + c.describe());
  }
  return r;
}

const v1::ChanDone& done_of(chan_link& c, const v1::Frame& r, const char* what) {
  if (!r.has_chan_done())
    throw remote_error(remote_errc::protocol, std::string(what) + " on " + c.describe() + ": unexpected reply");
  return r.chan_done();
}

// A migratable goroutine's waits are safe points (migration.hpp, G3): the
// operation is a select with the goroutine's interrupt, withdrawn when a
// move is asked, then the safe point, then (it stayed) the operation again.
std::optional<std::string> migratable_recv(migration_ctx& m, chan_link& c) {
  for (;;) {
    m.safe_point();
    const std::stop_token interrupt = m.interrupt_token();
    std::unique_ptr<offer_case> ext = make_recv_offer(c.shared_from_this());
    weft::detail::select_arm arms[2];
    arms[0].dir = weft::detail::select_dir::external;
    arms[0].ext = ext.get();
    arms[1].dir = weft::detail::select_dir::stop;
    arms[1].token = &interrupt;
    if (remote_select(arms) == 0) {
      if (!arms[0].ok) return std::nullopt;  // closed and drained
      return ext->value();
    }
  }
}

void migratable_send(migration_ctx& m, chan_link& c, std::string bytes) {
  for (;;) {
    m.safe_point();
    const std::stop_token interrupt = m.interrupt_token();
    if (chan_send_or_stop(c, bytes, interrupt)) return;
  }
}

}  // namespace

std::shared_ptr<chan_link> chan_open(const std::string& name, const std::string& signature, bool has_capacity,
                                     std::size_t capacity) {
  // Attached or not: a name that works only unattached would fail later.
  weft::wire::require_utf8(name, "weft::remote::chan name");
  stub* s = current();
  if (s == nullptr) return nullptr;
  if (!s->has_capability("chan"))
    throw remote_error(remote_errc::refused,
                       "runtime server " + s->address() + " hosts no channels (it lacks the \"chan\" capability)");
  v1::Frame req;
  v1::ChanOpen* o = req.mutable_chan_open();
  o->set_name(name);
  o->set_signature(signature);
  o->set_has_capacity(has_capacity);
  o->set_capacity(capacity);
  v1::Frame r = s->call(std::move(req));
  if (r.has_error()) {
    if (r.error().code() == v1::Error::REFUSED)
      throw std::invalid_argument("weft::remote::chan \"" + name + "\": " + r.error().message());
    throw_error(r.error(), "opening remote channel \"" + name + "\" on runtime server " + s->address());
  }
  if (!r.has_chan_opened())
    throw remote_error(remote_errc::protocol,
                       "runtime server " + s->address() + " answered ChanOpen with something else");
  return std::make_shared<chan_link>(s, r.chan_opened().handle(), r.chan_opened().capacity(), name);
}

void chan_send(chan_link& c, std::string bytes) {
  if (migration_ctx* m = current_migration()) return migratable_send(*m, c, std::move(bytes));
  v1::Frame r = ask(c, c.send_request(std::move(bytes), v1::WAIT), "send");
  if (done_of(c, r, "send").status() == v1::ChanDone::CLOSED) throw closed_channel_error();
}

bool chan_try_send(chan_link& c, std::string bytes) {
  v1::Frame r = ask(c, c.send_request(std::move(bytes), v1::TRY), "try_send");
  switch (done_of(c, r, "try_send").status()) {
    case v1::ChanDone::DONE: return true;
    case v1::ChanDone::CLOSED: throw closed_channel_error();
    default: return false;
  }
}

std::optional<std::string> chan_recv(chan_link& c) {
  if (migration_ctx* m = current_migration()) return migratable_recv(*m, c);
  v1::Frame r = ask(c, c.recv_request(v1::WAIT), "recv");
  const v1::ChanDone& d = done_of(c, r, "recv");
  if (d.status() != v1::ChanDone::DONE) return std::nullopt;
  return std::move(*r.mutable_chan_done()->mutable_value());
}

std::optional<std::string> chan_try_recv(chan_link& c) {
  v1::Frame r = ask(c, c.recv_request(v1::TRY), "try_recv");
  const v1::ChanDone& d = done_of(c, r, "try_recv");
  if (d.status() != v1::ChanDone::DONE) return std::nullopt;
  return std::move(*r.mutable_chan_done()->mutable_value());
}

void chan_close(chan_link& c) {
  v1::Frame req;
  req.mutable_chan_close()->set_handle(c.handle());
  ask(c, std::move(req), "close");
}

std::size_t chan_size(chan_link& c) {
  v1::Frame req;
  req.mutable_chan_stat()->set_handle(c.handle());
  v1::Frame r = ask(c, std::move(req), "size");
  return r.has_chan_stats() ? r.chan_stats().size() : 0;
}

std::size_t chan_capacity(const chan_link& c) noexcept { return c.capacity(); }

bool chan_send_or_stop(chan_link& c, std::string bytes, const std::stop_token& token) {
  std::unique_ptr<offer_case> ext = make_send_offer(c.shared_from_this(), std::move(bytes));
  weft::detail::select_arm arms[2];
  arms[0].dir = weft::detail::select_dir::external;
  arms[0].ext = ext.get();
  arms[1].dir = weft::detail::select_dir::stop;
  arms[1].token = &token;
  return remote_select(arms) == 0;
}

std::optional<std::string> chan_recv_or_stop(chan_link& c, const std::stop_token& token) {
  std::unique_ptr<offer_case> ext = make_recv_offer(c.shared_from_this());
  weft::detail::select_arm arms[2];
  arms[0].dir = weft::detail::select_dir::external;
  arms[0].ext = ext.get();
  arms[1].dir = weft::detail::select_dir::stop;
  arms[1].token = &token;
  if (remote_select(arms) != 0 || !arms[0].ok) return std::nullopt;
  return ext->value();
}

}  // namespace weft::remote::detail
