// src/server/chan_host.hpp: the channels a runtime server hosts.
//
// docs/protocol.md ("Remote channels", "The select commit protocol") is the
// contract; this is how the server keeps it. A hosted_chan is a state
// machine: requests (send, recv, offer replies, cancel, close, a client's
// disconnect) go in under its lock, and frames come out to clients
// (client.hpp). Nothing here touches a socket, so tests/server/ drive it
// with recorders and check every frame.
//
// State of one channel:
//   buf      values whose send has completed (buffered, TRY-sent, or from
//            an accepted send offer), in the order they completed.
//   blocked  WAIT senders still waiting: their value and who to tell.
//   reserved the value behind the one outstanding receive offer, taken out
//            of buf or blocked (from_blocked says which), or none.
//   recvq    receivers waiting (WAIT and OFFER), in arrival order.
//   sendq    OFFER senders waiting for room, with their values.
//   send_offer  the one outstanding send offer (room held for its value).
//
// Invariants (each public operation restores them before it unlocks):
//   I1 A value leaves the channel only by a WAIT or TRY delivery or an
//      accepted receive offer: exactly one receiver gets it.
//   I2 At most one receive offer is outstanding, and while it is, nothing
//      is handed or offered to any other receiver (FIFO per channel): the
//      reserved value is the head, and a decline or its receiver's
//      disconnect puts it back at the front of the deque it came from. (A
//      Cancel that crosses the Offer changes nothing: the OfferReply
//      decides.)
//   I3 At most one send offer is outstanding; it is made only when its
//      value could be taken at once (buffered: room, counting the held
//      room; unbuffered: more receivers waiting than values waiting), and
//      an accepted one's value is appended to buf: it is committed even if
//      the receiver it was meant for declines meanwhile.
//   I4 FIFO: receivers take buf's front, else blocked's front; so values
//      whose sends completed leave in completion order, and a waiting
//      sender's value after every completed one.
//   I5 Buffered channels: |buf| + (reserved from buf) + (send offer
//      held) <= capacity, and blocked is empty whenever that sum is below
//      capacity (admit() moves its front into buf and tells the sender
//      DONE). Unbuffered: buf holds only completed sends (accepted offers,
//      TRY sends) waiting for the receiver they were counted for (I3).
//   I6 If recvq is non-empty then no value is available to it (buf and
//      blocked empty, or a receive offer outstanding). If closed, sendq
//      and blocked are empty (their requests got ChanDone CLOSED), and a
//      receiver is told CLOSED only once nothing can arrive any more: no
//      value left, none reserved, no send offer outstanding (an offer
//      made before the close may still be accepted, and its send then
//      happened before the close).
//   I7 Every request gets exactly one final reply (ChanDone, Offer then
//      OfferReply, or Error) unless its client disconnected; a disconnect
//      drops the client's waiters, its blocked values (their senders never
//      learned they were sent) and releases its offers (I2, I3).
//
// Consequences a stub sees:
//   - Sends and receives on a closed channel both get ChanDone CLOSED (the
//     stub throws closed_channel_error for a send); ChanClose of a closed
//     channel gets Error CLOSED ("close of closed channel").
//   - A TRY or OFFER_NOW receive on an unbuffered channel whose only
//     senders are OFFER senders (blocked selects) reports WOULD_BLOCK: a
//     send is offered only to a receiver that waits (I3), and a try does
//     not wait. (Go's try_recv would meet a blocked select's send.)
//   - An accepted send offer on an unbuffered channel completes before a
//     receiver has the value (docs/protocol.md says so); ChanStat's size
//     counts such values.
//
// Rejected: removing a value from the channel when it is offered and
// re-inserting it on decline at the tail (breaks FIFO); offering the same
// value to several receivers at once and letting the first accept win
// (the losers' declines would race new arrivals); per-client queues (a
// channel's order is global).
//
// Locking: the table (chan_host) has one weft::mutex for names; each
// channel has its own. A request locks one channel; post() only queues
// (client.hpp), so no lock is held across a socket write, and no two
// channel locks are ever held together.
#pragma once

#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <unordered_map>

#include <weft/mutex.hpp>

#include "platform/lock_scope.hpp"
#include "platform/thread_annotations.hpp"
#include "server/budget.hpp"
#include "server/client.hpp"

namespace weft::server {

class hosted_chan {
 public:
  hosted_chan(std::string name, std::string signature, std::uint64_t capacity, budget* b)
      : name_(std::move(name)), signature_(std::move(signature)), capacity_(capacity), budget_(b) {}
  hosted_chan(const hosted_chan&) = delete;
  hosted_chan& operator=(const hosted_chan&) = delete;

  const std::string& name() const noexcept { return name_; }
  const std::string& signature() const noexcept { return signature_; }
  std::uint64_t capacity() const noexcept { return capacity_; }

