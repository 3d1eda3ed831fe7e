// src/server/worker_host.hpp: the circuit's workers on this host
// (capability "circuit"; docs/protocol.md, "Workers") and the anchor
// namespace of the live ones.
//
// A spawn, as this host runs it:
//   1. A stub sends Spawn. The host checks it (anchors, a caller that is
//      a process, and placement: the host it names, the labels, memory
//      and CPUs it asks for, placement.hpp), makes the worker's id and a secret
//      ticket, and starts the caller's binary (child.hpp) with the
//      caller's argv[0], environment and working directory, plus
//      WEFT_RUNTIME (this server) and WEFT_WORKER=ID.TICKET. Its output
//      goes to log_dir/ID.log.
//   2. The worker attaches with the ticket in its Hello (claim: once per
//      ticket), listens for peers, and sends WorkerStart: the caller gets
//      Spawned then (so a dial to the worker's address finds it
//      listening), and the worker its WorkerJob. Spawned carries the pid,
//      so it waits for the start to return it: a forked child can send
//      WorkerStart before the fork server's answer reaches this host.
//   3. Its WorkerDone is relayed to the caller as SpawnResult (or Error
//      REFUSED when the worker refused the job).
//   4. A reaper goroutine per worker waits for the process's end (a
//      pidfd on the netpoller), then for the end of the worker's own
//      connection (a worker may exit right behind its WorkerDone, whose
//      bytes this host may not have read yet: capability "exit_after_done",
//      W6), 2 s at most: the worker leaves the anchors (here, and
//      in the cluster's namespace when there is one), a caller
//      still waiting gets Error LOST naming how it ended, waiters get
//      WorkerExit, and its peer socket file is removed (a SIGKILLed
//      worker cannot remove it).
// Invariants:
//   W1 Every Spawn ends in exactly one final reply to its caller
//      (SpawnResult, or Error REFUSED/LOST), unless the caller left first
//      (forget_client): then nothing is posted to it.
//   W2 A worker is listed under its anchors from its process's start
//      until the host has seen it end, never after: an entry never
//      outlives its process by more than the reaper's wake-up and the
//      read of the worker's last frames (W6).
//   W3 A ticket is claimed by one connection at most, and only one this
//      host issued: another process cannot take a worker's job (and its
//      arguments) by guessing.
//   W4 Bounded: at most max_workers live; the records of ended workers
//      are kept (for wait and logs) up to max_ended, oldest dropped.
//   W5 Anchor watches (AnchorWatch, worker_host_watch.cpp): one host, a
//      watch hears of a worker in `joined_` (announced by started(),
//      withdrawn by left(), both under mu_): its snapshot is `joined_` as
//      it is under mu_, and every later JOIN or LEAVE comes under mu_
//      too, so none is missed or repeated. Many hosts, the cluster view
//      streams them (cluster_view::watch_anchors). A watch whose client
//      has more than max_watch_backlog bytes unsent ends with Error
//      TOO_LARGE; at most max_watches at once.
//   W6 A worker's WorkerDone counts if its connection carried it, even
//      when the process had ended before this host read it: the reaper of
//      a claimed ticket decides how the worker ended only once that
//      connection's session has ended (session_ended), or 2 s after the
//      process (a descendant of the worker may hold the socket open).
// Threads: one weft::mutex over the tables; replies are posted under it
// (post only queues, client.hpp). Starting a process (a fork server's
// fork, or posix_spawn: a vfork, ~1 ms for a large binary) happens
// outside it.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <stop_token>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include <weft/chan.hpp>
#include <weft/mutex.hpp>
#include <weft/wait_group.hpp>

#include "platform/lock_scope.hpp"
#include "platform/thread_annotations.hpp"
#include "server/child.hpp"
#include "server/client.hpp"
#include "server/cluster_view.hpp"
#include "server/fork_server.hpp"
#include "server/host_info.hpp"
#include "server/binary_cache.hpp"
#include "server/spawn_forwarder.hpp"

namespace weft::server {

class worker_host {
 public:
  struct limits {
    std::size_t max_workers = 4096;  // live at once (W4)
    std::size_t max_ended = 1024;  // ended ones remembered (W4)
    std::chrono::milliseconds grace = std::chrono::seconds(5);  // a graceful kill's SIGTERM -> SIGKILL
    std::size_t max_watches = 1024;  // anchor watches at once (W5)
    std::size_t max_watch_backlog = 8u << 20;  // a watcher's unsent bytes before its watch ends (W5)
    bool fork_server = true;  // workers forked from a fork server of their binary (fork_server.hpp)
  };
  worker_host(limits l, std::function<void(std::string_view)> log) : limits_(l), log_(std::move(log)) {}
  worker_host(const worker_host&) = delete;
  worker_host& operator=(const worker_host&) = delete;
  ~worker_host();

