// src/server/spawn_forwarder.hpp: a spawn whose placement chose another
// host, as the caller's weftd carries it there (docs/cluster.md,
// "Spawning on another host"; the target's side is worker_host's DAEMON
// spawn and session's BinaryPut).
//
// forward() answers at once and works in a goroutine of its own:
//   1. The link to the chosen host's weftd (one per host, dialled on first
//      need; a fresh one once the last has ended: daemon_link.hpp, D2).
//   2. The caller's binary's SHA-256 and size (computed once per version
//      of the file: path, size, mtime and inode).
//   3. Spawn, with the hash, size, argv[0] and this host's name, pinned to
//      the chosen host. Its replies go to the caller under the caller's
//      request id: Spawned (not final; the worker's host is remembered,
//      so kill, wait and logs of it reach it through this weftd), then
//      SpawnResult or an Error (final).
//   4. NeedBinary: the file goes in 1 MiB BinaryPuts, each waiting for its
//      Ok (memory stays one piece; a slow disk there slows this sender),
//      then the Spawn once more. A second NeedBinary is an Error.
// Invariants:
//   F1 The caller gets exactly one final reply, unless it left first
//      (forget_client): then nothing more is posted to it.
//   F2 A spawn is sent to a host at most once per binary transfer, and
//      never again once the link it went on has ended: the link's end
//      after the Spawn left is UNKNOWN_OUTCOME (the worker may run there),
//      never a retry.
// Lock order: a daemon_link's lock, then mu_ (replies are relayed from
// link handlers). Nothing here calls into a link while holding mu_.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <set>
#include <string>

#include <weft/mutex.hpp>
#include <weft/wait_group.hpp>

#include "platform/lock_scope.hpp"
#include "platform/thread_annotations.hpp"
#include "server/client.hpp"
#include "server/daemon_link.hpp"

namespace weft::server {

class spawn_forwarder {
 public:
  // key: the cluster key the other weftds require; self: this host's
  // name (Spawn.origin, logs).
  spawn_forwarder(std::string key, std::string self, std::function<void(std::string_view)> log,
                  daemon_link::options link_options = {});
  spawn_forwarder(const spawn_forwarder&) = delete;
  spawn_forwarder& operator=(const spawn_forwarder&) = delete;
  ~spawn_forwarder();

  // Carries the spawn request `id` of client c to host `to` (steps 1-4).
  // reason: why placement chose it (logged; the target shows it).
  void forward(client& c, std::uint64_t id, const v1::Spawn& m, const v1::ProcessInfo& caller, const v1::HostInfo& to,
               std::string reason);
  // A request about a worker this weftd forwarded (WorkerKill, WorkerWait,
  // WorkerLog): sent to its host, the reply relayed under c's id. False
  // when worker_id is not one of them.
  bool relay(client& c, std::uint64_t id, const wire::frame& req, const std::string& worker_id);
  // The same for a worker another weftd started, found on host (at
  // address) through the anchors in etcd.
  void relay_to(client& c, std::uint64_t id, const wire::frame& req, const std::string& worker_id,
                const std::string& host, const std::string& address);
  // Spawns sent to host in the last few seconds: placement adds them to
  // the host's published worker count, which is up to 2 s old (a burst
  // of spawns would all go to the same host otherwise).
  std::uint32_t recently_sent(const std::string& host);
  // c's connection ended: nothing more is posted to it (F1).
  void forget_client(client& c);
  // Ends every link (pending requests end as F2 says) and waits for the
  // goroutines forward and relay started.
  void stop();

 private:
  // A reply's way back to the client that asked; `c` is null once that
  // client left.
  struct route {
    client* c;
    std::uint64_t id;
  };
  std::shared_ptr<route> add_route(client& c, std::uint64_t id);
  // A goroutine of forward or relay_to is about to start (stop() waits
  // for it); false, after answering c's request, when this weftd stops.
  bool begin_work(client& c, std::uint64_t id);
  // Posts f under the route's id if its client is still there; final
  // drops the route.
  void post(const std::shared_ptr<route>& r, wire::frame f, bool final);
  void run_forward(std::shared_ptr<route> r, v1::Spawn m, std::string binary, std::string argv0, v1::HostInfo to,
                   std::string reason);
  // The binary's SHA-256 (cached per version of the file).
  std::string hash_of(const std::string& path, std::uint64_t& size);
  // Sends the file at path over l (step 4), unless another spawn did
  // meanwhile; "" or why it failed.
  std::string send_binary(daemon_link& l, const std::string& path, const std::string& sha256, std::uint64_t size);
  std::string upload(daemon_link& l, const std::string& path, const std::string& sha256, std::uint64_t size);
  // The live link to host at address, dialled if there is none. Throws
  // remote_error when it cannot be had.
  std::shared_ptr<daemon_link> link_to(const std::string& host, const std::string& address);
  void remember_worker(const std::string& worker_id, const std::string& host);

  const std::string key_, self_;
  std::function<void(std::string_view)> log_;
  const daemon_link::options link_options_;
  weft::mutex mu_;
  std::map<std::string, std::shared_ptr<daemon_link>> links_ GUARDED_BY(mu_);  // by host name
  std::map<std::string, std::string> address_of_ GUARDED_BY(mu_);  // host -> address its link dialled
  std::multimap<client*, std::shared_ptr<route>> routes_ GUARDED_BY(mu_);
  std::map<std::string, std::string> worker_host_ GUARDED_BY(mu_);  // forwarded worker -> its host
  std::deque<std::string> worker_order_ GUARDED_BY(mu_);  // oldest first, bounded
  struct file_hash {
    std::uint64_t size = 0;
    std::int64_t mtime_ns = 0;
    std::uint64_t inode = 0;
    std::string sha256;
  };
  std::map<std::string, file_hash> hashes_ GUARDED_BY(mu_);
  // One upload at a time to a host: its weftd takes one binary at a time
  // per link. A spawn that waited while another sent the same binary
  // sends none (sent_ is newer than what it had seen).
  std::map<std::string, std::shared_ptr<weft::mutex>> upload_locks_ GUARDED_BY(mu_);  // by host
  std::map<std::string, std::uint64_t> sent_ GUARDED_BY(mu_);  // "HOST/SHA" -> upload_seq_ when it was sent
  std::uint64_t upload_seq_ GUARDED_BY(mu_) = 0;
  std::map<std::string, std::deque<std::chrono::steady_clock::time_point>> recent_ GUARDED_BY(mu_);  // by host
  bool stopping_ GUARDED_BY(mu_) = false;
  weft::wait_group running_;
};

}  // namespace weft::server
