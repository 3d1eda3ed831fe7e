// src/remote/gstats_json.cpp: Control GOROUTINE_STATS's text, from a
// runtime snapshot (runtime/gstats.hpp; keys in docs/protocol.md,
// "Goroutine statistics").
#include <algorithm>
#include <cstdio>
#include <map>
#include <string>

#include "remote/stub.hpp"
#include "runtime/fatal.hpp"
#include "runtime/gstats.hpp"
#include "trace/stacktrace.hpp"
#include "wire/json.hpp"

namespace weft::remote::detail {

namespace {

using weft::detail::blocked_time;
using weft::detail::gstate;
using weft::detail::gstats_values;

std::string ms(std::int64_t ns) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.3f", static_cast<double>(ns) / 1e6);
  return buf;
}

const char* state_name(gstate s) {
  switch (s) {
    case gstate::running: return "running";
    case gstate::runnable: return "runnable";
    case gstate::blocked: return "blocked";
    case gstate::unknown: break;
  }
  return "unknown";
}

void append_values(std::string& j, const gstats_values& v) {
  j += "\"running_ms\":" + ms(v.running_ns);
  j += ",\"runnable_ms\":" + ms(v.runnable_ns);
  j += ",\"blocked_ms\":" + ms(v.blocked_ns);
  j += ",\"chan_sends\":" + std::to_string(v.chan_sends);
  j += ",\"chan_recvs\":" + std::to_string(v.chan_recvs);
  j += ",\"bytes_read\":" + std::to_string(v.bytes_read);
  j += ",\"bytes_written\":" + std::to_string(v.bytes_written);
}

void append_blocked(std::string& j, const std::vector<blocked_time>& by) {
  j += "\"blocked_by\":[";
  for (std::size_t i = 0; i < by.size(); ++i) {
    if (i) j += ',';
    j += "{\"reason\":";
    wire::append_json_string(j, by[i].reason ? by[i].reason : "blocked");
    j += ",\"ms\":" + ms(by[i].ns) + "}";
  }
  j += ']';
}

// "created_by" (the function that called go, as dump_goroutines's "created
// by" line), "created_at" (FILE:LINE, when known) and "parent", members
// after a comma; nothing when the creation site is unknown.
void append_creation(std::string& j, const weft::detail::goroutine_stats& g,
                     const std::map<void*, weft::detail::trace::frame>& sites) {
  auto it = g.creation_pc == nullptr ? sites.end() : sites.find(g.creation_pc);
  if (it == sites.end()) return;
  const weft::detail::trace::frame& f = it->second;
  j += ",\"created_by\":";
  wire::append_json_string(j, f.function);
  if (!f.file.empty()) {
    j += ",\"created_at\":";
    wire::append_json_string(j, f.file + ":" + std::to_string(f.line));
  }
  if (g.parent_id != 0) j += ",\"parent\":" + std::to_string(g.parent_id);
}

}  // namespace

std::string goroutine_stats_json(const weft::detail::gstats_snapshot& snap, bool started, std::size_t limit) {
  std::vector<const weft::detail::goroutine_stats*> rows;
  for (const auto& g : snap.goroutines) rows.push_back(&g);
  // Busiest first: by time running, then by id for a stable order.
  std::sort(rows.begin(), rows.end(), [](const auto* a, const auto* b) {
    if (a->values.running_ns != b->values.running_ns) return a->values.running_ns > b->values.running_ns;
    return a->id < b->id;
  });
  std::string j = "{";
  j += std::string("\"instrumenting\":") + (snap.on ? "true" : "false");
  j += std::string(",\"started_now\":") + (started ? "true" : "false");
  j += ",\"instrumented_ms\":" + ms(snap.on ? snap.now_ns - snap.since_ns : 0);
  j += ",\"goroutines\":" + std::to_string(snap.goroutines.size());
  j += ",\"ended\":" + std::to_string(snap.ended);
  // How many of the recorded goroutines are in each state now (one parked
  // since before instrumentation began has no record: not counted).
  std::size_t by_state[4] = {0, 0, 0, 0};
  for (const auto& g : snap.goroutines) ++by_state[static_cast<int>(g.state)];
  j += ",\"running\":" + std::to_string(by_state[static_cast<int>(gstate::running)]);
  j += ",\"runnable\":" + std::to_string(by_state[static_cast<int>(gstate::runnable)]);
  j += ",\"blocked\":" + std::to_string(by_state[static_cast<int>(gstate::blocked)]);
  j += ",\"total\":{";
  append_values(j, snap.total);
  j += ',';
  append_blocked(j, snap.blocked);
  j += "},\"listed\":[";
  // The listed goroutines' creation sites, each distinct pc symbolized
  // once (many goroutines share a few sites), on a system stack: libdw
  // needs far more than a goroutine's 64 KiB (as encode_pprof).
  std::map<void*, weft::detail::trace::frame> sites;
  for (std::size_t i = 0; i < rows.size() && i < limit; ++i)
    if (rows[i]->creation_pc != nullptr) sites[rows[i]->creation_pc];
  if (!sites.empty()) {
    weft::detail::on_system_stack([&sites] {
      for (auto& [pc, f] : sites) f = weft::detail::trace::symbolize(pc);
    });
  }
  for (std::size_t i = 0; i < rows.size() && i < limit; ++i) {
    const auto& g = *rows[i];
    if (i) j += ',';
    j += "{\"id\":" + std::to_string(g.id) + ",\"name\":";
    wire::append_json_string(j, g.name);
    j += ",\"state\":\"";
    j += state_name(g.state);
    j += '"';
    if (g.reason) {
      j += ",\"reason\":";
      wire::append_json_string(j, g.reason);
    }
    j += ',';
    append_values(j, g.values);
    append_creation(j, g, sites);
    j += ',';
    append_blocked(j, g.blocked);
    j += '}';
  }
  j += "]}";
  return j;
}

}  // namespace weft::remote::detail
