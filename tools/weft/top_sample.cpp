// tools/weft/top_sample.cpp: the rows of weft top from two samples
// (top_sample.hpp).
#include "top_sample.hpp"

#include <algorithm>
#include <cstdio>
#include <map>

#include "wire/json.hpp"

namespace weft::tool {

namespace {

double counter(const json_value& total, const char* a, const char* b) { return total[a].num() + total[b].num(); }

// Per second of the process's own clock; 0 when the clock did not move.
double per_s(double delta, double seconds) { return seconds > 0 ? std::max(0.0, delta) / seconds : 0; }

std::string num(double v) {
  char buf[40];
  std::snprintf(buf, sizeof buf, "%.3f", v);
  return buf;
}

// Whether two samples' counters continue each other.
bool continues(const top_sample& before, const top_sample& now) {
  return before.ok && now.ok && !now.gstats["started_now"].truth() && before.gstats["instrumenting"].truth() &&
         now.gstats["instrumented_ms"].num() >= before.gstats["instrumented_ms"].num();
}

}  // namespace

const std::vector<std::string>& sort_keys() {
  static const std::vector<std::string> keys{"cpu",     "mem",  "goroutines", "runnable",
                                             "blocked", "chan", "bytes",      "name"};
  return keys;
}

process_row process_row_of(const target& t, const top_sample& before, const top_sample& now) {
  process_row r;
  r.t = t;
  if (!now.ok) {
    r.error = now.error;
    return r;
  }
  const json_value& s = now.stats;
  const json_value& g = now.gstats;
  r.rss_bytes = s["rss_bytes"].num();
  r.goroutines = static_cast<long>(s["goroutines"].num());
  r.running = static_cast<long>(g["running"].num());
  r.runnable = static_cast<long>(g["runnable"].num());
  r.blocked = std::max(0L, r.goroutines - r.running - r.runnable);
  if (!before.ok) return r;
  const double wall = s["attached_s"].num() - before.stats["attached_s"].num();
  r.cpu_pct = 100 * per_s(s["cpu_s"].num() - before.stats["cpu_s"].num(), wall);
  if (!continues(before, now)) return r;
  r.rates = true;
  const double seconds = (g["instrumented_ms"].num() - before.gstats["instrumented_ms"].num()) / 1000;
  const json_value& a = before.gstats["total"];
  const json_value& b = g["total"];
  r.chan_ops_per_s = per_s(counter(b, "chan_sends", "chan_recvs") - counter(a, "chan_sends", "chan_recvs"), seconds);
  r.bytes_per_s = per_s(counter(b, "bytes_read", "bytes_written") - counter(a, "bytes_read", "bytes_written"), seconds);
  std::map<std::string, double> was;
  for (const json_value& e : a["blocked_by"].items) was[e["reason"].str()] = e["ms"].num();
  for (const json_value& e : b["blocked_by"].items) {
    const double ms = e["ms"].num() - was[e["reason"].str()];
    if (ms > 0 && seconds > 0) r.blocked_by.push_back({e["reason"].str(), ms / 1000 / seconds});
  }
  std::sort(r.blocked_by.begin(), r.blocked_by.end(),
            [](const blocked_share& x, const blocked_share& y) { return x.goroutines > y.goroutines; });
  return r;
}

std::vector<goroutine_row> goroutine_rows(const top_sample& before, const top_sample& now) {
  std::vector<goroutine_row> rows;
  if (!now.ok) return rows;
  const bool go_on = continues(before, now);
  std::map<std::uint64_t, const json_value*> was;
  if (go_on)
    for (const json_value& e : before.gstats["listed"].items) was[static_cast<std::uint64_t>(e["id"].num())] = &e;
  // Did `before` list every goroutine it had a record of?
  const bool complete =
      go_on && before.gstats["listed"].items.size() >= static_cast<std::size_t>(before.gstats["goroutines"].num());
  const double seconds =
      go_on ? (now.gstats["instrumented_ms"].num() - before.gstats["instrumented_ms"].num()) / 1000 : 0;
  static const json_value zero;
  for (const json_value& e : now.gstats["listed"].items) {
    goroutine_row r;
    r.id = static_cast<std::uint64_t>(e["id"].num());
    r.name = e["name"].str();
    r.state = e["state"].str();
    r.reason = e["reason"].str();
    r.created_by = e["created_by"].str();
    r.created_at = e["created_at"].str();
    auto it = was.find(r.id);
    const json_value* a = it != was.end() ? it->second : complete ? &zero : nullptr;
    if (a != nullptr && go_on) {
      r.rates = true;
      r.cpu_pct = 100 * per_s(e["running_ms"].num() - (*a)["running_ms"].num(), seconds * 1000);
      r.chan_ops_per_s =
          per_s(counter(e, "chan_sends", "chan_recvs") - counter(*a, "chan_sends", "chan_recvs"), seconds);
      r.bytes_per_s =
          per_s(counter(e, "bytes_read", "bytes_written") - counter(*a, "bytes_read", "bytes_written"), seconds);
    }
    rows.push_back(std::move(r));
  }
  return rows;
}

void sort_rows(std::vector<process_row>& rows, const std::string& key) {
  auto value = [&key](const process_row& r) -> double {
    if (key == "mem") return r.rss_bytes;
    if (key == "goroutines") return static_cast<double>(r.goroutines);
    if (key == "runnable") return static_cast<double>(r.runnable);
    if (key == "blocked") return static_cast<double>(r.blocked);
    if (key == "chan") return r.chan_ops_per_s;
    if (key == "bytes") return r.bytes_per_s;
    if (key == "name") return 0;
    return r.cpu_pct;
  };
  std::stable_sort(rows.begin(), rows.end(), [&](const process_row& a, const process_row& b) {
    if (value(a) != value(b)) return value(a) > value(b);
    return a.t.label < b.t.label;
  });
}

void sort_rows(std::vector<goroutine_row>& rows, const std::string& key) {
  auto value = [&key](const goroutine_row& r) -> double {
    if (key == "chan") return r.chan_ops_per_s;
    if (key == "bytes") return r.bytes_per_s;
    if (key == "name") return 0;
    return r.cpu_pct;
  };
  std::stable_sort(rows.begin(), rows.end(), [&](const goroutine_row& a, const goroutine_row& b) {
    if (value(a) != value(b)) return value(a) > value(b);
    if (a.name != b.name) return a.name < b.name;
    return a.id < b.id;
  });
}

std::string row_json(const process_row& r) {
  std::string j = "{\"target\":" + wire::json_string(r.t.label) + ",\"pid\":" + std::to_string(r.t.pid) +
                  ",\"worker\":" + wire::json_string(r.t.worker_id) + ",\"anchor\":" + wire::json_string(r.t.path);
  if (!r.error.empty()) return j + ",\"error\":" + wire::json_string(r.error) + "}";
  j += ",\"cpu_pct\":" + num(r.cpu_pct) + ",\"rss_bytes\":" + std::to_string(static_cast<std::uint64_t>(r.rss_bytes)) +
       ",\"goroutines\":" + std::to_string(r.goroutines) + ",\"running\":" + std::to_string(r.running) +
       ",\"runnable\":" + std::to_string(r.runnable) + ",\"blocked\":" + std::to_string(r.blocked);
  if (r.rates) {
    j += ",\"blocked_by\":[";
    for (std::size_t i = 0; i < r.blocked_by.size(); ++i)
      j += (i ? "," : "") + std::string("{\"reason\":") + wire::json_string(r.blocked_by[i].reason) +
           ",\"goroutines\":" + num(r.blocked_by[i].goroutines) + "}";
    j += "],\"chan_ops_per_s\":" + num(r.chan_ops_per_s) + ",\"bytes_per_s\":" + num(r.bytes_per_s);
  }
  return j + "}";
}

std::string row_json(const goroutine_row& r) {
  std::string j = "{\"id\":" + std::to_string(r.id) + ",\"name\":" + wire::json_string(r.name) +
                  ",\"state\":" + wire::json_string(r.state);
  if (!r.reason.empty()) j += ",\"reason\":" + wire::json_string(r.reason);
  if (r.rates)
    j += ",\"cpu_pct\":" + num(r.cpu_pct) + ",\"chan_ops_per_s\":" + num(r.chan_ops_per_s) +
         ",\"bytes_per_s\":" + num(r.bytes_per_s);
  if (!r.created_by.empty()) j += ",\"created_by\":" + wire::json_string(r.created_by);
  if (!r.created_at.empty()) j += ",\"created_at\":" + wire::json_string(r.created_at);
  return j + "}";
}

}  // namespace weft::tool
