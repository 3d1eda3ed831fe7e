// src/server/worker_host_watch.cpp: AnchorWatch, the anchors' joins and
// leaves as a stream (docs/protocol.md, "Workers"; invariant W5 in
// worker_host.hpp).
//
// A watch is a (client, request id) in `watches_`, under mu_. It is live
// while it is there: every event is posted by emit(), which looks it up
// first, so once cancel_watch, forget_client or a full backlog has erased
// it nothing more reaches its client, whichever goroutine was about to
// post.
//
// One host: the events come from this host's tables. A worker joins in
// started() (after spawn has started its process) and leaves in left()
// (its reaper, once it has ended); both run under mu_ and post JOIN or
// LEAVE to every watch that selects the entry, and a new watch takes its
// snapshot from `joined_` under mu_, so each watch sees each entry join at
// most once and leave only after it joined. A worker that ended before
// started() ran never joins.
//
// Many hosts: the cluster view (etcd) streams every host's events from a
// goroutine of its own; its sink takes mu_ to emit, and returns false once
// the watch has ended, which ends the view's watch; cancel and
// forget_client also request its stop_token, so a view parked in etcd
// leaves at once.
//
// Bounded: a watch holds one pending slot of its session (max_pending),
// watches are at most max_watches, and a client that does not read its
// events loses the watch (Error TOO_LARGE) once more than
// max_watch_backlog bytes wait to be written to it, well before its
// link's own limit would drop the whole connection.
// Rejected: a queue per watch with a goroutine that writes it, which only
// moves the unread events from the link's outbox into another buffer.
#include <algorithm>
#include <utility>

#include "server/worker_host.hpp"

namespace weft::server {

bool worker_host::emit(const std::shared_ptr<anchor_watch>& w, const v1::AnchorEvent& ev) {
  auto it = watches_.find(watch_key{w->c, w->id});
  if (it == watches_.end() || it->second != w) return false;
  const std::size_t behind = w->c->backlog();
  if (behind > limits_.max_watch_backlog) {
    w->c->post(error_frame(w->id, v1::Error::TOO_LARGE,
                           "anchor watch ended: " + std::to_string(behind >> 10) +
                               " KiB of its events wait to be read by this client (the limit: " +
                               std::to_string(limits_.max_watch_backlog >> 10) +
                               " KiB); read faster, or watch fewer anchors"));
    watches_.erase(it);
    log_("an anchor watch ended: its client did not read its events");
    return false;
  }
  wire::frame f;
  f.set_id(w->id);
  *f.mutable_anchor_event() = ev;
  w->c->post(f);
  return true;
}

void worker_host::announce(const std::vector<v1::AnchorEntry>& entries, v1::AnchorEvent::Kind kind) {
  if (watches_.empty()) return;
  // emit may end a watch (erase it): iterate over a copy.
  std::vector<std::shared_ptr<anchor_watch>> all;
  all.reserve(watches_.size());
  for (auto& [key, w] : watches_) all.push_back(w);
  for (const auto& w : all)
    for (const v1::AnchorEntry& e : entries)
      if (selects(w->selector, e.path()) && !emit(w, event_of(kind, &e))) break;
}

void worker_host::started(const record& r, const std::vector<v1::AnchorEntry>& entries) {
  {
    detail::lock_scope lk(mu_);
    // Its reaper may have run first (a worker that died at once): then it
    // never joins, and watches never hear of it.
    if (!r.ended && joined_.insert(r.id).second && cluster_ == nullptr) announce(entries, v1::AnchorEvent::JOIN);
  }
  if (cluster_ != nullptr) cluster_->worker_started(r.id, entries);
}

void worker_host::left(const record& r) {
  if (joined_.erase(r.id) == 0 || cluster_ != nullptr) return;
  announce(entries_of(r), v1::AnchorEvent::LEAVE);
}

void worker_host::watch(client& c, std::uint64_t id, const v1::AnchorWatch& m) {
  auto w = std::make_shared<anchor_watch>();
  w->c = &c;
  w->id = id;
  w->selector = m.selector();
  detail::lock_scope lk(mu_);
  if (stopping_) {
    c.post(error_frame(id, v1::Error::REFUSED, "this weftd is stopping"));
    return;
  }
  if (watches_.size() >= limits_.max_watches) {
    c.post(error_frame(id, v1::Error::REFUSED,
                       "this weftd serves " + std::to_string(watches_.size()) + " anchor watches, its limit"));
    return;
  }
  // session::begin refused a duplicate id: the key is free.
  watches_.emplace(watch_key{&c, id}, w);
  if (cluster_ == nullptr) {
    // The snapshot: what `joined_` holds now, sorted by path as AnchorList's.
    std::vector<v1::AnchorEntry> now;
    for (const std::string& wid : joined_) {
      const record* r = find(wid);
      if (r == nullptr) continue;
      for (v1::AnchorEntry& e : entries_of(*r))
        if (selects(w->selector, e.path())) now.push_back(std::move(e));
    }
    std::sort(now.begin(), now.end(), [](const auto& a, const auto& b) { return a.path() < b.path(); });
    for (const v1::AnchorEntry& e : now)
      if (!emit(w, event_of(v1::AnchorEvent::JOIN, &e))) return;
    emit(w, event_of(v1::AnchorEvent::SYNCED));
    return;
  }
  lk.unlock();
  // Every host's: the view reads etcd in a goroutine of its own (never on
  // this session's reader).
  cluster_->watch_anchors(w->selector, w->stop.get_token(), [this, w](const v1::AnchorEvent& ev) {
    detail::lock_scope sink_lk(mu_);
    return emit(w, ev);
  });
}

bool worker_host::cancel_watch(client& c, std::uint64_t id) {
  std::shared_ptr<anchor_watch> w;
  {
    detail::lock_scope lk(mu_);
    auto it = watches_.find(watch_key{&c, id});
    if (it == watches_.end()) return false;
    w = std::move(it->second);
    watches_.erase(it);
    c.post(error_frame(id, v1::Error::CANCELLED, "anchor watch cancelled"));
  }
  w->stop.request_stop();  // outside mu_: it wakes the view's goroutine
  return true;
}

void worker_host::forget_watches(client& c) {
  std::vector<std::shared_ptr<anchor_watch>> gone;
  {
    detail::lock_scope lk(mu_);
    for (auto it = watches_.lower_bound(watch_key{&c, 0}); it != watches_.end() && it->first.first == &c;) {
      gone.push_back(std::move(it->second));
      it = watches_.erase(it);
    }
  }
  for (const auto& w : gone) w->stop.request_stop();
}

}  // namespace weft::server
