// src/server/chan_host.cpp: one hosted channel's state machine (design and
// invariants I1-I7 in chan_host.hpp).
#include "server/chan_host.hpp"

#include <algorithm>
#include <mutex>
#include <utility>

namespace weft::server {

namespace {

template <class Q, class Pred>
bool erase_first(Q& q, Pred pred) {
  auto it = std::find_if(q.begin(), q.end(), pred);
  if (it == q.end()) return false;
  q.erase(it);
  return true;
}

}  // namespace

std::uint64_t hosted_chan::occupancy() const {
  return buf_.size() + (reserved() && !reserved_from_blocked_ ? 1 : 0) + (send_offer_.c ? 1 : 0);
}

// Whether one more sent value could be taken at once (I3, I5).
bool hosted_chan::room() const {
  if (capacity_ > 0) return blocked_.empty() && occupancy() < capacity_;
  return recvq_.size() > buf_.size() + blocked_.size() + (send_offer_.c ? 1 : 0);
}

bool hosted_chan::refuse_removed(client& c, std::uint64_t id) {
  if (!removed_) return false;
  c.post(error_frame(id, v1::Error::NOT_FOUND, "channel '" + name_ + "' was removed"));
  return true;
}

bool hosted_chan::take_budget(client& c, std::uint64_t id, const std::string& value) {
  if (budget_->take(value.size())) return true;
  c.post(error_frame(id, v1::Error::REFUSED,
                     "weftd is holding " + std::to_string(budget_->used()) + " bytes of values, its limit is " +
                         std::to_string(budget_->limit()) + ": a value of " + std::to_string(value.size()) +
                         " bytes for channel '" + name_ + "' does not fit"));
  return false;
}

void hosted_chan::send(client& c, std::uint64_t id, std::string value, v1::Mode mode) {
  detail::lock_scope lk(mu_);
  if (refuse_removed(c, id)) return;
  if (closed_) {
    c.post(done_frame(id, v1::ChanDone::CLOSED));
    return;
  }
  switch (mode) {
    case v1::WAIT:
      if (!take_budget(c, id, value)) return;
      if (capacity_ > 0 && room()) {
        buf_.emplace_back(std::move(value), budget_);
        c.post(done_frame(id, v1::ChanDone::DONE));
      } else {
        // Unbuffered, or no room: the value is committed and waits (I4);
        // pump() hands it to a receiver waiting already.
        blocked_.push_back(sender{&c, id, held(std::move(value), budget_)});
      }
      break;
    case v1::TRY:
      if (!room()) {
        c.post(done_frame(id, v1::ChanDone::WOULD_BLOCK));
        return;
      }
      if (!take_budget(c, id, value)) return;
      buf_.emplace_back(std::move(value), budget_);
      c.post(done_frame(id, v1::ChanDone::DONE));
      break;
    default:  // OFFER, OFFER_NOW
      if (!send_offer_.c && sendq_.empty() && room()) {
        if (!take_budget(c, id, value)) return;
        send_offer_ = pending_send{&c, id, held(std::move(value), budget_)};
        c.post(offer_frame(id, {}));
      } else if (mode == v1::OFFER_NOW) {
        c.post(done_frame(id, v1::ChanDone::WOULD_BLOCK));
        return;
      } else {
        if (!take_budget(c, id, value)) return;
        sendq_.push_back(sender{&c, id, held(std::move(value), budget_)});
      }
      break;
  }
  pump();
}

void hosted_chan::recv(client& c, std::uint64_t id, v1::Mode mode) {
  detail::lock_scope lk(mu_);
  if (refuse_removed(c, id)) return;
  // Nobody ahead of this receiver: it may take (or be offered) the head.
  const bool first = recvq_.empty() && !reserved();
  const bool offer = mode == v1::OFFER || mode == v1::OFFER_NOW;
  if (first && available()) {
    if (offer) {
      reserve(c, id);
    } else {
      deliver(c, id);
    }
  } else if (first && closed_ && drained()) {
    c.post(done_frame(id, v1::ChanDone::CLOSED));
  } else if (mode == v1::TRY || mode == v1::OFFER_NOW) {
    // The closed-and-drained case above covers TRY on a closed channel
    // unless a reserved value may still come back (then it would block).
    c.post(done_frame(id, v1::ChanDone::WOULD_BLOCK));
    return;
  } else {
    recvq_.push_back(receiver{&c, id, offer});
  }
  pump();
}

// Hands the head to a WAIT or TRY receiver (I1, I4). REQUIRES: available().
void hosted_chan::deliver(client& c, std::uint64_t id) {
  // The receiver's reply says what is left once its value is out
  // (ChanDone.remaining); it goes before the sender's, as it always has.
  wire::frame f;
  sender s{nullptr, 0, {}};
  if (!buf_.empty()) {
    f = done_frame(id, v1::ChanDone::DONE, buf_.front().release());
    buf_.pop_front();
  } else {
    s = std::move(blocked_.front());
    blocked_.pop_front();
    f = done_frame(id, v1::ChanDone::DONE, s.value.release());
  }
  f.mutable_chan_done()->set_remaining(buf_.size() + blocked_.size());
  c.post(f);
  if (s.c != nullptr) s.c->post(done_frame(s.id, v1::ChanDone::DONE));
  admit();
}

// Reserves the head for an OFFER receiver and offers it (I2). REQUIRES:
// available().
void hosted_chan::reserve(client& c, std::uint64_t id) {
  if (!buf_.empty()) {
    reserved_value_ = sender{nullptr, 0, std::move(buf_.front())};
    buf_.pop_front();
    reserved_from_blocked_ = false;
  } else {
    reserved_value_ = std::move(blocked_.front());
    blocked_.pop_front();
    reserved_from_blocked_ = true;
  }
  recv_offer_c_ = &c;
  recv_offer_id_ = id;
  c.post(offer_frame(id, reserved_value_.value.bytes()));
}

// Ends the outstanding receive offer: accepted, the value has left with the
// Offer; otherwise it goes back to the front it came from (I2), unless its
// sender is gone, cancelled, or the channel closed meanwhile.
void hosted_chan::settle_reservation(bool accept) {
  sender r = std::move(reserved_value_);
  reserved_value_ = sender{nullptr, 0, {}};
  const bool from_blocked = reserved_from_blocked_;
  recv_offer_c_ = nullptr;
  recv_offer_id_ = 0;
  reserved_from_blocked_ = false;
  if (accept) {
    if (from_blocked && r.c) r.c->post(done_frame(r.id, v1::ChanDone::DONE));
    return;  // r.value gives its bytes back: they left in the Offer
  }
  if (!from_blocked) {
    if (!removed_) buf_.push_front(std::move(r.value));
  } else if (!r.c) {
    // Its sender disconnected: the value goes with it (I7).
  } else if (r.cancelled) {
    r.c->post(error_frame(r.id, v1::Error::CANCELLED, "cancelled"));
  } else if (closed_) {
    r.c->post(done_frame(r.id, v1::ChanDone::CLOSED));
  } else {
    blocked_.push_front(std::move(r));
  }
}

bool hosted_chan::offer_reply(client& c, std::uint64_t id, bool accept) {
  detail::lock_scope lk(mu_);
  if (recv_offer_c_ == &c && recv_offer_id_ == id) {
    settle_reservation(accept);
  } else if (send_offer_.c == &c && send_offer_.id == id) {
    pending_send p = std::move(send_offer_);
    send_offer_ = pending_send{};
    // Accepted after a close: the send took effect when it was offered,
    // before the close, so its value is received like any buffered one.
    if (accept && !removed_) buf_.push_back(std::move(p.value));
  } else {
    return false;
  }
  pump();
  return true;
}

// Buffered: waiting WAIT senders move into freed room, oldest first, and
// learn their send is done (I5).
void hosted_chan::admit() {
  if (capacity_ == 0) return;
  while (!blocked_.empty() && occupancy() < capacity_) {
    sender s = std::move(blocked_.front());
    blocked_.pop_front();
    buf_.push_back(std::move(s.value));
    s.c->post(done_frame(s.id, v1::ChanDone::DONE));
  }
}

// Restores I3, I5 and I6 after any change: serves waiting receivers in
// order, tells them CLOSED once closed and drained, offers room to the
// oldest waiting OFFER sender.
void hosted_chan::pump() {
  admit();
  while (!reserved() && !recvq_.empty()) {
    if (available()) {
      receiver r = recvq_.front();
      recvq_.pop_front();
      if (r.offer) {
        reserve(*r.c, r.id);
      } else {
        deliver(*r.c, r.id);
      }
    } else if (closed_ && drained()) {
      for (const receiver& r : recvq_) r.c->post(done_frame(r.id, v1::ChanDone::CLOSED));
      recvq_.clear();
    } else {
      break;
    }
  }
  if (!closed_ && !send_offer_.c && !sendq_.empty() && room()) {
    sender s = std::move(sendq_.front());
    sendq_.pop_front();
    send_offer_ = pending_send{s.c, s.id, std::move(s.value)};
    s.c->post(offer_frame(s.id, {}));
  }
}

void hosted_chan::cancel(client& c, std::uint64_t id) {
  detail::lock_scope lk(mu_);
  auto mine = [&](const auto& w) { return w.c == &c && w.id == id; };
  bool found = erase_first(recvq_, mine) || erase_first(sendq_, mine) || erase_first(blocked_, mine);
  if (found) {
    c.post(error_frame(id, v1::Error::CANCELLED, "cancelled"));
    pump();
  } else if (reserved() && reserved_from_blocked_ && mine(reserved_value_)) {
    // Its value is offered to a receiver: the offer's outcome decides (an
    // accept completes the send, a decline cancels it).
    reserved_value_.cancelled = true;
  }
  // Otherwise the reply is on its way (or an Offer awaits its reply).
}

void hosted_chan::close_locked() {
  closed_ = true;
  // Go's rule: senders blocked on a closed channel fail (the stub throws
  // closed_channel_error); buffered values stay for the receivers.
  for (sender& s : blocked_) s.c->post(done_frame(s.id, v1::ChanDone::CLOSED));
  blocked_.clear();
  for (sender& s : sendq_) s.c->post(done_frame(s.id, v1::ChanDone::CLOSED));
  sendq_.clear();
  pump();
}

void hosted_chan::close(client& c, std::uint64_t id) {
  detail::lock_scope lk(mu_);
  if (refuse_removed(c, id)) return;
  if (closed_) {
    c.post(error_frame(id, v1::Error::CLOSED, "close of closed channel '" + name_ + "'"));
    return;
  }
  c.post(ok_frame(id));
  close_locked();
}

void hosted_chan::remove() {
  detail::lock_scope lk(mu_);
  if (removed_) return;
  removed_ = true;
  buf_.clear();
  if (!closed_) {
    close_locked();
  } else {
    pump();
  }
}

v1::ChanStats hosted_chan::stat() {
  detail::lock_scope lk(mu_);
  v1::ChanStats s;
  s.set_size(buf_.size() + (reserved() && !reserved_from_blocked_ ? 1 : 0));
  s.set_capacity(capacity_);
  s.set_closed(closed_);
  return s;
}

void hosted_chan::drop(client& c) {
  detail::lock_scope lk(mu_);
  auto of_c = [&](const auto& w) { return w.c == &c; };
  std::erase_if(recvq_, of_c);
  std::erase_if(sendq_, of_c);
  std::erase_if(blocked_, of_c);
  if (reserved() && reserved_value_.c == &c) reserved_value_.c = nullptr;  // before a settle can push it back
  if (recv_offer_c_ == &c) settle_reservation(false);
  if (send_offer_.c == &c) send_offer_ = pending_send{};
  pump();
}

// The table.

chan_host::opened chan_host::open(const std::string& name, const std::string& signature, bool has_capacity,
                                  std::uint64_t capacity) {
  opened r;
  auto refuse = [&](std::string why) {
    r.code = v1::Error::REFUSED;
    r.error = std::move(why);
    return r;
  };
  if (name.empty()) return refuse("a channel needs a name");
  if (name.size() > limits_.max_name)
    return refuse("a channel name of " + std::to_string(name.size()) + " bytes is above the limit of " +
                  std::to_string(limits_.max_name));
  if (signature.empty()) return refuse("channel '" + name + "': no signature (weft::codec's name of the element type)");
  detail::lock_scope lk(mu_);
  auto it = chans_.find(name);
  if (it != chans_.end()) {
    const hosted_chan& ch = *it->second;
    if (ch.signature() != signature)
      return refuse("channel '" + name + "' holds " + ch.signature() + ", not " + signature);
    if (has_capacity && ch.capacity() != capacity)
      return refuse("channel '" + name + "' has capacity " + std::to_string(ch.capacity()) + ", not " +
                    std::to_string(capacity));
    r.chan = it->second;
    return r;
  }
  if (chans_.size() >= limits_.max_channels)
    return refuse("weftd hosts " + std::to_string(chans_.size()) + " channels, its limit");
  r.chan = std::make_shared<hosted_chan>(name, signature, has_capacity ? capacity : 0, budget_);
  r.created = true;
  chans_.emplace(name, r.chan);
  return r;
}

bool chan_host::remove(const std::string& name) {
  std::shared_ptr<hosted_chan> ch;
  {
    detail::lock_scope lk(mu_);
    auto it = chans_.find(name);
    if (it == chans_.end()) return false;
    ch = std::move(it->second);
    chans_.erase(it);
  }
  ch->remove();  // outside the table lock: never two locks at once
  return true;
}

std::size_t chan_host::size() {
  detail::lock_scope lk(mu_);
  return chans_.size();
}

}  // namespace weft::server
