// src/etcd/keeper.cpp: lease_keeper, a goroutine that keeps one lease alive
// (design of the client in client.cpp; one refresh is in lease.cpp).
//
// Schedule: the next refresh is due a third of the TTL after the last one
// that etcd confirmed (at least 500 ms), as etcd's Go client does: two may
// fail before the lease is in danger. A refresh may take a third of the
// TTL, at least 1 s and at most options.timeout. One that fails (etcd
// unreachable, slow, or without a leader) is retried after min(TTL/3,
// 500 ms), and its error kept for last_error(). Between refreshes the
// goroutine parks in a weft sleep that stop() cuts short: it holds no
// thread.
//
// Lost: etcd answers a keep-alive for a lease it does not have with TTL 0
// (it expired or was revoked). The keeper then ends with lost() true. It
// does not guess from the clock: while etcd is unreachable the lease may
// have expired (a partition) or not (an etcd that restarts renews every
// lease), and only etcd's answer tells. confirmed_until() gives the
// caller the clock's view.
//
// Memory: lost, confirmed_until and last_error are written by the keeper's
// goroutine and read by any goroutine, under the state's spinlock; done
// closes after the last write, so a goroutine that saw it closed reads the
// final values.
#include <algorithm>
#include <stop_token>
#include <utility>

#include <weft/go.hpp>

#include "etcd/calls.hpp"
#include "etcd/client.hpp"
#include "platform/spinlock.hpp"
#include "platform/thread_annotations.hpp"

namespace weft::etcd {

namespace detail {

using namespace std::chrono_literals;
using std::chrono::milliseconds;

struct keeper_state {
  std::shared_ptr<connection> conn;
  lease_id id = 0;
  std::stop_source stop;
  weft::chan<bool> done;  // closed when the goroutine ends
  weft::detail::spinlock lock;
  bool lost GUARDED_BY(lock) = false;
  clock::time_point confirmed_until GUARDED_BY(lock);
  std::string last_error GUARDED_BY(lock);
};

namespace {

milliseconds third(std::chrono::seconds ttl) {
  return std::max<milliseconds>(std::chrono::duration_cast<milliseconds>(ttl) / 3, 500ms);
}

void keep(const std::shared_ptr<keeper_state>& st, std::chrono::seconds ttl) {
  const std::stop_token token = st->stop.get_token();
  const milliseconds limit = options_of(*st->conn).timeout;
  // A lease of unknown TTL is refreshed at once, to learn it.
  milliseconds wait = ttl.count() > 0 ? third(ttl) : 0ms;
  while (weft::this_goroutine::sleep_for(wait, token)) {
    const clock::time_point sent = clock::now();
    const milliseconds budget = std::min<milliseconds>(std::max<milliseconds>(third(ttl), 1s), limit);
    try {
      const std::int64_t confirmed = refresh_lease(*st->conn, st->id, sent + budget);
      weft::detail::lock_scope lk(st->lock);
      if (confirmed <= 0) {
        st->lost = true;
        st->last_error = "etcd: " + lease_name(st->id) + " is gone: it expired or was revoked";
        break;
      }
      ttl = std::chrono::seconds(confirmed);
      st->confirmed_until = sent + ttl;
      st->last_error.clear();
      wait = third(ttl);
    } catch (const std::exception& e) {
      weft::detail::lock_scope lk(st->lock);
      st->last_error = e.what();
      wait = std::min<milliseconds>(third(ttl), 500ms);
    }
  }
  st->done.close();
}

}  // namespace

}  // namespace detail

lease_keeper::lease_keeper(const client& c, lease l) : st_(std::make_shared<detail::keeper_state>()) {
  st_->conn = c.conn_;
  st_->id = l.id;
  {
    weft::detail::lock_scope lk(st_->lock);
    st_->confirmed_until = detail::clock::now() + l.ttl;
  }
  weft::go_options named;
  named.name = "etcd lease keeper";
  weft::go(named, [st = st_, ttl = l.ttl] { detail::keep(st, ttl); });
}

lease_keeper::~lease_keeper() {
  if (!st_) return;
  stop();
  st_->done.recv();  // nullopt once closed: the goroutine has ended
}

lease_keeper::lease_keeper(lease_keeper&&) noexcept = default;

lease_keeper& lease_keeper::operator=(lease_keeper&& o) noexcept {
  if (this != &o) {
    lease_keeper old(std::move(*this));
    st_ = std::move(o.st_);
  }
  return *this;
}

lease_id lease_keeper::id() const { return st_->id; }
weft::chan<bool> lease_keeper::done() const { return st_->done; }

bool lease_keeper::lost() const {
  weft::detail::lock_scope lk(st_->lock);
  return st_->lost;
}

std::chrono::steady_clock::time_point lease_keeper::confirmed_until() const {
  weft::detail::lock_scope lk(st_->lock);
  return st_->confirmed_until;
}

std::string lease_keeper::last_error() const {
  weft::detail::lock_scope lk(st_->lock);
  return st_->last_error;
}

void lease_keeper::stop() { st_->stop.request_stop(); }

}  // namespace weft::etcd
