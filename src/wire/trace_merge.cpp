// src/wire/trace_merge.cpp: splicing trace documents (design in
// trace_merge.hpp).
#include "wire/trace_merge.hpp"

#include <algorithm>
#include <charconv>
#include <cstdint>
#include <limits>
#include <optional>
#include <stdexcept>

#include "wire/trace_json.hpp"

namespace weft::wire {

namespace {

constexpr std::string_view ts_key = ",\"ts\":";
constexpr std::string_view base_key = "\"name\":\"weft_time_base\",\"args\":{\"ns\":";

// A run of decimal digits at s[at...] as an int64; at moves past it.
std::optional<std::int64_t> digits(std::string_view s, std::size_t& at) {
  std::int64_t v = 0;
  auto r = std::from_chars(s.data() + at, s.data() + s.size(), v);
  if (r.ec != std::errc() || v < 0) return std::nullopt;
  at = static_cast<std::size_t>(r.ptr - s.data());
  return v;
}

// "-"? digits "." three digits: a ts, as nanoseconds.
std::optional<std::int64_t> micros(std::string_view s, std::size_t& at) {
  const bool neg = at < s.size() && s[at] == '-';
  if (neg) ++at;
  std::optional<std::int64_t> whole = digits(s, at);
  if (!whole || at + 4 > s.size() || s[at] != '.' || *whole > std::numeric_limits<std::int64_t>::max() / 2000)
    return std::nullopt;
  std::int64_t frac = 0;
  for (std::size_t i = at + 1; i < at + 4; ++i) {
    if (s[i] < '0' || s[i] > '9') return std::nullopt;
    frac = frac * 10 + (s[i] - '0');
  }
  at += 4;
  const std::int64_t ns = *whole * 1000 + frac;
  return neg ? -ns : ns;
}

void append_micros(std::string& out, std::int64_t ns) {
  if (ns < 0) out += '-';
  const std::uint64_t mag = ns < 0 ? 0 - static_cast<std::uint64_t>(ns) : static_cast<std::uint64_t>(ns);
  out += std::to_string(mag / 1000);
  const auto frac = static_cast<unsigned>(mag % 1000);
  out += '.';
  out += static_cast<char>('0' + frac / 100);
  out += static_cast<char>('0' + frac / 10 % 10);
  out += static_cast<char>('0' + frac % 10);
}

}  // namespace

std::string merge_traces(const std::vector<std::string_view>& parts, const std::vector<std::string>& names) {
  auto bad = [&](std::size_t i, const std::string& why) {
    return std::invalid_argument("the trace of " + (i < names.size() ? names[i] : "part " + std::to_string(i)) +
                                 " is not a weft trace document: " + why);
  };
  // The parts' bodies (their events, "\n" first) and time bases.
  std::vector<std::string_view> bodies(parts.size());
  std::vector<std::optional<std::int64_t>> bases(parts.size());
  std::optional<std::int64_t> earliest;
  for (std::size_t i = 0; i < parts.size(); ++i) {
    std::string_view d = parts[i];
    if (d.size() < trace_json_head.size() + trace_json_tail.size() ||
        d.substr(0, trace_json_head.size()) != trace_json_head ||
        d.substr(d.size() - trace_json_tail.size()) != trace_json_tail)
      throw bad(i, "it does not open with {\"traceEvents\":[ and close with ]}");
    bodies[i] = d.substr(trace_json_head.size(), d.size() - trace_json_head.size() - trace_json_tail.size());
    if (!bodies[i].empty() && bodies[i][0] != '\n') throw bad(i, "its first event is not on a line of its own");
    std::size_t at = bodies[i].find(base_key);
    if (at == std::string_view::npos) continue;
    at += base_key.size();
    bases[i] = digits(bodies[i], at);
    if (!bases[i]) throw bad(i, "its weft_time_base is not a number of nanoseconds");
    earliest = earliest ? std::min(*earliest, *bases[i]) : *bases[i];
  }
  std::string out(trace_json_head);
  bool first = true;
  for (std::size_t i = 0; i < parts.size(); ++i) {
    std::string_view b = bodies[i];
    if (b.empty()) continue;
    const std::int64_t shift = bases[i] ? *bases[i] - *earliest : 0;
    out += first ? "\n" : ",\n";
    first = false;
    std::size_t from = 1;  // past the "\n"
    for (;;) {
      std::size_t at = b.find(ts_key, from);
      std::size_t base_at = b.find(base_key, from);
      if (at == std::string_view::npos && base_at == std::string_view::npos) break;
      if (base_at < at) {  // the merged document's base is the earliest part's
        base_at += base_key.size();
        out.append(b.substr(from, base_at - from));
        if (!digits(b, base_at)) throw bad(i, "its weft_time_base is not a number of nanoseconds");
        out += std::to_string(*earliest);
        from = base_at;
        continue;
      }
      at += ts_key.size();
      out.append(b.substr(from, at - from));
      std::optional<std::int64_t> ns = micros(b, at);
      if (!ns)
        throw bad(i, "a ts at byte " + std::to_string(trace_json_head.size() + at) +
                         " is not a number of "
                         "microseconds with three decimals");
      std::int64_t moved = 0;
      // Within what micros() reads back: a merged document merges again.
      if (__builtin_add_overflow(*ns, shift, &moved) ||
          moved / 1000 > std::numeric_limits<std::int64_t>::max() / 2000 ||
          moved / 1000 < -(std::numeric_limits<std::int64_t>::max() / 2000))
        throw bad(i, "its times are out of range");
      append_micros(out, moved);
      from = at;
    }
    out.append(b.substr(from));
  }
  out += trace_json_tail;
  return out;
}

}  // namespace weft::wire