  struct config {
    std::string server_address;  // where this server listens: the workers' WEFT_RUNTIME
    host_identity host;  // name, labels: what placement weighs a spawn against (placement.hpp)
    std::string log_dir;  // the workers' logs
    // Many hosts (docs/cluster.md, "Spawning on another host"): the
    // cluster key this weftd dials the others' with, the file workers it
    // starts for them prove it with (WEFT_KEY_FILE; "": the default key),
    // and where binaries from other hosts are kept, up to cache_bytes.
    std::string cluster_key;
    std::string key_file;
    std::string cache_dir;
    std::uint64_t cache_bytes = std::uint64_t{1} << 30;
    // Serves a forked worker's connection, made before the fork
    // (fork_server.hpp, K4); empty: forked workers dial.
    fork_servers::worker_server serve_forked;
  };
  // Before any spawn.
  void configure(config c);

  // Many hosts: the placement table and anchor namespace they share
  // (cluster_view.hpp), which must outlive this. Before any spawn.
  void set_cluster(cluster_view* c) { cluster_ = c; }
  // This host as configure() gave it.
  const host_identity& host() const noexcept { return identity_; }

  // Requests, from a client's session. caller: the Hello's process (null
  // for a tool, which may not spawn). from_daemon: another host's weftd
  // forwards the spawn of a caller there (its binary comes from the cache).
  void spawn(client& c, std::uint64_t id, const v1::Spawn& m, const v1::ProcessInfo* caller, bool from_daemon = false);
  // The binaries of other hosts' callers (binary_cache.hpp), made at the
  // first use. Throws std::system_error when its directory cannot be made.
  binary_cache& binaries();
  // Whether ticket ("ID.TOKEN") was issued and not claimed yet; claim
  // marks it taken by the connection process_id (W3).
  bool ticket_valid(const std::string& ticket);
  bool claim(const std::string& ticket, std::uint64_t process_id);
  void start(client& c, std::uint64_t id, std::uint64_t process_id, const v1::WorkerStart& m);
  void done(client& c, std::uint64_t id, std::uint64_t process_id, const v1::WorkerDone& m);
  void kill(client& c, std::uint64_t id, const v1::WorkerKill& m);
  void wait(client& c, std::uint64_t id, const v1::WorkerWait& m);
  void anchors(client& c, std::uint64_t id, const v1::AnchorList& m);
  void log(client& c, std::uint64_t id, const v1::WorkerLog& m);
  // AnchorWatch: the entries, SYNCED, then their changes (W5), as
  // AnchorEvent replies under id until cancel_watch, forget_client, or
  // the client falls behind.
  void watch(client& c, std::uint64_t id, const v1::AnchorWatch& m);
  // Cancel of request id: if it is a watch of c's, it ends with Error
  // CANCELLED (true); false if it is not (its end crossed the Cancel).
  bool cancel_watch(client& c, std::uint64_t id);
  // The session of connection process_id ended; a worker's reaper that
  // waits for it goes on (W6).
  void session_ended(std::uint64_t process_id);
  // The client's connection ended: nothing more is posted to it (W1), and
  // its watches end.
  void forget_client(client& c);
  // Stops the reapers (the server stops); workers run on and end when
  // they lose this server.
  void stop();

  // Live workers, for tests and logs.
  std::size_t live();
  // Workers made by a fork server rather than started (fork_server.hpp).
  std::uint64_t forked();

  // Whether a selector matches an anchor path: "/db/shard" matches
  // "/db/shard" and its direct entries ("/db/shard/ID"); "/db/..." matches
  // "/db" and everything under it; "", "/" and "/..." match everything.
  static bool selects(const std::string& selector, const std::string& path);
  // An anchor as spawn_options gives it, checked and without a trailing
  // slash; "" (after setting why) if it is not one.
  static std::string clean_anchor(const std::string& a, std::string& why);

