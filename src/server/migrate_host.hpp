// src/server/migrate_host.hpp: goroutine migration's authority (capability
// "migrate"; docs/migration.md).
//
// A migratable goroutine runs in a process attached to this server, and
// every one of them has a record here: its id, the process that runs it
// (owner), and its epoch, the fencing token, which grows by one at every
// move. A move (one coordinator goroutine per tool request, one goroutine
// at a time):
//
//   1. MigrateOut{epoch, ticket} to the owner. The goroutine stops at its
//      next safe point, sends MigrateState{state} and waits for a verdict.
//      No safe point within safe_point_timeout: MigrateVerdict{stay}.
//   2. MigrateIn{epoch + 1, ticket, state} to the target, a process of
//      the same binary that accepts migrations.
//      `--to new`: a process of the binary started for it first
//      (start_host), once it accepts migrations.
//   3. MigrateInResult: started: epoch + 1, owner = target, then
//      MigrateVerdict{moved} to the old owner (the goroutine ends there
//      without another step). Refused: MigrateVerdict{stay}.
//
// Invariants:
//   M1 At most one process runs a goroutine's steps. The owner stops before
//      the target is asked (1 before 2), and it resumes only on a stay
//      verdict, which is sent only when no target has started it: the
//      target refused, or ended before it answered. A stub that loses its
//      server ends its process within 1 s (remote/stub.hpp), so a target
//      whose connection ended is waited out for target_gone_wait before
//      the owner resumes.
//   M2 None lost by a failed move: while the goroutine is stopped its state
//      is here. An owner that ends after its state arrived does not take it
//      along: the move goes on to the target; a target that fails then
//      leaves the record parked (state kept, no owner) until a process of
//      its binary accepts migrations, where it resumes.
//   M3 Messages carry (goroutine, epoch, ticket); anything that names an
//      old epoch or another ticket is stale and changes nothing (a state
//      that comes after its safe-point timeout, the end of a goroutine
//      that moved on).
//   M4 A goroutine whose process ends while it runs is gone with it (the
//      record goes): it had no state here to resume from.
// auto (migrate_auto.hpp): first, each owner's goroutines are watched for
// observe_window (migrate_observe.cpp: their CPU and blocked time, through
// Control GOROUTINE_STATS; instrumentation this turned on is turned off
// again on every path); an idle goroutine stays, and a request's
// goroutines move busiest first. Then: off a host whose load is over the
// threshold (a goroutine that uses CPU);
// else next to the peer process its owner exchanges the most bytes with
// over peer links (the owner is asked: Control STATS through
// control_host::ask); else next to this weftd when a process on another host exchanges enough
// bytes with it (its channel and variable operations are round trips to
// here); else to the accepting process that has received the fewest. Each
// decision is logged with its reason, which names the measure.
// Threads: one weft::mutex over the tables; frames are posted under it
// (post only queues). Sessions call in from their reader goroutines; the
// coordinators wait on a channel of events, never under the mutex.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <string>

#include <weft/chan.hpp>
#include <weft/mutex.hpp>

#include "platform/lock_scope.hpp"
#include "platform/thread_annotations.hpp"
#include "server/client.hpp"
#include "server/control.hpp"
#include "server/log.hpp"
#include "server/migrate_auto.hpp"

namespace weft::server {

class migrate_host {
 public:
  struct limits {
    std::chrono::nanoseconds safe_point_timeout = std::chrono::seconds(10);
    std::chrono::nanoseconds target_gone_wait = std::chrono::seconds(2);  // M1
    std::uint64_t max_state = std::uint64_t{1} << 30;  // bytes of one goroutine's state
    auto_policy auto_rules;  // weftd --migrate-load-threshold
    std::chrono::nanoseconds peers_wait = std::chrono::seconds(2);  // an owner's answer to STATS (and each sample)
    // Between an auto decision's two samples of its goroutines' times
    // (migrate_observe.cpp); zero: no per-goroutine facts.
    std::chrono::nanoseconds observe_window = std::chrono::milliseconds(300);
  };
  // States cross in pieces of this size (MigrateState.offset).
  static constexpr std::size_t state_piece = std::size_t{8} << 20;
  migrate_host(limits l, log_sink log) : limits_(l), log_(std::move(log)) {}
  migrate_host(const migrate_host&) = delete;
  migrate_host& operator=(const migrate_host&) = delete;

  // Where this weftd listens and its key file ("" : none): what a process
  // it starts for `--to new` attaches with.
  void configure(std::string address, std::string key_file);
  // Many hosts: where auto reads other hosts' loads. Before any request.
  void set_cluster(cluster_view* c) { cluster_ = c; }
  // Where auto asks an owner for its peer-link traffic (Control STATS).
  // Before any request; without it auto weighs no peers.
  void set_control(control_host* c) { control_ = c; }

  // From a stub's session (process_id: its Welcome's).
  // peer: where its connection comes from ("unix", or IP:port), which
  // tells whether it runs on this weftd's host (auto's first rule).
  void begin(client& stub, std::uint64_t process_id, const v1::ProcessInfo& info, const std::string& peer,
             std::uint64_t id, const v1::MigrateBegin& m);
  void accept(client& stub, std::uint64_t process_id, const v1::ProcessInfo& info, const std::string& peer,
              std::uint64_t id);
  void end(std::uint64_t process_id, const v1::MigrateEnd& m);
  void state(std::uint64_t process_id, const v1::MigrateState& m);
  void in_result(std::uint64_t process_id, const v1::MigrateInResult& m);
  // The process's connection is over (M1, M2, M4). Idempotent.
  void detach(std::uint64_t process_id);

