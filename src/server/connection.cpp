// src/server/connection.cpp: one accepted connection's goroutines, from
// accept to the last byte (design in server.hpp).
//
//   reader   this goroutine: link::receive -> session::handle, until the
//            client closes, breaks the protocol, or the link dies.
//   writer   link::write_loop: writes what post() queued, in batches.
//   watcher  every heartbeat: drops a client with no Hello after
//            handshake_timeout, or silent for idle_timeout; sends Ping
//            when the server itself has been silent (docs/protocol.md,
//            "Heartbeats").
// The reader outlives the other two (it waits for both), so they may refer
// to its session and link. Ending: the session forgets its objects first
// (reservations go back to the channels at once), then the last frames are
// flushed for at most flush_timeout, then the socket closes.
#include <mutex>
#include <utility>

#include <weft/errors.hpp>
#include <weft/go.hpp>
#include <weft/select.hpp>
#include <weft/timer.hpp>

#include "runtime/runtime.hpp"
#include "server/server.hpp"

namespace weft::server {

namespace {

// A session's frames go to its link; a link that is closed or over its
// outbox limit drops them (the reader then sees the link die).
class link_outlet final : public outlet {
 public:
  explicit link_outlet(wire::link& l) : l_(l) {}
  void send(const wire::frame& f) noexcept override {
    try {
      l_.send(f);
    } catch (...) {}
  }
  std::size_t backlog() const noexcept override { return l_.outbox_size(); }
  std::uint64_t bytes_exchanged() const noexcept override { return l_.bytes_in() + l_.bytes_out(); }