 private:
  struct record {
    std::string id, token;
    std::vector<std::string> anchors;
    std::string function, signature, args;
    std::string log_path;
    std::string peer_address;  // "unix:PATH" ("tls:unix:PATH"): where the worker listens for peers
    std::string peer_socket;  // PATH, removed when it ends
    std::int64_t started_unix_ms = 0;
    std::string placement;  // why this host (placement.hpp)
    std::unique_ptr<child> proc;
    long pid = 0;  // 0 until the fork (or posix_spawn) has returned
    // A WorkerStart that came before the pid (step 2): the worker's
    // connection and request, answered (and Spawned posted) once the pid is
    // known. Spawned must come before the job runs, or SpawnResult could
    // overtake it; and a caller given pid 0 that kill()s it signals its own
    // process group.
    client* early_start = nullptr;
    std::uint64_t early_start_id = 0;
    client* caller = nullptr;  // null once answered or gone (W1)
    std::uint64_t caller_id = 0;
    std::uint64_t session = 0;  // the worker's own connection, once claimed
    bool claimed = false;
    weft::chan<bool> session_over{0};  // closed when that connection's session ends (W6)
    bool ended = false;
    int status = 0;
    // How it was asked to end (kill) and how it did (reap): what WorkerExit
    // and the log say (worker_end.cpp).
    std::chrono::steady_clock::time_point term_at{};  // the first SIGTERM; epoch: none
    std::chrono::milliseconds grace{0};  // that kill's grace period
    bool hard_killed = false;  // weft kill --hard
    bool grace_expired = false;  // SIGKILLed at the end of the grace period
    std::string end;  // "exited after its shutdown hooks (1.2 s after SIGTERM)", ...
    std::vector<std::pair<client*, std::uint64_t>> waiters;
  };
  // The sentence weft kill prints for r's end (worker_end.cpp).
  static std::string describe_end(const record& r, int status, bool signalled,
                                  std::chrono::steady_clock::time_point now);
  // A WorkerExit answering request id (worker_end.cpp).
  static wire::frame exit_frame(std::uint64_t id, int status, const std::string& text);
  // Waits for r's process to end, then ends its record (worker_end.cpp).
  void reap(std::shared_ptr<record> r);
  // Tells the caller the worker runs (Spawned), once it has both sent
  // WorkerStart and a pid; and the worker its job.
  void post_spawned(record& r) REQUIRES(mu_);
  static void post_job(client& c, std::uint64_t id, const record& r);
  // Where a spawn runs: placement over this host, or every host of the
  // cluster; another host's spawn goes to forwarder_ (true: handled).
  bool placed_elsewhere(client& c, std::uint64_t id, const v1::Spawn& m, const v1::ProcessInfo& caller,
                        std::string& reason);
  // A request about a worker of another host (WorkerKill, WorkerWait,
  // WorkerLog) goes to that host's weftd: one this weftd forwarded, or one
  // the circuit's anchors place there. False: no such worker known.
  bool relay_elsewhere(client& c, std::uint64_t id, const wire::frame& req, const std::string& worker_id);
  // The worker's environment: the caller's, and what this host says.
  std::vector<std::string> worker_env(const v1::Spawn& m, const record& r, bool from_daemon) const;
  // Its anchor entries (one per anchor), as weft ls shows them.
  std::vector<v1::AnchorEntry> entries_of(const record& r) const REQUIRES(mu_);
  void answer_caller(record& r, const wire::frame& f) REQUIRES(mu_);
  record* find(const std::string& id) REQUIRES(mu_);
  record* by_session(std::uint64_t process_id) REQUIRES(mu_);
  // Erases the record with this id from workers_ and its indexes.
  void forget_record(const std::string& id) REQUIRES(mu_);

  // Anchor watches (worker_host_watch.cpp, W5).
  struct anchor_watch {
    client* c = nullptr;
    std::uint64_t id = 0;
    std::string selector;
    std::stop_source stop;  // many hosts: ends the view's watch
  };
  using watch_key = std::pair<client*, std::uint64_t>;
  // The started hook (spawn): the worker joins the anchors, here (W5) and
  // in the cluster's namespace.
  void started(const record& r, const std::vector<v1::AnchorEntry>& entries) EXCLUDES(mu_);
  // The ended hook (reap): the worker leaves the anchors here (W5).
  void left(const record& r) REQUIRES(mu_);
  // kind of each of entries that w selects, to every local watch.
  void announce(const std::vector<v1::AnchorEntry>& entries, v1::AnchorEvent::Kind kind) REQUIRES(mu_);
  // Posts ev to w's client; false if w has ended, or ends now because
  // its client fell behind (W5).
  bool emit(const std::shared_ptr<anchor_watch>& w, const v1::AnchorEvent& ev) REQUIRES(mu_);
  // c's watches end (forget_client); the view's ones are told to stop.
  void forget_watches(client& c) EXCLUDES(mu_);

  const limits limits_;
  std::function<void(std::string_view)> log_;
  std::string address_, host_, log_dir_;
  host_identity identity_;
  config config_;
  std::string peer_listen_;  // non-empty: WEFT_PEER_LISTEN for every worker (a weftd beyond loopback)
  std::unique_ptr<spawn_forwarder> forwarder_;  // a keyed weftd: spawns to other hosts
  std::unique_ptr<fork_servers> forks_;  // made by configure()
  weft::mutex cache_mu_;
  std::unique_ptr<binary_cache> cache_ GUARDED_BY(cache_mu_);
  cluster_view* cluster_ = nullptr;
  bool tls_ = false;  // address_ is a TLS one: so are the workers' peer addresses
  weft::mutex mu_;
  std::map<std::string, std::shared_ptr<record>> workers_ GUARDED_BY(mu_);  // live and remembered
  // Indexes into workers_, so that a worker's frames (by_session) and a
  // client's end (forget_client) cost the same with 1024 ended workers
  // remembered as with none: the claimed ones by their connection, and the
  // ones not ended (only those can hold a client: reap answers and clears;
  // their number is the host's live workers, W4).
  std::unordered_map<std::uint64_t, record*> sessions_ GUARDED_BY(mu_);
  std::unordered_set<record*> running_ GUARDED_BY(mu_);
  std::deque<std::string> ended_ GUARDED_BY(mu_);  // ended ids, oldest first
  bool stopping_ GUARDED_BY(mu_) = false;
  std::map<watch_key, std::shared_ptr<anchor_watch>> watches_ GUARDED_BY(mu_);
  std::set<std::string> joined_ GUARDED_BY(mu_);  // ids of the workers watches have heard join
  weft::wait_group reapers_;
};

}  // namespace weft::server