  // ChanSend / ChanRecv from c with request id. Replies (now or later) go
  // to c. REQUIRES: mode is WAIT, TRY, OFFER or OFFER_NOW.
  void send(client& c, std::uint64_t id, std::string value, v1::Mode mode);
  void recv(client& c, std::uint64_t id, v1::Mode mode);
  // OfferReply. False if c has no outstanding offer with that id (then
  // nothing changed: a protocol error of the client's).
  bool offer_reply(client& c, std::uint64_t id, bool accept);
  // Cancel: a waiting request of c's ends with Error CANCELLED; a request
  // whose reply is on its way (or unknown) is left alone.
  void cancel(client& c, std::uint64_t id);
  // ChanClose: Ok, or Error CLOSED for a closed channel.
  void close(client& c, std::uint64_t id);
  // Remove: closes and drops every value; later requests get NOT_FOUND.
  void remove();
  // ChanStat: values a receiver could take now or later (Go's len counts
  // only buffered ones: so do we, plus completed unbuffered sends).
  v1::ChanStats stat();
  // c disconnected: forget its waiters, drop its blocked values, release
  // its offers (I7).
  void drop(client& c);

 private:
  struct receiver {
    client* c;
    std::uint64_t id;
    bool offer;
  };
  struct sender {
    client* c;  // null: the sender disconnected while its value was reserved
    std::uint64_t id;
    held value;
    bool cancelled = false;  // cancel arrived while the value was reserved
  };
  struct pending_send {
    client* c = nullptr;  // null: no send offer outstanding
    std::uint64_t id = 0;
    held value;
  };

  // The steps below run with mu_ held.
  bool reserved() const REQUIRES(mu_) { return recv_offer_c_ != nullptr; }
  bool available() const REQUIRES(mu_) { return !reserved() && (!buf_.empty() || !blocked_.empty()); }
  // Nothing more can arrive for a receiver of a closed channel. (An
  // outstanding send offer may still be accepted: its send happened
  // before the close, I3.)
  bool drained() const REQUIRES(mu_) { return !reserved() && buf_.empty() && blocked_.empty() && !send_offer_.c; }
  std::uint64_t occupancy() const REQUIRES(mu_);
  bool room() const REQUIRES(mu_);
  void deliver(client& c, std::uint64_t id) REQUIRES(mu_);
  void reserve(client& c, std::uint64_t id) REQUIRES(mu_);
  void settle_reservation(bool accept) REQUIRES(mu_);
  void admit() REQUIRES(mu_);
  void pump() REQUIRES(mu_);
  void close_locked() REQUIRES(mu_);
  bool refuse_removed(client& c, std::uint64_t id) REQUIRES(mu_);
  bool take_budget(client& c, std::uint64_t id, const std::string& value) REQUIRES(mu_);

  const std::string name_;
  const std::string signature_;
  const std::uint64_t capacity_;
  budget* const budget_;

  weft::mutex mu_;
  bool closed_ GUARDED_BY(mu_) = false;
  bool removed_ GUARDED_BY(mu_) = false;
  std::deque<held> buf_ GUARDED_BY(mu_);
  std::deque<sender> blocked_ GUARDED_BY(mu_);
  std::deque<receiver> recvq_ GUARDED_BY(mu_);
  std::deque<sender> sendq_ GUARDED_BY(mu_);  // OFFER senders waiting for room
  // The outstanding receive offer (null: none; a receiver that
  // disconnects releases its offer at once, I7).
  client* recv_offer_c_ GUARDED_BY(mu_) = nullptr;
  std::uint64_t recv_offer_id_ GUARDED_BY(mu_) = 0;
  bool reserved_from_blocked_ GUARDED_BY(mu_) = false;
  sender reserved_value_ GUARDED_BY(mu_){nullptr, 0, {}};  // its sender, if from blocked_
  pending_send send_offer_ GUARDED_BY(mu_);
};

// The table of channels by name.
class chan_host {
 public:
  struct limits {
    std::size_t max_channels = 1u << 20;
    std::size_t max_name = 4096;
  };
  explicit chan_host(budget* b) : chan_host(b, limits{}) {}
  chan_host(budget* b, limits l) : budget_(b), limits_(l) {}

  struct opened {
    std::shared_ptr<hosted_chan> chan;  // null: refused, see error
    bool created = false;
    v1::Error::Code code = v1::Error::CODE_UNSPECIFIED;
    std::string error;
  };
  // ChanOpen: an existing channel must match signature (and capacity if
  // has_capacity), else REFUSED naming what differs.
  opened open(const std::string& name, const std::string& signature, bool has_capacity, std::uint64_t capacity);
  // Remove: true if there was a channel of that name.
  bool remove(const std::string& name);
  std::size_t size();

 private:
  budget* const budget_;
  const limits limits_;
  weft::mutex mu_;
  std::unordered_map<std::string, std::shared_ptr<hosted_chan>> chans_ GUARDED_BY(mu_);
};

}  // namespace weft::server
