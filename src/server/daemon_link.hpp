// src/server/daemon_link.hpp: this weftd's connection to another host's
// weftd, over which it forwards spawns (docs/cluster.md, "Spawning on
// another host").
//
// dial() connects to the address the other weftd published (HostInfo),
// with the cluster key (TLS when the address is a TLS one or WEFT_TLS=1),
// and shakes hands as a DAEMON client (docs/protocol.md, "Handshake").
// Then three goroutines: the writer (wire::link::write_loop); the reader,
// which hands each frame to the request it answers and Pongs each Ping;
// the heartbeat, which sends a Ping after 250 ms without sending and
// declares the other weftd dead after `dead_after` without hearing from
// it (etcd is not in this path: a partition is noticed here first).
//
// Requests: start() registers a handler under a fresh id, then sends. The
// reader calls the handler for every frame under that id, on its own
// goroutine (so a handler must not park: it posts and returns), until the
// handler returns true (final).
//
// Invariants:
//   D1 Every started request's handler sees exactly one final frame: the
//      other weftd's, or, if the link ends first, an Error LOST naming the
//      host and why the link ended. Never both, never none.
//   D2 A link that ended stays ended: nothing is resent on it or on a
//      later link (daemon_links dials a fresh one for new requests), so a
//      request runs at most once however the network behaves.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <unordered_map>

#include <weft/mutex.hpp>

#include "platform/lock_scope.hpp"
#include "platform/thread_annotations.hpp"
#include "weft/runtime/v1/runtime.pb.h"
#include "wire/link.hpp"

namespace weft::server {

namespace v1 = weft::runtime::v1;

class daemon_link : public std::enable_shared_from_this<daemon_link> {
 public:
  using handler = std::function<bool(wire::frame&)>;
  struct options {
    std::chrono::milliseconds ping_after{250};  // silence on our side before a Ping
    std::chrono::milliseconds dead_after{3000};  // silence on theirs before the link ends
    std::chrono::milliseconds dial_timeout{3000};  // connect and handshake
  };

  // Connects to the weftd of `host` at `address` and shakes hands; starts
  // the goroutines. Throws remote_error (unreachable, unauthorized,
  // refused, protocol) with a message naming host and address.
  static std::shared_ptr<daemon_link> dial(const std::string& host, const std::string& address, const std::string& key,
                                           options o);
  ~daemon_link();
  daemon_link(const daemon_link&) = delete;
  daemon_link& operator=(const daemon_link&) = delete;

  // Sends req under a fresh id; h gets its replies (D1). Returns the id.
  // On a link that has ended, h gets its Error LOST at once.
  std::uint64_t start(wire::frame req, handler h);
  // Sends req and parks until its final reply (an Error included), or the
  // timeout (then an Error TIMEOUT; a late reply is dropped).
  wire::frame call(wire::frame req, std::chrono::milliseconds timeout);

  // Whether f is the Error LOST a handler gets because the link ended
  // (D1), rather than one the other weftd sent.
  static bool ended(const wire::frame& f);

  // Ends the link (D1: pending handlers get their Error LOST with why).
  void close(const std::string& why);
  bool alive() const noexcept { return !ended_.load(std::memory_order_acquire); }
  const std::string& host() const noexcept { return host_; }
  const std::string& address() const noexcept { return address_; }

 private:
  daemon_link(std::string host, std::string address, options o);
  void handshake(const std::string& key);
  wire::frame exchange(const wire::frame& f, const char* what);
  void read_loop();
  void heartbeat_loop();
  void send(const wire::frame& f);

  const std::string host_, address_;
  const options opts_;
  std::unique_ptr<wire::link> link_;
  std::atomic<bool> ended_{false};
  std::atomic<std::int64_t> last_heard_ns_{0}, last_sent_ns_{0};
  std::atomic<std::uint64_t> next_id_{1};
  weft::mutex mu_;
  std::unordered_map<std::uint64_t, handler> pending_ GUARDED_BY(mu_);
  std::string why_ended_ GUARDED_BY(mu_);
};

}  // namespace weft::server
