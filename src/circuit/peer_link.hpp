// src/circuit/peer_link.hpp: one connection between two circuit processes
// (a peer link), which carries the cross-reference protocol both ways.
//
// One link per pair of processes: whichever dials first; the other side
// uses the link it accepted (peers.hpp). Both sides send requests on it
// (XCall, XDial) under ids of their own, and replies (XReturn, XDialed,
// Error) carry the request's id: the body tells a request from a reply, as
// on a stub's connection (docs/protocol.md, "Requests, replies,
// multiplexing"). Calls from any number of goroutines are in flight at
// once and complete as their replies come, in any order.
//
// Handshake (docs/protocol.md): the dialer sends Hello{role PEER, worker =
// its circuit id, no token}; the acceptor answers Welcome, with a
// challenge when this process has a cluster key (WEFT_KEY_FILE), which the
// dialer answers with AuthProof (wire/cluster_key.hpp). A dialer without
// the key is refused (Error UNAUTHORIZED) and the refusal logged to
// stderr. 5 s for the whole handshake. In a TLS circuit (identity.hpp,
// peers_use_tls) a TLS handshake with the cluster key comes first
// (wire/tls.hpp), and the challenge-response runs inside it.
//
// Goroutines per link: the writer (wire::link::write_loop), the reader
// (dispatches each frame without parking: a call runs in a goroutine of
// its own, one-way messages go to the exports table) and the heartbeat
// (Ping after `ping_every` of silence; a peer silent for a lease is
// declared dead).
//
// A peer's calls in flight here are bounded (max_serving): one more is
// refused (Error REFUSED), so a peer cannot make this process start
// goroutines without end.
//
// Death: a link whose connection breaks, whose peer is silent for a lease,
// or that breaks the protocol is dead for good: every request in flight
// fails with remote_error{unknown_outcome} (it was sent: it may or may not
// have run; nothing sends it again), and every later request fails at once
// with remote_error{lost}. Nothing redials it for those requests; a new
// reference to the peer gets a new link (peers.hpp).
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>

#include <weft/chan.hpp>
#include <weft/future.hpp>
#include <weft/net.hpp>
#include <weft/wait_group.hpp>

#include "platform/spinlock.hpp"
#include "weft/runtime/v1/runtime.pb.h"
#include "wire/link.hpp"
#include "wire/peer_tally.hpp"
#include "wire/tls.hpp"

namespace weft::circuit::detail {

namespace v1 = weft::runtime::v1;

class peer_link : public std::enable_shared_from_this<peer_link> {
 public:
  static constexpr std::uint32_t max_serving = 1u << 16;

  // Dials address and shakes hands. Throws remote_error (unreachable,
  // unauthorized, refused, protocol).
  static std::shared_ptr<peer_link> dial(const std::string& address, std::chrono::milliseconds lease);
  // Shakes hands with a connection accepted by the peer listener. key: the
  // cluster key ("" for none); tls: the listener's TLS context (null:
  // plain), the TLS handshake first then. Null if the dialer was refused.
  static std::shared_ptr<peer_link> accept(net::conn c, const std::string& key, std::chrono::milliseconds lease,
                                           std::shared_ptr<const wire::tls_context> tls = nullptr);
  ~peer_link();

  // Starts the reader, writer and heartbeat, counted in wg.
  void start(weft::wait_group& wg);
  // Declares the peer dead (idempotent): in-flight requests fail
  // unknown_outcome, later ones lost.
  void close(const std::string& why) noexcept;
  // The run is ending: Goodbye, what is queued written (for 200 ms at
  // most), then close.
  void shutdown(const std::string& why) noexcept;
  bool dead() const noexcept { return dead_.load(std::memory_order_acquire); }

  // The other side's peer address ("unix:/.../peer/R....sock").
  const std::string& address() const noexcept { return address_; }
  bool dialed() const noexcept { return dialed_; }
  std::chrono::steady_clock::time_point last_heard() const noexcept;

  // Sends a request; its final reply (or the link's death) settles out.
  // Never parks, never throws.
  void request(v1::Frame f, std::shared_ptr<weft::detail::future_state> out);
  // A one-way frame; dropped if the link is dead. Never parks or throws.
  void send(const v1::Frame& f) noexcept;

 private:
  // peer: the other process as its handshake named it; the link's bytes
  // count for it (wire/peer_traffic.hpp) until the link goes.
  peer_link(std::unique_ptr<wire::link> l, std::string address, bool dialed, std::chrono::milliseconds lease,
            const v1::ProcessInfo& peer);
  void read_loop();
  void heartbeat_loop();
  void dispatch(v1::Frame& f);

  std::unique_ptr<wire::link> link_;
  const std::string address_;
  const bool dialed_;
  const std::chrono::milliseconds lease_;
  std::atomic<bool> dead_{false};
  std::atomic<std::int64_t> last_heard_ns_{0};
  weft::chan<bool> stop_;  // closed when the link dies: the heartbeat ends
  std::atomic<std::uint64_t> next_id_{1};
  std::atomic<std::uint32_t> serving_{0};  // the peer's calls running here
  const std::int64_t self_pid_;  // the two ends' pids: xref calls' trace ids (xref_flow.hpp)
  const std::int64_t peer_pid_;
  const std::string peer_host_;  // as its handshake named it: a tally's key
  weft::detail::spinlock lock_;
  std::unordered_map<std::uint64_t, std::shared_ptr<weft::detail::future_state>> pending_ GUARDED_BY(lock_);
  // The calls of migratable goroutines, whose replies count for their
  // tallies too (wire/peer_tally.hpp): a subset of pending_'s ids.
  std::unordered_map<std::uint64_t, std::shared_ptr<wire::peer_tally>> tallied_ GUARDED_BY(lock_);
  std::string death_ GUARDED_BY(lock_);  // why it died
};

// Settles out from a reply frame (XReturn, XDialed, Error).
void settle_from(weft::detail::future_state& out, v1::Frame& reply, const std::string& peer);

}  // namespace weft::circuit::detail
