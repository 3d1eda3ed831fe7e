// src/server/migrate_host.cpp: the records of migratable goroutines, what
// the processes' sessions and the tools' requests do to them (protocol and
// invariants in migrate_host.hpp; a move's coordinator in migrate_move.cpp,
// where it goes in migrate_target.cpp).
#include "server/migrate_host.hpp"

#include <algorithm>
#include <optional>
#include <utility>
#include <vector>

#include <weft/go.hpp>

#include "server/migrate_wait.hpp"
#include "wire/worker_id.hpp"
#include "wire/utf8.hpp"

namespace weft::server {

using migrate_detail::next_event;

namespace {

std::string who(const v1::ProcessInfo& info) {
  return "pid " + std::to_string(info.pid()) + (info.host().empty() ? "" : " on " + info.host());
}

}  // namespace

bool migrate_host::same_binary(const v1::ProcessInfo& a, const v1::ProcessInfo& b) const {
  if (!a.binary_sha256().empty() && !b.binary_sha256().empty()) return a.binary_sha256() == b.binary_sha256();
  return a.binary_path() == b.binary_path();
}

void migrate_host::post_to(std::uint64_t process_id, const wire::frame& f) {
  auto it = procs_.find(process_id);
  if (it != procs_.end() && it->second.stub != nullptr) it->second.stub->post(f);
}

void migrate_host::notify(goroutine& g, event e) {
  if (g.events != nullptr) g.events.try_send(std::move(e));  // capacity: one move's events fit
}

namespace {
// The host part of "IP:port", "[IPv6]:port", or "tcp:HOST:PORT".
std::string host_of(std::string a) {
  if (a.rfind("tcp:", 0) == 0 || a.rfind("tls:", 0) == 0) a = a.substr(4);
  if (!a.empty() && a.front() == '[') return a.substr(1, a.find(']') - 1);
  return a.substr(0, a.rfind(':'));
}
}  // namespace

bool migrate_host::near_server(const std::string& peer) const {
  if (peer.empty() || peer == "unix") return true;
  const std::string ip = host_of(peer);
  return ip.rfind("127.", 0) == 0 || ip == "::1" || ip == host_of(address_);
}

migrate_host::process& migrate_host::attach(client& stub, std::uint64_t process_id, const v1::ProcessInfo& info,
                                            const std::string& peer) {
  const bool fresh = procs_.count(process_id) == 0;
  process& p = procs_[process_id];
  if (fresh) {
    p.bytes0 = stub.bytes_exchanged();
    p.since = std::chrono::steady_clock::now();
  }
  p.stub = &stub;
  p.info = info;
  p.peer = peer;
  p.near = near_server(peer);
  return p;
}

void migrate_host::begin(client& stub, std::uint64_t process_id, const v1::ProcessInfo& info, const std::string& peer,
                         std::uint64_t id, const v1::MigrateBegin& m) {
  wire::frame r;
  r.set_id(id);
  detail::lock_scope lk(mu_);
  attach(stub, process_id, info, peer);
  std::string gid;
  do {
    gid = "M" + wire::random_hex(8);
  } while (gs_.count(gid) != 0);
  goroutine& g = gs_[gid];
  g.function = m.function();
  g.signature = m.signature();
  g.binary.set_binary_path(info.binary_path());
  g.binary.set_binary_sha256(info.binary_sha256());
  g.owner = process_id;
  r.mutable_migrate_ticket()->set_goroutine(gid);
  r.mutable_migrate_ticket()->set_epoch(g.epoch);
  stub.post(r);
}

void migrate_host::accept(client& stub, std::uint64_t process_id, const v1::ProcessInfo& info, const std::string& peer,
                          std::uint64_t id) {
  detail::lock_scope lk(mu_);
  process& p = attach(stub, process_id, info, peer);
  p.accepts = true;
  stub.post(ok_frame(id));
  auto waiting = starting_.find(info.pid());
  if (waiting != starting_.end()) {  // started for a move: it is that move's target
    waiting->second.try_send(process_id);
    starting_.erase(waiting);
    return;
  }
  place_parked(process_id);
}

void migrate_host::configure(std::string address, std::string key_file) {
  detail::lock_scope lk(mu_);
  address_ = std::move(address);
  key_file_ = std::move(key_file);
}

void migrate_host::end(std::uint64_t process_id, const v1::MigrateEnd& m) {
  detail::lock_scope lk(mu_);
  auto it = gs_.find(m.goroutine());
  if (it == gs_.end() || it->second.epoch != m.epoch() || it->second.owner != process_id) return;  // M3
  goroutine& g = it->second;
  if (!m.what().empty()) log_("goroutine " + it->first + " (" + g.function + ") threw: " + m.what().substr(0, 200));
  notify(g, event{event::kind::state_error, process_id, "it ended before reaching a safe point"});
  gs_.erase(it);  // its coordinator, if any, finds it gone
}

void migrate_host::state(std::uint64_t process_id, const v1::MigrateState& m) {
  detail::lock_scope lk(mu_);
  auto it = gs_.find(m.goroutine());
  if (it == gs_.end()) return;
  goroutine& g = it->second;
  if (g.epoch != m.epoch() || g.ticket != m.ticket() || g.owner != process_id || g.ph != phase::stopping)
    return;  // M3: the coordinator gave up on this ticket and said stay
  if (!m.error().empty()) {
    g.ph = phase::running;
    notify(g, event{event::kind::state_error, process_id, m.error()});
    return;
  }
  // Pieces, in order (MigrateState.offset); the last one completes it.
  if (m.offset() == 0) {
    g.state.clear();
    if (m.total() > limits_.max_state) {
      g.ph = phase::running;
      wire::frame f;
      v1::MigrateVerdict* v = f.mutable_migrate_verdict();
      v->set_goroutine(m.goroutine());
      v->set_epoch(g.epoch);
      v->set_moved(false);
      post_to(process_id, f);
      notify(g, event{event::kind::state_error, process_id,
                      "its state is " + std::to_string(m.total()) + " bytes, over this weftd's bound of " +
                          std::to_string(limits_.max_state) + "; it runs on where it was"});
      return;
    }
    g.state.reserve(m.total());
  } else if (m.offset() != g.state.size()) {
    return;  // not the piece that comes next: a stale one (M3)
  }
  g.state.append(m.state());
  if (g.state.size() < m.total()) return;
  g.ph = phase::in_transit;
  notify(g, event{event::kind::state, process_id, {}});
}

void migrate_host::in_result(std::uint64_t process_id, const v1::MigrateInResult& m) {
  detail::lock_scope lk(mu_);
  auto it = gs_.find(m.goroutine());
  if (it == gs_.end()) return;
  goroutine& g = it->second;
  if (g.epoch + 1 != m.epoch() || g.ticket != m.ticket() || g.ph != phase::in_transit) return;  // M3
  if (m.error().empty()) {
    notify(g, event{event::kind::started, process_id, {}});
  } else {
    notify(g, event{event::kind::refused, process_id, m.error()});
  }
}

void migrate_host::detach(std::uint64_t process_id) {
  detail::lock_scope lk(mu_);
  auto p = procs_.find(process_id);
  if (p == procs_.end()) return;
  for (auto it = gs_.begin(); it != gs_.end();) {
    goroutine& g = it->second;
    // Only the coordinator whose move involves it hears of it (its owner or
    // its target): an unrelated end in a burst of them (a circuit's workers
    // ending together) would otherwise fill the events of every move under
    // way, and an answer that found them full would be lost.
    if (g.owner == process_id || g.target == process_id) notify(g, event{event::kind::gone, process_id, {}});
    if (g.owner == process_id && g.ph == phase::running) {  // M4
      log_("goroutine " + it->first + " (" + g.function + ") ended with its process, " + who(p->second.info));
      it = gs_.erase(it);
      continue;
    }
    if (g.owner == process_id) g.owner = 0;  // stopping: its coordinator ends it; in transit: M2
    ++it;
  }
  procs_.erase(p);
}

void migrate_host::send_in(std::uint64_t process_id, const std::string& gid, const goroutine& g) {
  wire::frame f;
  v1::MigrateIn* in = f.mutable_migrate_in();
  in->set_goroutine(gid);
  in->set_epoch(g.epoch + 1);
  in->set_ticket(g.ticket);
  in->set_function(g.function);
  in->set_signature(g.signature);
  in->set_total(g.state.size());
  std::size_t at = 0;
  do {
    const std::size_t n = std::min(state_piece, g.state.size() - at);
    in->set_offset(at);
    in->set_state(g.state.substr(at, n));
    post_to(process_id, f);
    at += n;
  } while (at < g.state.size());
}

void migrate_host::place_parked(std::uint64_t process_id) {
  const v1::ProcessInfo& info = procs_.at(process_id).info;
  for (auto& [gid, g] : gs_) {
    if (g.ph != phase::parked || !same_binary(g.binary, info)) continue;
    g.ticket = next_ticket_++;
    g.ph = phase::in_transit;
    g.target = process_id;
    // No coordinator waits on it: its answer is taken here.
    g.events = weft::chan<event>(4);
    weft::chan<event> events = g.events;
    const std::string id = gid;
    auto resume = [this, events, id, target = process_id]() mutable {
      std::optional<event> e;
      do {
        e = next_event(events, std::chrono::nanoseconds(-1));
      } while (e && e->process_id != target);  // another process's end
      if (e && e->what == event::kind::gone) weft::this_goroutine::sleep_for(limits_.target_gone_wait);  // M1
      detail::lock_scope lk(mu_);
      auto it = gs_.find(id);
      if (it == gs_.end()) return;
      goroutine& pg = it->second;
      pg.events = nullptr;
      pg.target = 0;
      if (e && e->what == event::kind::started) {
        pg.owner = target;
        ++pg.epoch;
        ++pg.moves;
        pg.ph = phase::running;
        pg.state.clear();
        log_("goroutine " + id + " (" + pg.function + "), parked, resumed in " + who(procs_[target].info));
      } else {
        pg.ph = phase::parked;
      }
    };
    try {
      weft::go(weft::go_options{.name = "weftd: migrate parked"}, std::move(resume));
    } catch (const std::exception& e) {
      log_("goroutine " + gid + " stays parked: " + e.what());
      g.ph = phase::parked;
      g.events = nullptr;
      g.target = 0;
      continue;
    }
    send_in(process_id, gid, g);  // after its waiter exists: an answer is never missed
  }
}

void migrate_host::request(client& tool_client, std::uint64_t tool_process_id, std::uint64_t id, const v1::Migrate& m) {
  {
    detail::lock_scope lk(mu_);
    tools_[tool_process_id].c = &tool_client;
  }
  try {
    weft::go(weft::go_options{.name = "weftd: migrate"},
             [this, tool_process_id, id, m]() mutable { run_request(tool_process_id, id, std::move(m)); });
  } catch (const std::exception& e) {  // no runtime (a host driven by a test), or no memory
    tool_client.post(error_frame(id, v1::Error::INTERNAL, std::string("weftd could not start the move: ") + e.what()));
  }
}

void migrate_host::forget_tool(std::uint64_t tool_process_id) {
  detail::lock_scope lk(mu_);
  tools_.erase(tool_process_id);
}

void migrate_host::describe(v1::MigrateReport::Move& mv, const std::string& gid, const goroutine& g) {
  mv.set_goroutine(gid);
  mv.set_function(g.function);
  mv.set_epoch(g.epoch);
  mv.set_moves(g.moves);
  switch (g.ph) {
    case phase::running: mv.set_phase("running"); break;
    case phase::stopping: mv.set_phase("stopping"); break;
    case phase::in_transit: mv.set_phase("in transit"); break;
    case phase::parked: mv.set_phase("parked"); break;
  }
  auto p = procs_.find(g.owner);
  if (p != procs_.end()) {
    mv.set_from_pid(p->second.info.pid());
    mv.set_from_host(p->second.info.host());
  }
}

void migrate_host::run_request(std::uint64_t tool_process_id, std::uint64_t id, v1::Migrate m) {
  std::vector<std::string> selected(m.goroutine().begin(), m.goroutine().end());
  wire::frame r;
  r.set_id(id);
  v1::MigrateReport* report = r.mutable_migrate_report();
  // Named before the loop: the loop adds to selected, and a test of
  // selected.empty() inside it kept all but the first of a pid's.
  const bool named = !selected.empty();
  {
    detail::lock_scope lk(mu_);
    for (auto& [gid, g] : gs_) {
      if (named || m.pid() == 0) {
        if (named) continue;  // named ones are added below, in the order given
      } else {
        auto p = procs_.find(g.owner);
        if (p == procs_.end() || p->second.info.pid() != m.pid()) continue;
      }
      if (m.list_only()) {
        describe(*report->add_moves(), gid, g);
      } else {
        selected.push_back(gid);
      }
    }
    if (m.list_only()) {
      for (const std::string& gid : std::vector<std::string>(m.goroutine().begin(), m.goroutine().end())) {
        auto it = gs_.find(gid);
        v1::MigrateReport::Move* mv = report->add_moves();
        if (it == gs_.end()) {
          mv->set_goroutine(gid);
          mv->set_error("no such migratable goroutine in this weftd");
        } else {
          describe(*mv, gid, it->second);
        }
      }
    }
  }
  if (!m.list_only()) {
    if (selected.empty() && m.pid() != 0) {
      v1::MigrateReport::Move* mv = report->add_moves();
      mv->set_from_pid(m.pid());
      mv->set_error("pid " + std::to_string(m.pid()) + " runs no migratable goroutine here");
    }
    const bool automatic = m.to().empty() || m.to() == "auto";
    std::map<std::string, goroutine_facts> facts;
    if (automatic && !selected.empty()) {
      facts = observe(selected);
      // Busiest first: off an overloaded host, the goroutines that use
      // the most CPU go to the least loaded hosts.
      auto cpu = [&](const std::string& gid) {
        auto it = facts.find(gid);
        return it == facts.end() ? std::int64_t{-1} : it->second.running_ns;
      };
      std::stable_sort(selected.begin(), selected.end(),
                       [&](const std::string& a, const std::string& b) { return cpu(a) > cpu(b); });
    }
    std::size_t stayed = 0;
    for (const std::string& gid : selected) {
      auto it = facts.find(gid);
      v1::MigrateReport::Move mv = move_one(gid, m.to(), it == facts.end() ? goroutine_facts{} : it->second);
      if (mv.to_pid() == 0 && mv.error().empty()) ++stayed;
      *report->add_moves() = std::move(mv);
    }
    if (stayed > 1 && stayed == selected.size())
      log_("migrate auto: all " + std::to_string(stayed) +
           " selected goroutines are idle over the window: moving them "
           "frees nothing and brings them nearer to nothing; none moved");
  }
  for (v1::MigrateReport::Move& mv : *report->mutable_moves()) {  // they may quote a binary's path
    mv.set_error(wire::utf8_text(std::move(*mv.mutable_error())));
    mv.set_reason(wire::utf8_text(std::move(*mv.mutable_reason())));
  }
  detail::lock_scope lk(mu_);
  auto t = tools_.find(tool_process_id);
  if (t != tools_.end() && t->second.c != nullptr) t->second.c->post(r);
}

}  // namespace weft::server
