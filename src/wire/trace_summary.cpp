// src/wire/trace_summary.cpp: counting and the table (see trace_summary.hpp).
#include "wire/trace_summary.hpp"

#include <algorithm>
#include <cstdio>

namespace weft::wire {

namespace {

std::string duration_text(std::int64_t ns) {
  char buf[32];
  if (ns >= 1'000'000'000)
    std::snprintf(buf, sizeof buf, "%.2f s", double(ns) / 1e9);
  else if (ns >= 1'000'000)
    std::snprintf(buf, sizeof buf, "%.2f ms", double(ns) / 1e6);
  else
    std::snprintf(buf, sizeof buf, "%.1f us", double(ns) / 1e3);
  return buf;
}

// One line stays one line: control characters (a name's newline) become '?'.
std::string printable(std::string s) {
  for (char& c : s)
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = '?';
  return s;
}

std::string line(const char* fmt, auto... args) {
  char buf[256];
  std::snprintf(buf, sizeof buf, fmt, args...);
  return buf;
}

}  // namespace

bool runtime_goroutine(const std::string& name) { return name.starts_with("weft: "); }

void trace_summary::chan_op(std::uint64_t chan, bool send, const std::string& by) {
  if (runtime_goroutine(by)) return;
  auto it = chans_.find(chan);
  if (it == chans_.end()) {
    if (chans_.size() >= max_chans) {
      (send ? others_.sends : others_.recvs)++;
      return;
    }
    it = chans_.emplace(chan, chan_ops{}).first;
  }
  (send ? it->second.sends : it->second.recvs)++;
}

void trace_summary::block(std::uint64_t g, const std::string& name, const std::string& reason, std::int64_t ns,
                          bool still) {
  if (runtime_goroutine(name)) return;
  if (longest_.size() == max_blocks && ns <= longest_.back().ns) return;
  blocked b{g, printable(name.substr(0, 40)), printable(reason.substr(0, 40)), ns, still};
  auto at = std::find_if(longest_.begin(), longest_.end(), [&](const blocked& x) { return x.ns < ns; });
  longest_.insert(at, std::move(b));
  if (longest_.size() > max_blocks) longest_.pop_back();
}

void trace_summary::named(std::uint64_t g, const std::string& name) {
  const bool runtimes = runtime_goroutine(name);
  std::erase_if(longest_, [&](blocked& b) {
    if (b.g != g || !b.name.empty()) return false;
    b.name = printable(name.substr(0, 40));
    return runtimes;  // not the program's: out of the table
  });
}

std::string trace_summary::table(const std::string& who) const {
  std::string out = "weft trace: " + who + ": " + std::to_string(created_) + " goroutines created, " +
                    std::to_string(ended_) + " ended, " + std::to_string(events_) + " events";
  if (dropped_ > 0) out += ", " + std::to_string(dropped_) + " dropped (the program outran the stream)";
  if (over_cap_ > 0) out += ", " + std::to_string(over_cap_) + " dropped (the trace reached its size cap)";
  out += "\n";
  std::vector<std::pair<std::uint64_t, chan_ops>> chans(chans_.begin(), chans_.end());
  auto total = [](const chan_ops& c) { return c.sends + c.recvs; };
  std::sort(chans.begin(), chans.end(), [&](const auto& a, const auto& b) {
    return total(a.second) != total(b.second) ? total(a.second) > total(b.second) : a.first < b.first;
  });
  if (!chans.empty()) {
    out += line("  %-30s %10s %10s\n", "busiest channels", "sends", "receives");
    for (std::size_t i = 0; i < chans.size() && i < shown_chans; ++i)
      out += line("  0x%-28llx %10llu %10llu\n", static_cast<unsigned long long>(chans[i].first),
                  static_cast<unsigned long long>(chans[i].second.sends),
                  static_cast<unsigned long long>(chans[i].second.recvs));
    if (chans.size() > shown_chans || total(others_) > 0)
      out += line("  %-30s\n",
                  (std::to_string(chans.size() - std::min(chans.size(), shown_chans)) + " more channels").c_str());
  }
  if (!longest_.empty()) {
    out += line("  %-30s %-24s %10s\n", "longest blocks", "reason", "duration");
    for (const blocked& b : longest_) {
      std::string g = "goroutine " + std::to_string(b.g) + (b.name.empty() ? "" : " \"" + b.name + "\"");
      out += line("  %-30s %-24s %10s%s\n", g.c_str(), b.reason.c_str(), duration_text(b.ns).c_str(),
                  b.still ? " (still blocked at exit)" : "");
    }
  }
  return out;
}

}  // namespace weft::wire
