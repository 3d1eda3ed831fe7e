// src/server/migrate_observe.cpp: an auto decision's look at the goroutines
// themselves (migrate_facts.hpp; migrate_host.hpp's auto).
//
// Each owner process is asked for goroutine statistics twice (Control
// GOROUTINE_STATS through control_host::ask), observe_window apart; the
// two samples of each migratable goroutine (ControlReply.migratable) give
// its CPU and blocked time over the window. All owners are asked at once,
// so a request for many processes waits one window, not one each.
//
// Invariants:
//   O1 Instrumentation that a first sample turned on (started_now) is
//      turned off again (INSTRUMENT_OFF) on every path out of here: the
//      answers, a timeout, a process that ended. One that was on already
//      (a tool's `weft peek --goroutines`) is left on. A first sample that
//      never came may have turned it on: it is turned off too (the stub
//      also stops instrumentation nobody asked about for 60 s).
//   O2 A window is trusted only when both samples come from one run of
//      the instrumentation (the second's started_now is false: nobody
//      stopped and restarted it in between) and its length on the
//      process's clock is positive; otherwise that process's goroutines
//      have no facts, and auto decides them by their process's measures.
//   O3 Never under mu_ while waiting; bounded: observe_window plus at most
//      peers_wait for each round of answers.
#include <chrono>
#include <cstdlib>
#include <map>
#include <optional>
#include <set>

#include <weft/go.hpp>

#include "server/migrate_host.hpp"
#include "server/migrate_wait.hpp"

namespace weft::server {

using migrate_detail::next_event;

namespace {

// A number after "key": in a goroutine statistics text (docs/protocol.md,
// "Goroutine statistics": the stub writes these keys first, unnested).
std::optional<double> json_number(const std::string& text, const std::string& key) {
  const std::string k = "\"" + key + "\":";
  const std::size_t at = text.find(k);
  if (at == std::string::npos) return std::nullopt;
  return std::strtod(text.c_str() + at + k.size(), nullptr);
}

bool json_true(const std::string& text, const std::string& key) {
  return text.find("\"" + key + "\":true") != std::string::npos;
}

// One owner's samples.
struct probe {
  std::uint64_t process_id = 0;
  weft::chan<wire::frame> inbox = weft::chan<wire::frame>(1);
  std::optional<v1::ControlReply> first, second;
  bool turn_off = true;  // O1: unless the first sample says it was on already
};

}  // namespace

std::map<std::string, goroutine_facts> migrate_host::observe(const std::vector<std::string>& gids) {
  std::map<std::string, goroutine_facts> r;
  if (control_ == nullptr || limits_.observe_window.count() <= 0) return r;
  std::set<std::uint64_t> owners;
  {
    detail::lock_scope lk(mu_);
    for (const std::string& gid : gids) {
      auto it = gs_.find(gid);
      if (it != gs_.end() && it->second.owner != 0 && it->second.ph == phase::running) owners.insert(it->second.owner);
    }
  }
  std::vector<probe> probes;
  // O1: whatever happens below (an exception included), instrumentation
  // this turned on goes off again.
  struct off_guard {
    control_host* control;
    std::vector<probe>& probes;
    ~off_guard() {
      for (const probe& p : probes)
        if (p.turn_off) control->ask(p.process_id, v1::Control::INSTRUMENT_OFF, weft::chan<wire::frame>(1));
    }
  } off{control_, probes};
  for (std::uint64_t owner : owners) {
    probe p;
    p.process_id = owner;
    if (control_->ask(owner, v1::Control::GOROUTINE_STATS, p.inbox)) probes.push_back(std::move(p));
  }
  // Each round's answers, within peers_wait in all (O3).
  auto collect = [&](bool first) {
    const auto deadline = std::chrono::steady_clock::now() + limits_.peers_wait;
    for (probe& p : probes) {
      if (!first && !p.first) continue;
      // An answer already in beats a spent deadline (select would pick at random).
      std::optional<wire::frame> got = p.inbox.try_recv();
      const auto left = deadline - std::chrono::steady_clock::now();
      if (!got && left.count() > 0) got = next_event(p.inbox, std::chrono::nanoseconds(left));
      if (!got || !got->has_control_reply()) continue;  // an old stub, busy or gone: no facts
      (first ? p.first : p.second) = got->control_reply();
    }
  };
  collect(true);
  for (probe& p : probes)
    if (p.first && !json_true(p.first->text(), "started_now")) p.turn_off = false;
  weft::this_goroutine::sleep_for(limits_.observe_window);
  for (probe& p : probes) {
    if (!p.first) continue;
    p.inbox = weft::chan<wire::frame>(1);  // a late first answer is not a second one
    if (!control_->ask(p.process_id, v1::Control::GOROUTINE_STATS, p.inbox)) p.first.reset();
  }
  collect(false);
  const std::set<std::string> wanted(gids.begin(), gids.end());
  for (const probe& p : probes) {
    if (!p.first || !p.second || json_true(p.second->text(), "started_now")) continue;  // O2
    const std::optional<double> t0 = json_number(p.first->text(), "instrumented_ms");
    const std::optional<double> t1 = json_number(p.second->text(), "instrumented_ms");
    if (!t0 || !t1 || *t1 <= *t0) continue;  // O2
    const double window_s = (*t1 - *t0) / 1000.0;
    std::map<std::string, const v1::MigratableStats*> before;
    for (const v1::MigratableStats& m : p.first->migratable()) before[m.goroutine()] = &m;
    for (const v1::MigratableStats& m : p.second->migratable()) {
      if (wanted.count(m.goroutine()) == 0) continue;
      auto a = before.find(m.goroutine());
      // One that came into the process during the window has no first
      // sample: its counters start where instrumentation did, which is the
      // window's start only if the first sample started it.
      if (a == before.end() && !p.turn_off) continue;
      r[m.goroutine()] = facts_between(a == before.end() ? nullptr : a->second, m, window_s);
    }
  }
  return r;
}

}  // namespace weft::server
