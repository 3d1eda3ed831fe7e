// src/cluster/anchor_watch.cpp: every host's anchor entries as a stream
// (cluster_view::watch_anchors; etcd_member.hpp), for AnchorWatch.
//
// One goroutine per watch:
//   1. reads P/anchors/BASE (the selector's key prefix) at revision R: a
//      JOIN for each entry the selector matches, then SYNCED;
//   2. watches the prefix from R + 1, so the first change after the read
//      is the first event: no gap, no repeat. A put of a key the watcher
//      was not told of is a JOIN; a put of one it was (the entry
//      rewritten when its weftd rejoined) is not news; an erase of one it
//      was is a LEAVE (with the entry as it was told: etcd's delete
//      carries the key alone);
//   3. when the stream breaks (etcd gone, restarted, cut off): one warning
//      event per outage, then a new watch from the broken one's
//      next_revision, once etcd answers. When etcd has compacted that
//      revision away, it reads the prefix again and tells the difference
//      (LEAVE for what went, JOIN for what came) instead.
// Invariant: `told` is exactly the set of entries the watcher has heard
// join and not leave; every event keeps it so.
// It ends when its stop_token is requested, when the member stops, or when
// the sink returns false; stop() waits for it (loops_). An etcd call in
// flight is not interrupted: the goroutine leaves within one deadline.
#include <exception>
#include <map>
#include <optional>
#include <utility>

#include <weft/errors.hpp>
#include <weft/go.hpp>
#include <weft/select.hpp>
#include <weft/timer.hpp>

#include "cluster/etcd_member.hpp"
#include "server/worker_host.hpp"

namespace weft::cluster {

using server::event_of;

void etcd_member::watch_anchors(const std::string& selector, std::stop_token stop, anchor_sink sink) {
  {
    // Added under mu_ while not stopping: stop()'s loops_.wait() then
    // sees every watch's goroutine.
    detail::lock_scope lk(mu_);
    if (stopping_) return;
    loops_.add(1);
  }
  weft::go(weft::go_options{.name = "weftd etcd anchor watch"},
           [this, selector, stop = std::move(stop), sink = std::move(sink)] {
             anchor_watch_loop(selector, stop, sink);
             loops_.done();
           });
}

void etcd_member::anchor_watch_loop(const std::string& selector, const std::stop_token& stop, const anchor_sink& sink) {
  const std::string prefix = opts_.prefix + "/anchors" + selector_base(selector);
  std::map<std::string, v1::AnchorEntry> told;  // by key
  std::int64_t from = 0;  // 0: read the prefix (again) first
  bool synced = false, warned = false;
  // Parks until d has passed; false when the watch is to end instead.
  auto pause = [&](std::chrono::milliseconds d) {
    bool go_on = true;
    weft::select(weft::on_recv(stop_, [&](std::optional<bool>) { go_on = false; }),
                 weft::on_stop(stop, [&] { go_on = false; }), weft::on_recv(weft::after(d), [] {}));
    return go_on;
  };
  while (!stop.stop_requested()) {
    try {
      if (from == 0) {
        etcd::snapshot s = etcd_.get_prefix(prefix);
        std::map<std::string, v1::AnchorEntry> now;
        for (const etcd::key_value& kv : s.kvs) {
          v1::AnchorEntry e;
          if (e.ParseFromString(kv.value) && server::worker_host::selects(selector, e.path()))
            now.emplace(kv.key, std::move(e));
        }
        for (const auto& [key, e] : told)
          if (!now.count(key) && !sink(event_of(v1::AnchorEvent::LEAVE, &e))) return;
        for (const auto& [key, e] : now)
          if (!told.count(key) && !sink(event_of(v1::AnchorEvent::JOIN, &e))) return;
        told.swap(now);
        if (!synced && !sink(event_of(v1::AnchorEvent::SYNCED))) return;
        synced = true;
        from = s.revision + 1;
      }
      etcd::watcher w = etcd_.watch(prefix, from);
      warned = false;
      for (bool open = true; open;) {
        bool end = false, ok = true;
        weft::select(weft::on_recv(stop_, [&](std::optional<bool>) { end = true; }),
                     weft::on_stop(stop, [&] { end = true; }),
                     weft::on_recv(w.events(), [&](std::optional<etcd::event> ev) {
                       if (!ev) {
                         open = false;
                         return;
                       }
                       auto it = told.find(ev->kv.key);
                       if (ev->type == etcd::event::kind::erase) {
                         if (it == told.end()) return;  // not selected, or never told
                         ok = sink(event_of(v1::AnchorEvent::LEAVE, &it->second));
                         told.erase(it);
                         return;
                       }
                       v1::AnchorEntry e;
                       if (!e.ParseFromString(ev->kv.value) || !server::worker_host::selects(selector, e.path()))
                         return;
                       if (it != told.end()) {
                         it->second = std::move(e);  // rewritten (a rejoin): not news
                         return;
                       }
                       ok = sink(event_of(v1::AnchorEvent::JOIN, &e));
                       told.emplace(ev->kv.key, std::move(e));
                     }));
        if (end || !ok) return;
      }
      from = w.next_revision();
      if (std::exception_ptr err = w.error()) std::rethrow_exception(err);
    } catch (const remote_error& e) {
      if (e.kind() == remote_errc::refused) from = 0;  // compacted: read again, tell the difference
      if (!warned) {
        warned = true;
        v1::AnchorEvent ev;
        ev.set_warning(std::string("etcd: ") + e.what() + "; changes may come late, once it answers again");
        if (!sink(ev)) return;
      }
      if (!pause(std::chrono::seconds(1))) return;
    }
  }
}

}  // namespace weft::cluster