 private:
  wire::link& l_;
};

std::string seconds_text(std::chrono::nanoseconds d) {
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(d).count();
  if (ms % 1000 == 0) return std::to_string(ms / 1000) + " s";
  return std::to_string(ms) + " ms";
}

// Waits for c to close, at most d.
void wait_closed(const chan<bool>& c, std::chrono::nanoseconds d) {
  select(on_recv(c, [] {}), on_recv(after(d), [] {}));
}

}  // namespace

void server::watch(wire::link& l, session& s, const chan<bool>& stop, std::string& reason) {
  ticker tick(opts_.heartbeat);
  const auto start = std::chrono::steady_clock::now();
  auto last_heard = start;
  std::uint64_t in = l.bytes_in(), out = l.bytes_out(), nonce = 0;
  for (;;) {
    bool stopped = false;
    select(on_recv(stop, [&] { stopped = true; }), on_recv(tick.channel(), [] {}));
    if (stopped) return;
    const auto now = std::chrono::steady_clock::now();
    if (!s.welcomed()) {
      if (now - start < opts_.handshake_timeout) continue;
      reason = "sent no Hello within " + seconds_text(opts_.handshake_timeout);
      s.post(error_frame(0, v1::Error::PROTOCOL, "no Hello within " + seconds_text(opts_.handshake_timeout)));
      l.close_when_flushed();
      wait_closed(stop, opts_.flush_timeout);
      l.close();
      return;
    }
    s.tick(now);
    if (l.bytes_in() != in) {
      in = l.bytes_in();
      last_heard = now;
    } else if (now - last_heard >= opts_.idle_timeout) {
      reason = "silent for " + seconds_text(opts_.idle_timeout) + " (no Ping)";
      l.close();
      return;
    }
    if (l.bytes_out() == out) {
      wire::frame ping;
      ping.mutable_ping()->set_nonce(++nonce);
      s.post(ping);
    }
    out = l.bytes_out();
  }
}

std::unique_ptr<wire::tls_session> server::tls_handshake(net::conn& c, const std::string& peer) {
  {
    detail::lock_scope lk(mu_);
    if (stopping_) return nullptr;
    handshaking_.insert(&c);  // stop() closes it: the handshake ends at once
  }
  std::unique_ptr<wire::tls_session> s;
  try {
    c.set_deadline(std::chrono::steady_clock::now() + opts_.handshake_timeout);
    s = wire::tls_accept(c, tls_, "this weftd requires TLS: use " + address_);
    c.set_deadline(net::time_point::max());
  } catch (const remote_error& e) {
    // A client that connects and closes without a byte probes whether
    // anyone listens (the circuit's start of the local weftd does): not
    // worth a log line.
    if (e.kind() != remote_errc::lost) st_.log("refused " + peer + " in the TLS handshake: " + e.what());
  } catch (const std::system_error& e) {
    st_.log("lost " + peer + " in the TLS handshake: " +
            (e.code() == std::errc::timed_out ? "no handshake within " + seconds_text(opts_.handshake_timeout)
                                              : std::string(e.what())));
  } catch (const std::exception& e) {
    st_.log("failed the TLS handshake with " + peer + ": " + e.what());
  }
  detail::lock_scope lk(mu_);
  handshaking_.erase(&c);
  return s;
}

void server::connection(net::conn c, std::string worker_ticket) {
  std::string peer;
  try {
    peer = c.remote_address();
  } catch (...) {}
  if (peer.empty() || peer == "@") peer = opts_.endpoint.network;
  wire::stream st;
  if (tls_ && worker_ticket.empty()) {
    std::unique_ptr<wire::tls_session> s = tls_handshake(c, peer);
    if (!s) {
      c.close();
      wg_.done();
      return;
    }
    st = wire::stream(std::move(c), std::move(s));
  } else {
    st = wire::stream(std::move(c));
  }
  auto l = std::make_shared<wire::link>(std::move(st), peer, st_.opts.self.max_frame);
  {
    detail::lock_scope lk(mu_);
    if (stopping_) {
      l->close();
      wg_.done();
      return;
    }
    live_.insert(l.get());
  }
  // This goroutine parks soon after whatever it readies or starts (its
  // writer and watcher, then what a request readies: a writer, a waiting
  // receiver): they run next on this P, with no other thread woken for
  // them, and the reader reads again at once (runtime.hpp,
  // parks_soon_scope). Every part of its life after the loop parks soon
  // too: each hand-over is followed by a wait.
  detail::parks_soon_scope handing_over;
  chan<bool> writer_done, stop_watch, watch_done;
  go(go_options{.stack_size = 0, .name = "weftd writer"}, [l, writer_done]() mutable {
    l->write_loop();
    writer_done.close();
  });
  link_outlet out(*l);
  session s(st_, out, peer);
  if (!worker_ticket.empty()) s.trust_worker(std::move(worker_ticket));
  std::string watch_reason;
  go(go_options{.stack_size = 0, .name = "weftd watcher"}, [&, watch_done]() mutable {
    watch(*l, s, stop_watch, watch_reason);
    watch_done.close();
  });

  std::string why = "closed";
  wire::frame f;
  try {
    while (l->receive(f)) {
      if (s.handle(f) == session::verdict::close) break;
    }
  } catch (const remote_error& e) {
    if (e.kind() == remote_errc::protocol) {
      s.bad_stream(e.what());
      why = "broke the framing";
    } else {
      why = std::string("lost: ") + e.what();
    }
  } catch (const std::exception& e) {
    // A bug of ours or memory exhaustion: this client gets INTERNAL, the
    // others go on.
    s.post(error_frame(0, v1::Error::INTERNAL, std::string("weftd failed: ") + e.what()));
    why = std::string("internal error: ") + e.what();
  }
  stop_watch.close();
  watch_done.recv();
  if (!watch_reason.empty()) why = watch_reason;
  s.end(why);

  l->close_when_flushed();
  wait_closed(writer_done, opts_.flush_timeout);
  {
    detail::lock_scope lk(mu_);
    live_.erase(l.get());
  }
  l->close();
  writer_done.recv();
  wg_.done();
}

}  // namespace weft::server
