// src/remote/migration.hpp: the stub's side of goroutine migration
// (weft/migrate.hpp; the server's side and the protocol's invariants are in
// server/migrate_host.hpp).
//
// Each migratable goroutine has a migration_ctx, reachable from the
// goroutine itself (goroutine-local) and from the stub's reader (by id).
// A move, as the goroutine sees it:
//   1. MigrateOut: the reader sets `requested` and stops `interrupt`, which
//      withdraws a remote channel operation the goroutine waits in.
//   2. At its next safe point the goroutine encodes its state, sends
//      MigrateState and parks until the verdict.
//   3. MigrateVerdict: moved -> it unwinds (goroutine_moved) and ends
//      without another step; stay -> it returns from the safe point.
// Invariants:
//   G1 The goroutine runs no step between sending its state and its
//      verdict (it is parked), so the state the server holds is the whole
//      goroutine; a stay verdict resumes it exactly there.
//   G2 A verdict that comes before the goroutine reached its safe point
//      (the server gave up waiting) clears the request under the same lock
//      the safe point tests it under: the goroutine either sees no request
//      or parks and is woken by that verdict, never both or neither.
//   G3 A withdrawn remote channel operation took or gave no value (the
//      select commit protocol, offer_case.hpp): it is retried after the
//      safe point, or not at all when the goroutine moved. A withdrawn
//      remote variable wait (Cancel, remote_var.cpp) changed nothing.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <stop_token>
#include <string>
#include <utility>
#include <vector>

#include <weft/go.hpp>
#include <weft/migrate.hpp>
#include <weft/semaphore.hpp>

#include "platform/spinlock.hpp"
#include "platform/thread_annotations.hpp"
#include "runtime/gstats.hpp"
#include "wire/peer_tally.hpp"
#include "weft/runtime/v1/runtime.pb.h"

namespace weft::remote::detail {

namespace v1 = weft::runtime::v1;
class stub;

// A state travels in pieces of at most this many bytes (one frame each,
// below the 16 MiB frame limit).
constexpr std::size_t state_piece = std::size_t{8} << 20;

// Thrown through a migratable goroutine's function when it moved away; not
// a std::exception, so that catch (const std::exception&) lets it pass.
struct goroutine_moved {};

class migration_ctx {
 public:
  // REQUIRES: called by the goroutine it describes (runtime_id).
  migration_ctx(std::string id, std::uint64_t epoch, weft::detail::migratable_ops ops)
      : id_(std::move(id)), epoch_(epoch), ops_(ops), runtime_id_(weft::this_goroutine::get_id()) {}

  // A safe point (G1, G2): returns at once unless a move was asked.
  void safe_point();
  // What a blocking remote operation waits with: stopped when a move is
  // asked (G3).
  std::stop_token interrupt_token();

  // From the stub's reader; neither parks.
  void ask(std::uint64_t ticket);
  void verdict(bool moved);

  const std::string& id() const noexcept { return id_; }
  std::uint64_t epoch() const noexcept { return epoch_; }
  // Its goroutine id in this process (the runtime's, not the server's).
  std::uint64_t runtime_id() const noexcept { return runtime_id_; }
  // Its own xref calls' bytes per peer since it started or came here
  // (wire/peer_tally.hpp): peer links hold it while a call is out.
  const std::shared_ptr<wire::peer_tally>& tally() const noexcept { return tally_; }

 private:
  const std::string id_;
  const std::uint64_t epoch_;
  const weft::detail::migratable_ops ops_;
  const std::uint64_t runtime_id_;
  const std::shared_ptr<wire::peer_tally> tally_ = std::make_shared<wire::peer_tally>();
  std::atomic<bool> requested_{false};  // the safe points' fast test
  weft::detail::spinlock lock_;
  std::uint64_t ticket_ GUARDED_BY(lock_) = 0;
  bool parked_ GUARDED_BY(lock_) = false;
  bool moved_ GUARDED_BY(lock_) = false;
  std::stop_source interrupt_ GUARDED_BY(lock_);
  weft::binary_semaphore verdict_{0};
};

// The calling goroutine's context, or null (not migratable, or not attached).
migration_ctx* current_migration() noexcept;

// The migratable goroutines running here: (server id, runtime goroutine id).
std::vector<std::pair<std::string, std::uint64_t>> migratable_running();
// The tally of the one with server id `id` here, or null.
std::shared_ptr<wire::peer_tally> migratable_tally(const std::string& id);
// GOROUTINE_STATS's ControlReply.migratable: each of them, with its
// counters in snap (migratable_stats.cpp).
void add_migratable_stats(v1::ControlReply& r, const weft::detail::gstats_snapshot& snap);

// weft::run's main in a process weftd started to receive a moved goroutine
// (WEFT_MIGRATE_HOST=1, `weft migrate --to new`): accepts migrations and
// returns once the goroutines that came have ended (0), or none came in
// 30 s.
int serve_migrations();

// Pushes from the server, handed over by the stub's reader (never parks).
void on_migrate_out(stub& s, const v1::MigrateOut& m);
void on_migrate_verdict(const v1::MigrateVerdict& m);
void on_migrate_in(stub& s, const v1::MigrateIn& m);

}  // namespace weft::remote::detail
