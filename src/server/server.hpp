// src/server/server.hpp: weftd as a library: the runtime server.
//
// docs/protocol.md is the contract with clients; this subsystem is one
// implementation of its server side, and itself a weft program: it runs
// inside weft::run, and every wait (accept, read, a write to a slow
// client, a timer) parks a goroutine on the netpoller, never a thread.
//
//   server       listens on an endpoint (unix:/path or tcp:host:port, via
//                wire::listen), accepts, and gives each connection three
//                goroutines: the reader (runs the session), the link's
//                writer (wire::link::write_loop batches replies), and a
//                watcher (handshake deadline, heartbeat, idle limit).
//   session      one client: handshake, dispatch, cleanup (session.hpp).
//   chan_host    the channels: a state machine per channel that keeps the
//                select commit protocol's invariants (chan_host.hpp).
//   var_host     the variables (var_host.hpp, var_arith.hpp).
//   control_host the attached programs, and the Control requests tools
//                send them through the server (control.hpp).
//   budget       bounds the bytes of values all clients together make the
//                server hold (budget.hpp).
//
// Concurrency: sessions run in parallel (procs > 1). Each channel and
// variable has its own weft::mutex, each table one for its names; a
// request holds one object's lock at a time. Replies are posted under it,
// but posting only appends to the client's link outbox (a spinlock and a
// doorbell channel): no socket is written while any host lock is held,
// and a client that stops reading is cut off at the link's outbox limit
// rather than stalling the others.
//
// Faults: a malformed frame or request gets an Error to its client only,
// logged once per client (session.hpp); a client that says nothing is
// dropped after handshake_timeout; one whose connection breaks has its
// reservations given back (chan_host.hpp, I7). Memory per client is
// bounded: one frame being read, its outbox, max_pending requests, one
// handle per object it opened.
//
// Security: beyond loopback every connection must be authenticated with
// the cluster key (DESIGN.md): listen() refuses a TCP address that is not
// a loopback one when the server has no key. With TLS (an endpoint
// "tls:...", weftd --tls) every connection is TLS with the cluster key as
// PSK (wire/tls.hpp), and the key's challenge-response runs inside it as
// over a plain connection; a TLS server without a key is refused too. The
// TLS handshake runs in the connection's own goroutine, bounded by
// handshake_timeout; stop() closes connections still in it.
//
// Rejected: a thread per client (a weft program parks goroutines); one
// lock for all channels (sessions would serialize); writing replies from
// the goroutine that produced them (a slow client would stall a sender
// holding a channel lock).
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>
#include <unordered_set>

#include <weft/mutex.hpp>
#include <weft/net.hpp>
#include <weft/wait_group.hpp>

#include "platform/lock_scope.hpp"
#include "platform/thread_annotations.hpp"
#include "server/session.hpp"
#include "server/state.hpp"
#include "wire/endpoint.hpp"
#include "wire/link.hpp"
#include "wire/tls.hpp"

namespace weft::server {

struct options {
  wire::endpoint endpoint = wire::default_endpoint();
  // A client that has not sent its Hello by then is dropped.
  std::chrono::nanoseconds handshake_timeout = std::chrono::seconds(5);
  // A client heard nothing from (not even a Ping) for this long is dropped.
  std::chrono::nanoseconds idle_timeout = std::chrono::seconds(10);
  // The server sends Ping after this much silence of its own.
  std::chrono::nanoseconds heartbeat = std::chrono::milliseconds(250);
  // How long a closing connection may take to write its last frames.
  std::chrono::nanoseconds flush_timeout = std::chrono::seconds(1);
  state_options state;
};

// Whether e is a Unix socket or a loopback TCP address (127.0.0.0/8, ::1,
// localhost): the addresses served without a cluster key.
bool loopback(const wire::endpoint& e);

class server {
 public:
  explicit server(options o);
  server(const server&) = delete;
  server& operator=(const server&) = delete;
  ~server();  // stop()

  // Binds the endpoint. Throws std::invalid_argument for a TCP address
  // beyond loopback without a cluster key (state.cluster_key), std::system_error if it cannot listen.
  // REQUIRES: inside weft::run.
  void listen();
  // Where it listens, as clients write it: "unix:/path", "tcp:127.0.0.1:41234".
  std::string address() const;
  // Accepts until stop(); each connection runs in its own goroutines.
  // REQUIRES: inside weft::run, after listen().
  void serve();
  // Stops accepting (a Unix socket file is removed), ends every
  // connection and waits until serve() and the connections' goroutines
  // are done. Idempotent.
  void stop();

  server_state& state() noexcept { return st_; }
  std::size_t connections();

 private:
  // worker_ticket: a forked worker's connection, made by weftd before the
  // fork (fork_server.hpp, K4): no TLS, no key proof for that ticket.
  void connection(net::conn c, std::string worker_ticket = {});
  // Serves a forked worker's connection, as an accepted one's (K4).
  void serve_forked(net::conn c, std::string worker_ticket);
  // The TLS handshake of an accepted connection; null if it failed (logged).
  std::unique_ptr<wire::tls_session> tls_handshake(net::conn& c, const std::string& peer);
  void watch(wire::link& l, session& s, const chan<bool>& stop, std::string& reason);

  const options opts_;
  server_state st_;
  net::listener ln_;
  std::string address_;
  weft::mutex mu_;
  bool stopping_ GUARDED_BY(mu_) = false;
  std::unordered_set<wire::link*> live_ GUARDED_BY(mu_);
  std::unordered_set<net::conn*> handshaking_ GUARDED_BY(mu_);  // in the TLS handshake
  std::shared_ptr<const wire::tls_context> tls_;  // set by listen() for a TLS endpoint
  weft::wait_group accepting_;  // serve() is running
  weft::wait_group wg_;  // one per connection goroutine
};

}  // namespace weft::server
