// src/server/fork_server.hpp: weftd's fork servers, one per binary it
// starts workers of, which make a worker by forking a process of the
// binary that is already loaded (circuit/fork_server_entry.cpp; the
// messages: wire/fork_request.hpp).
//
// Why: a worker started from its binary spends nearly all its start in
// the dynamic loader and in faulting the binary in (README, "Benchmarks":
// 6 of a 6.6 ms spawn). Python's forkserver answers the same cost the
// same way.
//
// The life of one:
//   1. The first spawn of a binary (with its argv[0] and environment: the
//      key) starts its worker from the binary as before, and a fork server
//      in the background: the binary with WEFT_FORK_SERVER=3 and a private
//      socketpair as fd 3, which stops before the binary's own code and
//      answers "ready" (or "refused WHY": it is not the one thread).
//   2. Later spawns of that key ask it for a fork: the request carries the
//      worker's environment and directory, its log file and one end of a
//      socketpair, its connection to weftd; the answer is the pid of a
//      process that is weftd's own child (CLONE_PARENT), adopted as if
//      weftd had started it (child::adopt). weftd serves the other end as
//      that worker's connection, already authenticated (K4).
//   3. A fork server that refused is not started again for 10 minutes; one
//      that died, or whose binary changed on disk (a new key of the same
//      path), is replaced at the next spawn; at most max_servers live,
//      the least recently used stopped first.
// Invariants:
//   K1 A spawn starts exactly one process, or none and throws: a fork
//      server that cannot be asked (it died, or its socket would not take
//      the request) leaves the spawn to the binary; one that was asked and
//      did not answer in answer_timeout is killed and the spawn fails,
//      since it may still make a process with that ticket.
//   K2 A worker made by a fork server is indistinguishable to the rest of
//      weftd: same child, same pidfd, same reaping.
//   K3 Every fork server ends when weftd stops or drops it (its socket
//      closes), and is reaped.
//   K4 A connection made by a socketpair here skips the cluster key proof
//      (a round trip, and the worker's connect: ~0.5 ms of a spawn), and
//      only for the Hello that carries the ticket of the worker it was
//      made for (session::trust_worker). It is safe because only weftd
//      and the process it forked for that ticket ever hold an end: the
//      socketpair is made here, never bound to a name, its ends are
//      close-on-exec, and the fork server closes its copy after the fork
//      (circuit/fork_server_entry.cpp, F5). A worker started from its
//      binary dials and proves the key as before, and so do the workers
//      of a fork server whose answer says its worker did not take the
//      connection (a program built before: weftd sends it no more).
//   K5 Spares (circuit/fork_server_entry.cpp, F6; limits.spares): a fork
//      server asked for them keeps a child forked ahead, waiting for the
//      next request; weftd hears of each in the answer before it ("ready
//      spare Q", "pid N conn spare Q"), and reaps every one that is not
//      a worker: one the server
//      replaced (it died unused) as soon as an answer says so, and the
//      last one when the server has ended (it is killed first: it may
//      hold a request whose answer never came, K1). An unused spare is
//      weftd's child but no worker: not counted, listed or signalled.
// Threads: one weft::mutex over the table; each server's own mutex over
// its exchange (one request in flight); no I/O under the table's.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>

#include <weft/mutex.hpp>
#include <weft/net.hpp>
#include <weft/wait_group.hpp>

#include "platform/thread_annotations.hpp"
#include "server/child.hpp"

namespace weft::server {

class fork_servers {
 public:
  struct limits {
    std::size_t max_servers = 4;  // live at once (step 3)
    std::chrono::milliseconds ready_timeout = std::chrono::seconds(10);  // "ready" after its start
    std::chrono::milliseconds answer_timeout = std::chrono::seconds(5);  // a fork's answer (K1)
    std::chrono::seconds retry_after_refusal = std::chrono::minutes(10);
    // A child forked ahead, waiting (K5): WEFT_FORK_SPARE=1 in weftd's
    // environment. Off by default: measured no faster on a loaded 2-core
    // machine (docs/circuit.md, "Fork servers").
    bool spares = false;
  };
  // enabled false: every worker is started from its binary (weftd
  // --no-fork-server, or WEFT_FORK_SERVER=0 in weftd's environment).
  // serve_worker: serves a forked worker's connection (weftd's end, and
  // the worker's ticket "ID.TOKEN", K4); empty: forked workers dial.
  using worker_server = std::function<void(weft::net::conn, std::string)>;
  fork_servers(limits l, bool enabled, std::string log_dir, std::function<void(std::string_view)> log,
               worker_server serve_worker = {});
  fork_servers(const fork_servers&) = delete;
  fork_servers& operator=(const fork_servers&) = delete;
  ~fork_servers();

  // Starts the process spec describes (K1): forked by its binary's fork
  // server when one is ready, else from the binary (and then a fork
  // server is started for the next ones). Throws std::system_error as
  // child's constructor does, or when a fork server failed mid-request.
  std::unique_ptr<child> start(const child_spec& spec);

  // Stops every fork server and waits for them (K3); start() then starts
  // from the binary only.
  void stop();

  // Fork servers ready now, and workers they made (tests, logs).
  std::size_t ready();
  std::uint64_t forked();

 private:
  struct server;
  // The binary's identity, argv and environment without the per-worker
  // WEFT_WORKER: which fork server may make this worker. "" when the
  // binary cannot be looked at (then it is started, and fails, as before).
  static std::string key_of(const child_spec& spec);
  // Starts s's process and waits for its first answer (a goroutine).
  void boot(std::shared_ptr<server> s, child_spec spec);
  // Asks s for a fork; null when s could not be asked (K1: start from the
  // binary then).
  std::unique_ptr<child> fork_from(const std::shared_ptr<server>& s, const child_spec& spec);
  // Takes s out of the table and makes it end (its socket closes).
  void drop(const std::shared_ptr<server>& s, std::string_view why) EXCLUDES(mu_);
  // Reaps a spare that is no worker (K5), killing it first when kill:
  // in a goroutine of tasks_.
  void reap_spare(long pid, bool kill);

  const limits limits_;
  const bool enabled_;
  const std::string log_dir_;
  std::function<void(std::string_view)> log_;
  worker_server serve_worker_;
  std::string cwd_;  // weftd's: a worker's directory when its spec names none
  weft::mutex mu_;
  std::map<std::string, std::shared_ptr<server>> servers_ GUARDED_BY(mu_);
  // key -> when; none older than retry_after_refusal once a new one is added
  std::map<std::string, std::chrono::steady_clock::time_point> refused_ GUARDED_BY(mu_);
  bool stopping_ GUARDED_BY(mu_) = false;
  std::uint64_t forked_ GUARDED_BY(mu_) = 0;
  weft::wait_group tasks_;  // boot and reap goroutines
};

}  // namespace weft::server
