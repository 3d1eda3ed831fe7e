// src/server/migrate_target.cpp: where a move goes: the candidates, `--to
// auto` (migrate_auto.hpp), and `--to new`'s started process (protocol and
// invariants in migrate_host.hpp).
#include <signal.h>

#include <optional>
#include <vector>

#include <weft/go.hpp>

#include "server/child.hpp"
#include "server/migrate_host.hpp"
#include "server/migrate_wait.hpp"

extern char** environ;

namespace weft::server {

using migrate_detail::next_event;

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
    // It may have attached and accepted before this line (accept found no
    // waiter then): it is the target already.
    bool accepted = false;
    for (auto& [process_id, p] : procs_)
      if (p.accepts && p.near && p.info.pid() == pid && !accepted) accepted = ready.try_send(process_id);
    if (!accepted) starting_[pid] = ready;
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

std::vector<auto_peer> migrate_host::ask_peers(const std::string& gid) {
  std::vector<auto_peer> r;
  std::uint64_t owner = 0;
  {
    detail::lock_scope lk(mu_);
    auto it = gs_.find(gid);
    if (it != gs_.end()) owner = it->second.owner;
  }
  weft::chan<wire::frame> inbox(1);
  if (owner == 0 || control_ == nullptr || !control_->ask(owner, v1::Control::STATS, inbox)) return r;
  std::optional<wire::frame> got = next_event(inbox, limits_.peers_wait);
  if (!got || !got->has_control_reply()) return r;  // an old stub, busy or gone: no peers weighed
  for (const v1::PeerTraffic& t : got->control_reply().peers())
    r.push_back(auto_peer{.id = 0, .pid = t.pid(), .host = t.host(), .bytes = t.bytes_out() + t.bytes_in()});
  return r;
}

auto_process migrate_host::auto_view(std::uint64_t process_id, const load_table& loads) {
  const process& p = procs_.at(process_id);
  auto_process a;
  a.id = process_id;
  a.pid = p.info.pid();
  a.host = p.info.host();
  a.peer = p.peer;
  a.near = p.near;
  a.placed = p.placed;
  a.load = loads.of(a);
  const std::uint64_t now = p.stub != nullptr ? p.stub->bytes_exchanged() : p.bytes0;
  a.bytes = now > p.bytes0 ? now - p.bytes0 : 0;
  a.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - p.since).count();
  return a;
}

std::uint64_t migrate_host::pick_target(const goroutine& g, const std::string& to, const load_table& loads,
                                        const goroutine_facts& facts, std::string& why, std::string& reason) {
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
  if (to.empty() || to == "auto") {
    std::vector<auto_process> cs;
    for (std::uint64_t c : candidates) cs.push_back(auto_view(c, loads));
    auto_process owner_view = auto_view(g.owner, loads);
    owner_view.peers = loads.peers;
    goroutine_facts own = facts;  // its own peers, resolved as its process's are
    for (std::vector<auto_peer>* peers : {&owner_view.peers, &own.peers})
      for (auto_peer& peer : *peers)
        for (auto& [id, p] : procs_)
          if (p.info.pid() == peer.pid && p.info.host() == peer.host) peer.id = id;
    const auto_choice choice = choose_auto(owner_view, cs, limits_.auto_rules, own);
    reason = choice.reason;
    if (choice.stays) {
      log_("migrate " + reason + ": " + g.function + " stays in pid " + std::to_string(from.pid()));
      return 0;
    }
    log_("migrate " + reason + ": to pid " + std::to_string(procs_[choice.target].info.pid()));
    return choice.target;
  }
  // Among a host's processes: the one that has received the fewest
  // goroutines, so that moves spread out.
  std::uint64_t best = candidates.front();
  for (std::uint64_t c : candidates)
    if (procs_[c].placed < procs_[best].placed) best = c;
  reason = "host " + to + ": of " + std::to_string(candidates.size()) +
           " accepting processes, the one given the fewest goroutines (" + std::to_string(procs_[best].placed) + ")";
  return best;
}

}  // namespace weft::server
