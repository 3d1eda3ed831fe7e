// src/server/cluster_view.hpp: what this weftd's circuit needs from the
// hosts beyond its own: the placement table and the anchor namespace.
//
// One host has none (worker_host answers from its own tables). Many hosts
// share etcd (src/cluster/etcd_member.hpp, docs/cluster.md); the interface
// keeps gRPC out of libweft and worker_host free of `if (etcd)` branches
// beyond "is there a cluster view".
//
// Calls come from sessions' goroutines and the reapers, at any time after
// set_cluster; an implementation is thread-safe and never throws out of
// worker_started / worker_ended (etcd down: it logs, and catches up when
// etcd is back).
#pragma once

#include <functional>
#include <stop_token>
#include <string>
#include <vector>

#include "weft/runtime/v1/runtime.pb.h"

namespace weft::server {

namespace v1 = weft::runtime::v1;

class cluster_view {
 public:
  virtual ~cluster_view() = default;
  // Every live host's latest HostInfo, this one's fresh. Throws
  // remote_error{unreachable} when the table cannot be had.
  virtual std::vector<v1::HostInfo> hosts() = 0;
  // A worker of this host started: publish its entries (one per anchor,
  // each as `entry` with its path), bound to a lease of its own.
  virtual void worker_started(const std::string& worker_id, const std::vector<v1::AnchorEntry>& entries) = 0;
  // It ended: its entries go at once (its lease revoked).
  virtual void worker_ended(const std::string& worker_id) = 0;
  // The entries of every host that the selector matches, sorted by path
  // (worker_host::selects). Throws remote_error{unreachable}.
  virtual std::vector<v1::AnchorEntry> anchors(const std::string& selector) = 0;
  // Where a watch's events go, one at a time, in order, from a goroutine
  // of the view's; false ends the watch (the watcher is gone). It must not
  // park (it posts to a client).
  using anchor_sink = std::function<bool(const v1::AnchorEvent&)>;
  // Watches the entries the selector matches, every host's: JOIN for each
  // entry there now, SYNCED, then JOIN and LEAVE as they come, none missed
  // and none repeated. etcd out of reach: an event with only `warning`,
  // then the watch resumes where it was once etcd answers. Returns at once
  // (the view's goroutine reads etcd); ends when stop is requested or the
  // sink returns false, and the view's stop() waits for it.
  virtual void watch_anchors(const std::string& selector, std::stop_token stop, anchor_sink sink) = 0;
};

// An AnchorEvent of this kind, about e when there is one (SYNCED: none).
inline v1::AnchorEvent event_of(v1::AnchorEvent::Kind kind, const v1::AnchorEntry* e = nullptr) {
  v1::AnchorEvent ev;
  ev.set_kind(kind);
  if (e != nullptr) *ev.mutable_entry() = *e;
  return ev;
}

}  // namespace weft::server
