// src/remote/offer_case.cpp: a remote channel's case in a select, the stub's
// half of docs/protocol.md's "select commit protocol".
//
// Armed (pass 2 of select_core, channel locks held), the case sends an
// OFFER request, which never parks (wire::link::send only queues), and
// leaves a hook with the stub's reader. Each reply runs the hook on the
// reader's goroutine:
//   Offer           claim the select (select_external_ready). Won: keep the
//                   value, accept. Lost, or the select is over: decline.
//   ChanDone CLOSED claim; won: the case completes as closed.
//   Error           claim; won: the select throws it. CANCELLED: nothing.
// Every Offer gets exactly one OfferReply, so the server never holds a
// reservation for a select that has gone. disarm() (the select is over)
// clears the select pointer under the hook's lock, so no later reply can
// touch the select's stack, and cancels a request still waiting.
//
// In a select with a default, poll_now() asks OFFER_NOW and waits for the
// answer (no lock held): an Offer is then *held* until the select decides:
// accept_held() or release_held() answers it.
//
// Invariant: the value of an accepted Offer is handed to the select that
// won the claim, and only to it; a declined or cancelled one stays on the
// server. The lock order is hook lock, then the select's gate.
#include <mutex>

#include <weft/detail/remote_core.hpp>
#include <weft/errors.hpp>

#include "platform/spinlock.hpp"
#include "remote/chan_link.hpp"
#include "remote/stub.hpp"

namespace weft::remote::detail {

namespace {

// What the reader's hook and the select share; outlives both.
struct shared {
  weft::detail::spinlock lock;
  weft::detail::select_state* st GUARDED_BY(lock) = nullptr;  // null once disarmed
  int index GUARDED_BY(lock) = -1;
  bool finished GUARDED_BY(lock) = false;  // the request's final reply came
  // Set when this case won the select, under lock until then; after the
  // win the select reads them without it. Not annotated: the rule changes
  // with the protocol's state, which clang cannot follow.
  bool closed = false;
  bool failed = false;
  remote_errc error_kind = remote_errc::lost;
  std::string error;
  std::string value;
};

class offer_impl final : public offer_case {
 public:
  offer_impl(std::shared_ptr<chan_link> c, bool is_send, std::string bytes)
      : c_(std::move(c)), is_send_(is_send), bytes_(std::move(bytes)), sh_(std::make_shared<shared>()) {}

  bool poll_now() override {
    v1::Frame r = c_->server().call(request(v1::OFFER_NOW));
    held_id_ = r.id();
    if (r.has_offer()) {
      held_ = true;
      sh_->value = std::move(*r.mutable_offer()->mutable_value());
      return true;
    }
    if (r.has_chan_done() && r.chan_done().status() == v1::ChanDone::CLOSED) {
      sh_->closed = true;  // ready: a receive gets nothing, a send throws
      return true;
    }
    if (r.has_error())
      throw_error(r.error(), std::string(is_send_ ? "select send" : "select receive") + " on " + c_->describe());
    return false;
  }

  void accept_held() override { answer_held(true); }
  void release_held() noexcept override {
    try {
      answer_held(false);
    } catch (...) {}
  }

  void arm(weft::detail::select_state* st, int index) override {
    {
      weft::detail::lock_scope lk(sh_->lock);
      sh_->st = st;
      sh_->index = index;
    }
    auto p = std::make_shared<pending>();
    std::shared_ptr<shared> sh = sh_;
    stub* s = &c_->server();
    p->on_reply = [sh, s](v1::Frame& f) { return on_reply(*sh, *s, f); };
    try {
      id_ = s->start_request(request(v1::OFFER), std::move(p));
    } catch (const remote_error& e) {  // the link is gone: fail the select rather than throw under its locks
      weft::detail::lock_scope lk(sh_->lock);
      sh_->finished = true;
      if (weft::detail::select_external_ready(st, index)) fail(*sh_, e.kind(), e.what());
    }
  }

  void disarm() noexcept override {
    bool cancel;
    {
      weft::detail::lock_scope lk(sh_->lock);
      sh_->st = nullptr;
      cancel = !sh_->finished;
    }
    if (!cancel) return;
    v1::Frame f;
    f.set_id(id_);
    f.mutable_cancel();
    try {
      c_->server().send(f);
    } catch (...) {}
  }

  void complete(weft::detail::select_arm& a) override {
    // The claim was won before the wake-up that let us here (or by
    // poll_now on this goroutine): the fields below are settled.
    weft::detail::lock_scope lk(sh_->lock);
    if (sh_->failed) throw remote_error(sh_->error_kind, sh_->error);
    if (sh_->closed) {
      if (is_send_) throw closed_channel_error();
      a.ok = false;
      return;
    }
    a.ok = true;
    if (!is_send_) value_ = std::move(sh_->value);
  }

 private:
  v1::Frame request(v1::Mode mode) const {
    v1::Frame req;
    if (is_send_) {
      v1::ChanSend* s = req.mutable_chan_send();
      s->set_handle(c_->handle());
      s->set_value(bytes_);
      s->set_mode(mode);
    } else {
      v1::ChanRecv* r = req.mutable_chan_recv();
      r->set_handle(c_->handle());
      r->set_mode(mode);
    }
    return req;
  }

  void answer_held(bool accept) {
    if (!held_) return;
    held_ = false;
    v1::Frame f;
    f.set_id(held_id_);
    f.mutable_offer_reply()->set_accept(accept);
    c_->server().send(f);
  }

  static void fail(shared& sh, remote_errc kind, std::string what) {
    sh.failed = true;
    sh.error_kind = kind;
    sh.error = std::move(what);
  }

  // Runs on the stub's reader goroutine. True: the request is over.
  static bool on_reply(shared& sh, stub& s, v1::Frame& f) {
    weft::detail::lock_scope lk(sh.lock);
    auto claim = [&]() REQUIRES(sh.lock) {
      return sh.st != nullptr && weft::detail::select_external_ready(sh.st, sh.index);
    };
    if (f.has_offer()) {
      bool won = claim();
      if (won) sh.value = std::move(*f.mutable_offer()->mutable_value());
      sh.finished = true;
      lk.unlock();
      v1::Frame reply;
      reply.set_id(f.id());
      reply.mutable_offer_reply()->set_accept(won);
      try {
        s.send(reply);
      } catch (const remote_error&) {  // the link is gone; the program is ending
      }
      return true;
    }
    sh.finished = true;
    if (f.has_chan_done()) {
      if (f.chan_done().status() == v1::ChanDone::CLOSED && claim()) sh.closed = true;
      return true;
    }
    if (f.has_error()) {
      if (f.error().code() != v1::Error::CANCELLED && claim())
        fail(sh, remote_errc::lost, "select on a remote channel: " + f.error().message());
      return true;
    }
    return true;  // anything else ends the request too
  }

  std::shared_ptr<chan_link> c_;
  bool is_send_;
  std::string bytes_;
  std::shared_ptr<shared> sh_;
  std::uint64_t id_ = 0;
  std::uint64_t held_id_ = 0;
  bool held_ = false;
};

}  // namespace

std::unique_ptr<offer_case> make_recv_offer(std::shared_ptr<chan_link> c) {
  return std::make_unique<offer_impl>(std::move(c), false, std::string());
}

std::unique_ptr<offer_case> make_send_offer(std::shared_ptr<chan_link> c, std::string bytes) {
  return std::make_unique<offer_impl>(std::move(c), true, std::move(bytes));
}

}  // namespace weft::remote::detail
