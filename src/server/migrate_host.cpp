// src/server/migrate_host.cpp: the records of migratable goroutines and
// the moves (protocol and invariants in migrate_host.hpp).
#include "server/migrate_host.hpp"

#include <signal.h>

#include <algorithm>
#include <optional>
#include <utility>
#include <vector>

#include <weft/go.hpp>
#include <weft/select.hpp>
#include <weft/timer.hpp>

#include "server/child.hpp"
#include "wire/worker_id.hpp"

extern char** environ;

namespace weft::server {

namespace {

std::string who(const v1::ProcessInfo& info) {
  return "pid " + std::to_string(info.pid()) + (info.host().empty() ? "" : " on " + info.host());
}

// The next event, or nullopt after `timeout` (a negative one: never).
template <class E>
std::optional<E> next_event(weft::chan<E>& events, std::chrono::nanoseconds timeout) {
  if (timeout.count() < 0) return events.recv();
  std::optional<E> got;
  weft::select(weft::on_recv(events, [&](std::optional<E>&& e) { got = std::move(e); }),
               weft::on_recv(weft::after(timeout), [] {}));
  return got;
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
  process& p = procs_[process_id];
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

std::uint64_t migrate_host::start_host(const std::string& gid, v1::MigrateReport::Move& mv) {
  child_spec spec;
  weft::chan<std::uint64_t> ready(1);
  {
    detail::lock_scope lk(mu_);
    auto it = gs_.find(gid);
    auto owner = it == gs_.end() ? procs_.end() : procs_.find(it->second.owner);
    if (owner == procs_.end()) {
      mv.set_error("no such migratable goroutine running in this weftd");
      return 0;
    }
    if (address_.empty()) {
      mv.set_error("this weftd does not know the address it listens on, so it cannot start a process for it");
      return 0;
    }
    // Its owner's arguments: a main may read them before weft::run, which
    // then serves migrations instead of running it (as a circuit worker).
    spec.binary = owner->second.info.binary_path();
    spec.argv.assign(owner->second.info.argv().begin(), owner->second.info.argv().end());
    if (spec.argv.empty()) spec.argv = {spec.binary};
    // weftd's own environment (its user's key is found the same way),
    // with what says where to attach and how replaced.
    auto ours = [](const std::string& v) {
      for (const char* name : {"WEFT_RUNTIME=", "WEFT_WORKER=", "WEFT_MIGRATE_HOST=", "WEFT_KEY_FILE="})
        if (v.rfind(name, 0) == 0) return true;
      return false;
    };
    for (char** e = environ; *e != nullptr; ++e)
      if (!ours(*e)) spec.env.emplace_back(*e);
    spec.env.push_back("WEFT_RUNTIME=" + address_);
    spec.env.push_back("WEFT_MIGRATE_HOST=1");
    if (!key_file_.empty()) spec.env.push_back("WEFT_KEY_FILE=" + key_file_);
  }
  std::shared_ptr<child> c;
  try {
    c = std::make_shared<child>(spec);
  } catch (const std::exception& e) {
    mv.set_error(std::string("could not start a process of its binary here: ") + e.what());
    return 0;
  }
  const std::int64_t pid = c->pid();
  {
    detail::lock_scope lk(mu_);
    starting_[pid] = ready;
  }
  log_("started pid " + std::to_string(pid) + " (" + spec.binary + ") to receive goroutine " + gid);
  weft::go(weft::go_options{.name = "weftd: migration host"}, [c, pid, log = log_] {
    try {
      log("pid " + std::to_string(pid) + ", started for a moved goroutine, " + child::describe(c->wait()));
    } catch (const std::exception&) {}  // weftd is stopping
  });
  std::optional<std::uint64_t> got = next_event(ready, std::chrono::seconds(10));
  detail::lock_scope lk(mu_);
  starting_.erase(pid);
  if (!got) {
    c->signal(SIGKILL);
    mv.set_error("the process started for it (pid " + std::to_string(pid) + ", " + spec.binary +
                 ") did not attach to this weftd within 10 s");
    return 0;
  }
  return *got;
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
    // Every coordinator hears of it: it may be the owner or the target.
    notify(g, event{event::kind::gone, process_id, {}});
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
  {
    detail::lock_scope lk(mu_);
    for (auto& [gid, g] : gs_) {
      if (!selected.empty() || m.pid() == 0) {
        if (!selected.empty()) continue;  // named ones are added below, in the order given
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
    for (const std::string& gid : selected) *report->add_moves() = move_one(gid, m.to());
  }
  detail::lock_scope lk(mu_);
  auto t = tools_.find(tool_process_id);
  if (t != tools_.end() && t->second.c != nullptr) t->second.c->post(r);
}

std::uint64_t migrate_host::pick_target(const goroutine& g, const std::string& to, std::string& why,
                                        std::string& reason) {
  auto owner = procs_.find(g.owner);
  if (owner == procs_.end()) {
    why = "its process is gone";
    return 0;
  }
  const v1::ProcessInfo& from = owner->second.info;
  std::vector<std::uint64_t> candidates;
  for (auto& [pid, p] : procs_)
    if (pid != g.owner && p.accepts && p.stub != nullptr && same_binary(p.info, from)) candidates.push_back(pid);
  const std::string hint =
      " (a process of the same binary, attached to this weftd, that called "
      "weft::accept_migrations)";
  if (to.rfind("pid:", 0) == 0) {
    const std::string want = to.substr(4);
    for (std::uint64_t c : candidates)
      if (std::to_string(procs_[c].info.pid()) == want) {
        reason = "asked for " + to;
        return c;
      }
    why = "no process " + to + " accepts it" + hint;
    return 0;
  }
  if (!to.empty() && to != "auto") {
    std::vector<std::uint64_t> on_host;
    for (std::uint64_t c : candidates)
      if (procs_[c].info.host() == to) on_host.push_back(c);
    candidates.swap(on_host);
    if (candidates.empty()) {
      why = "no process on host " + to + " accepts it" + hint;
      return 0;
    }
  }
  if (candidates.empty()) {
    why = "no other process accepts it" + hint;
    return 0;
  }
  // auto's first rule: a goroutine whose process runs on another host than
  // this weftd goes next to it, if a process here accepts: every remote
  // channel and variable operation it makes is a round trip to this weftd.
  if ((to.empty() || to == "auto") && !owner->second.near) {
    std::vector<std::uint64_t> near;
    for (std::uint64_t c : candidates)
      if (procs_[c].near) near.push_back(c);
    if (!near.empty()) {
      std::uint64_t best = near.front();
      for (std::uint64_t c : near)
        if (procs_[c].placed < procs_[best].placed) best = c;
      reason = "auto: next to this weftd, which holds its channels and variables (pid " + std::to_string(from.pid()) +
               " is attached from " + owner->second.peer + ", another host)";
      log_("migrate " + reason + ": to pid " + std::to_string(procs_[best].info.pid()));
      return best;
    }
  }
  // auto, or among a host's processes: the one that has received the
  // fewest goroutines, so that moves spread out (docs/migration.md says
  // what auto does not weigh yet).
  std::uint64_t best = candidates.front();
  for (std::uint64_t c : candidates)
    if (procs_[c].placed < procs_[best].placed) best = c;
  reason = (to.empty() || to == "auto" ? std::string("auto: ") : "host " + to + ": ") + "of " +
           std::to_string(candidates.size()) + " accepting processes, the one given the fewest goroutines (" +
           std::to_string(procs_[best].placed) + ")";
  if (to.empty() || to == "auto") log_("migrate " + reason + ": to pid " + std::to_string(procs_[best].info.pid()));
  return best;
}

v1::MigrateReport::Move migrate_host::move_one(const std::string& gid, const std::string& to) {
  using clock = std::chrono::steady_clock;
  v1::MigrateReport::Move mv;
  mv.set_goroutine(gid);
  weft::chan<event> events(8);
  std::uint64_t owner = 0, target = 0, ticket = 0, epoch = 0;
  const std::uint64_t fresh = to == "new" ? start_host(gid, mv) : 0;
  if (to == "new" && fresh == 0) return mv;
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
      target = pick_target(g, to, why, reason);
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
           " s (weft::this_goroutine::checkpoint, or a blocking remote channel operation); it runs on where it was");
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
      target = g.owner != 0 ? pick_target(g, to, why, reason) : 0;
      if (target == 0) {
        if (g.owner != 0) {
          g.ph = phase::running;
          g.state.clear();
          stay("the target ended before the goroutine reached its safe point, and " + why);
        } else {
          g.ph = phase::parked;
          mv.set_error("both its process and the target ended; its state is kept here until a process accepts it");
        }
        finish(g);
        return mv;
      }
      mv.set_reason(reason);
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
