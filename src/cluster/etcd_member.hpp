// src/cluster/etcd_member.hpp: this weftd as one host of a circuit of
// many, through etcd (docs/cluster.md): its host entry, its workers'
// anchor entries, and the placement table of every host.
//
// Keys (prefix P, default "/weft"):
//   P/hosts/NAME          v1::HostInfo, bound to the host lease
//   P/anchors/ANCHOR/ID   v1::AnchorEntry, bound to the worker's own lease
//
// Goroutines:
//   joiner   grants the host lease, claims P/hosts/NAME, keeps the lease
//            alive (etcd::lease_keeper), rewrites the entry every 2 s with
//            fresh load; when the lease is lost (etcd was away longer than
//            its TTL) it joins again and republishes every live worker.
//   watcher  keeps `hosts_` as etcd has it (a watch of P/hosts/, resumed
//            from its revision after a break, re-read when compacted).
//   one per live worker: its lease keeper.
//   one per started worker while its entries are first written (publish);
//            stop() waits for these as for joiner and watcher (loops_).
//   one per anchor watch (anchor_watch.cpp): a snapshot of P/anchors/...,
//            then an etcd watch from the revision after it; resumed from
//            its next revision after a break (a warning event first), read
//            again and diffed against what its watcher was told when
//            compacted.
// Invariants:
//   M1 A worker's entries are bound to its lease alone: revoking it on the
//      worker's end removes them all in one etcd operation; a dead host's
//      lapse within the TTL because only this weftd refreshes them.
//   M2 Nothing here blocks a spawn or a reaper on etcd for longer than one
//      etcd call's deadline; etcd down is logged once per outage, and the
//      joiner catches up when it is back.
//   M3 Another weftd already holding P/hosts/NAME at another address is
//      refused at start (two hosts under one name would share anchors).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <weft/chan.hpp>
#include <weft/mutex.hpp>
#include <weft/wait_group.hpp>

#include "etcd/client.hpp"
#include "platform/lock_scope.hpp"
#include "platform/thread_annotations.hpp"
#include "server/cluster_view.hpp"
#include "server/host_info.hpp"

namespace weft::cluster {

namespace v1 = weft::runtime::v1;

struct member_options {
  std::vector<std::string> etcd;  // endpoints
  std::string prefix = "/weft";
  std::chrono::seconds ttl{5};  // of the host's and each worker's lease
  std::chrono::milliseconds refresh{2000};  // the host entry's load
};

class etcd_member final : public server::cluster_view {
 public:
  // workers_now: how many workers this host runs (for HostInfo).
  etcd_member(member_options o, server::host_identity self, std::function<std::uint32_t()> workers_now,
              std::function<void(std::string_view)> log);
  ~etcd_member() override;  // stop()

  // Joins: the host lease and entry, then the joiner and watcher run.
  // Throws std::runtime_error when another weftd holds this host's name
  // (M3). etcd unreachable is not an error: the joiner keeps trying.
  // REQUIRES: inside weft::run.
  void start();
  // Revokes every lease this weftd holds (its entries vanish at once) and
  // ends the goroutines.
  void stop();

  std::vector<v1::HostInfo> hosts() override;
  void worker_started(const std::string& worker_id, const std::vector<v1::AnchorEntry>& entries) override;
  void worker_ended(const std::string& worker_id) override;
  std::vector<v1::AnchorEntry> anchors(const std::string& selector) override;
  void watch_anchors(const std::string& selector, std::stop_token stop, anchor_sink sink) override;

 private:
  struct worker_entry {
    std::vector<v1::AnchorEntry> entries;
    etcd::lease_id lease = 0;
    std::unique_ptr<etcd::lease_keeper> keeper;
  };
  std::string host_key() const { return opts_.prefix + "/hosts/" + self_.name; }
  std::string anchor_key(const v1::AnchorEntry& e) const { return opts_.prefix + "/anchors" + e.path(); }
  // Grants the host lease and writes the host entry (M3). Throws.
  void join();
  // Grants a lease for w and writes its entries. Throws.
  void publish(const std::string& id, worker_entry& w);
  // The body of worker_started's goroutine: publishes the worker unless
  // it has ended (or the member stopped) already.
  void publish_started(const std::string& worker_id);
  void joiner_loop();
  void watcher_loop();
  void note_down(const std::string& what);
  void anchor_watch_loop(const std::string& selector, const std::stop_token& stop, const anchor_sink& sink);
  // The part of an anchor selector that is a plain key prefix: "/db/..."
  // -> "/db", "/db/shard" -> "/db/shard", "/..." and "" -> "".
  static std::string selector_base(std::string s);

  const member_options opts_;
  const server::host_identity self_;
  std::function<std::uint32_t()> workers_now_;
  std::function<void(std::string_view)> log_;
  etcd::client etcd_;

  weft::mutex mu_;
  std::map<std::string, v1::HostInfo> hosts_ GUARDED_BY(mu_);  // by name
  std::map<std::string, worker_entry> workers_ GUARDED_BY(mu_);  // by id
  std::unique_ptr<etcd::lease_keeper> host_keeper_ GUARDED_BY(mu_);
  etcd::lease_id host_lease_ GUARDED_BY(mu_) = 0;
  bool joined_ GUARDED_BY(mu_) = false;
  bool down_logged_ GUARDED_BY(mu_) = false;
  bool stopping_ GUARDED_BY(mu_) = false;
  weft::chan<bool> stop_;
  weft::wait_group loops_;
};

}  // namespace weft::cluster
