// src/server/migrate_move.cpp: one move's coordinator, steps 1-3 of the
// protocol (protocol and invariants M1-M4 in migrate_host.hpp).
#include <optional>

#include <weft/go.hpp>

#include "server/migrate_host.hpp"
#include "server/migrate_wait.hpp"

namespace weft::server {

using migrate_detail::next_event;

v1::MigrateReport::Move migrate_host::move_one(const std::string& gid, const std::string& to,
                                               const goroutine_facts& facts) {
  using clock = std::chrono::steady_clock;
  v1::MigrateReport::Move mv;
  mv.set_goroutine(gid);
  weft::chan<event> events(8);
  std::uint64_t owner = 0, target = 0, ticket = 0, epoch = 0;
  const std::uint64_t fresh = to == "new" ? start_host(gid, mv) : 0;
  if (to == "new" && fresh == 0) return mv;
  load_table loads = to.empty() || to == "auto" ? gather_loads(cluster_) : load_table{};
  if (to.empty() || to == "auto") loads.peers = ask_peers(gid);
  {
    detail::lock_scope lk(mu_);
    auto it = gs_.find(gid);
    if (it == gs_.end()) {
      mv.set_error("no such migratable goroutine in this weftd (it ended, or its process did)");
      return mv;
    }
    goroutine& g = it->second;
    describe(mv, gid, g);
    if (g.ph != phase::running) {
      mv.set_error(g.ph == phase::parked ? "it is parked at the server, waiting for a process that accepts it"
                                         : "it is being moved already");
      return mv;
    }
    std::string why, reason;
    if (fresh != 0) {
      target = procs_.count(fresh) ? fresh : 0;
      why = "the process started for it ended at once";
      reason = "a new process of its binary, started for it";
    } else {
      target = pick_target(g, to, loads, facts, why, reason);
    }
    if (target == 0 && why.empty()) {  // auto: it is better where it is
      mv.set_reason(reason);
      return mv;
    }
    if (target == 0) {
      mv.set_error(why);
      return mv;
    }
    mv.set_reason(reason);
    owner = g.owner;
    ticket = g.ticket = next_ticket_++;
    epoch = g.epoch;
    g.events = events;
    g.target = target;
    g.ph = phase::stopping;
    wire::frame f;
    v1::MigrateOut* out = f.mutable_migrate_out();
    out->set_goroutine(gid);
    out->set_epoch(epoch);
    out->set_ticket(ticket);
    post_to(owner, f);
  }
  auto stay = [&](const std::string& error) REQUIRES(mu_) {
    wire::frame f;
    v1::MigrateVerdict* v = f.mutable_migrate_verdict();
    v->set_goroutine(gid);
    v->set_epoch(epoch);
    v->set_moved(false);
    post_to(owner, f);
    mv.set_error(error);
  };
  auto finish = [&](goroutine& g) REQUIRES(mu_) {
    g.events = nullptr;
    g.target = 0;
    mv.set_epoch(g.epoch);
    mv.set_moves(g.moves);
  };
  // 1. The owner stops at a safe point.
  for (;;) {
    std::optional<event> e = next_event(events, limits_.safe_point_timeout);
    detail::lock_scope lk(mu_);
    auto it = gs_.find(gid);
    if (it == gs_.end()) {  // MigrateEnd: it returned before its safe point
      mv.set_error("it ended before reaching a safe point");
      return mv;
    }
    goroutine& g = it->second;
    if (!e) {
      g.ph = phase::running;
      stay("it reached no safe point within " +
           std::to_string(std::chrono::duration_cast<std::chrono::seconds>(limits_.safe_point_timeout).count()) +
           " s (weft::this_goroutine::checkpoint, or a blocking remote channel or variable wait); it runs on where it "
           "was");
      finish(g);
      return mv;
    }
    if (e->what == event::kind::gone && e->process_id == owner) {
      finish(g);
      mv.set_error("its process ended before it reached a safe point");
      gs_.erase(gid);
      return mv;
    }
    if (e->what == event::kind::state_error) {
      finish(g);
      mv.set_error(e->bytes);
      return mv;
    }
    if (e->what != event::kind::state) continue;  // another process's end
    break;
  }
  // 2. The state goes to the target.
  const clock::time_point stopped = clock::now();
  {
    detail::lock_scope lk(mu_);
    goroutine& g = gs_.at(gid);
    mv.set_state_bytes(g.state.size());
    if (procs_.count(target) == 0) {  // it left meanwhile: another, or stay
      std::string why, reason;
      target = g.owner != 0 ? pick_target(g, to, loads, facts, why, reason) : 0;
      if (target == 0) {
        if (g.owner != 0) {
          g.ph = phase::running;
          g.state.clear();
          stay("the target ended before the goroutine reached its safe point, and " + (why.empty() ? reason : why));
        } else {
          g.ph = phase::parked;
          mv.set_error("both its process and the target ended; its state is kept here until a process accepts it");
        }
        finish(g);
        return mv;
      }
      mv.set_reason(reason);
      g.target = target;
    }
    send_in(target, gid, g);
  }
  // 3. The target answers, or ends.
  for (;;) {
    std::optional<event> e = next_event(events, std::chrono::nanoseconds(-1));
    if (!e) continue;
    if (e->what == event::kind::gone && e->process_id == target) {
      // M1: its stub may run the goroutine until it notices it lost us.
      weft::this_goroutine::sleep_for(limits_.target_gone_wait);
      e->what = event::kind::refused;
      e->bytes = "the target ended before it answered";
    }
    detail::lock_scope lk(mu_);
    goroutine& g = gs_.at(gid);  // in transit: nothing else erases it
    if (e->what == event::kind::started && e->process_id == target) {
      const std::uint64_t old_owner = g.owner;
      g.owner = target;
      g.epoch = epoch + 1;
      ++g.moves;
      g.ph = phase::running;
      g.state.clear();
      process& t = procs_[target];
      ++t.placed;
      mv.set_to_pid(t.info.pid());
      mv.set_to_host(t.info.host());
      mv.set_pause_us(std::chrono::duration_cast<std::chrono::microseconds>(clock::now() - stopped).count());
      if (old_owner != 0) {
        wire::frame f;
        v1::MigrateVerdict* v = f.mutable_migrate_verdict();
        v->set_goroutine(gid);
        v->set_epoch(epoch);
        v->set_moved(true);
        post_to(old_owner, f);
      }
      finish(g);
      return mv;
    }
    if (e->what != event::kind::refused) continue;  // the old owner's end (M2: the move goes on)
    if (g.owner != 0) {
      g.ph = phase::running;
      g.state.clear();
      stay(procs_.count(target) ? "the target refused it: " + e->bytes : e->bytes);
    } else {
      g.ph = phase::parked;  // M2
      mv.set_error(e->bytes + "; its process ended too: its state is kept here until a process accepts it");
    }
    finish(g);
    return mv;
  }
}

}  // namespace weft::server