  // A tool's Migrate: answered with MigrateReport once every selected
  // goroutine has moved or failed to.
  void request(client& tool, std::uint64_t tool_process_id, std::uint64_t id, const v1::Migrate& m);
  void forget_tool(std::uint64_t tool_process_id);

 private:
  struct event {
    enum class kind { state, state_error, started, refused, gone } what;
    std::uint64_t process_id = 0;
    std::string bytes;  // state: the goroutine's; refused, state_error: why
  };
  struct process {
    client* stub = nullptr;
    v1::ProcessInfo info;
    bool accepts = false;
    std::uint32_t placed = 0;  // goroutines moved here (auto's tie-break)
    std::string peer;  // its connection's other end
    bool near = false;  // on this weftd's host (unix, loopback, or this weftd's own address)
    // Its connection's bytes when its record was made, and when: auto's
    // traffic measure counts from there.
    std::uint64_t bytes0 = 0;
    std::chrono::steady_clock::time_point since{};
  };
  enum class phase { running, stopping, in_transit, parked };
  struct goroutine {
    std::string function, signature;
    v1::ProcessInfo binary;  // the binary it runs in (path, SHA-256): a parked one's targets
    std::uint64_t epoch = 1;
    std::uint64_t owner = 0;  // process_id; 0 while parked
    phase ph = phase::running;
    std::string state;  // in_transit, parked (M2)
    std::uint32_t moves = 0;
    std::uint64_t ticket = 0;  // the move in progress
    // Its target's process_id while a move or a parked resume is under
    // way, else 0: with owner, the processes whose end its coordinator
    // hears of (detach), so that others' ends never fill its events.
    std::uint64_t target = 0;
    weft::chan<event> events = nullptr;  // its coordinator's
  };
  struct tool {
    client* c = nullptr;
  };

  void run_request(std::uint64_t tool_process_id, std::uint64_t id, v1::Migrate m);
  // `--to new`: starts a process of gid's binary in host mode
  // (WEFT_MIGRATE_HOST=1) and waits until it accepts migrations; its
  // process_id, or 0 with mv's error set.
  std::uint64_t start_host(const std::string& gid, v1::MigrateReport::Move& mv);
  // facts: the goroutine's own, for auto (unknown: its process's decide).
  v1::MigrateReport::Move move_one(const std::string& gid, const std::string& to, const goroutine_facts& facts);
  // The process to move g to, or 0 with why set; reason: why this one.
  // 0 with why empty: auto leaves it where it is (reason says why).
  // loads, facts: what auto weighs (gathered before the lock; unused otherwise).
  std::uint64_t pick_target(const goroutine& g, const std::string& to, const load_table& loads,
                            const goroutine_facts& facts, std::string& why, std::string& reason) REQUIRES(mu_);
  // Each running goroutine of gids, watched for observe_window in its
  // process (migrate_observe.cpp); those it could not watch are absent.
  // Never under mu_; takes observe_window plus at most 2 x peers_wait.
  std::map<std::string, goroutine_facts> observe(const std::vector<std::string>& gids);
  // The peer-link traffic of gid's owner (auto's peer rule), asked of it
  // with a bound of peers_wait; none if it does not answer.
  std::vector<auto_peer> ask_peers(const std::string& gid);
  // process_id as auto's rules see it.
  auto_process auto_view(std::uint64_t process_id, const load_table& loads) REQUIRES(mu_);
  bool same_binary(const v1::ProcessInfo& a, const v1::ProcessInfo& b) const;
  // Whether a connection from peer comes from this weftd's host.
  bool near_server(const std::string& peer) const REQUIRES(mu_);
  // The process's record, made or refreshed from its session.
  process& attach(client& stub, std::uint64_t process_id, const v1::ProcessInfo& info, const std::string& peer)
      REQUIRES(mu_);
  void post_to(std::uint64_t process_id, const wire::frame& f) REQUIRES(mu_);
  // MigrateIn of g's state (epoch + 1, its ticket), in pieces.
  void send_in(std::uint64_t process_id, const std::string& gid, const goroutine& g) REQUIRES(mu_);
  void notify(goroutine& g, event e) REQUIRES(mu_);
  // Parked goroutines of process_id's binary go to it (M2).
  void place_parked(std::uint64_t process_id) REQUIRES(mu_);
  void describe(v1::MigrateReport::Move& mv, const std::string& gid, const goroutine& g) REQUIRES(mu_);

  const limits limits_;
  const log_sink log_;
  cluster_view* cluster_ = nullptr;
  control_host* control_ = nullptr;
  weft::mutex mu_;
  std::map<std::uint64_t, process> procs_ GUARDED_BY(mu_);  // by process_id
  std::map<std::string, goroutine> gs_ GUARDED_BY(mu_);  // by goroutine id
  std::map<std::uint64_t, tool> tools_ GUARDED_BY(mu_);  // by the tool's process_id
  std::uint64_t next_ticket_ GUARDED_BY(mu_) = 1;
  std::string address_ GUARDED_BY(mu_), key_file_ GUARDED_BY(mu_);
  // Processes started by start_host, by pid, until they accept.
  std::map<std::int64_t, weft::chan<std::uint64_t>> starting_ GUARDED_BY(mu_);
};

}  // namespace weft::server
