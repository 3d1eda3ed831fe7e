// fuzz/json_value_fuzz.cpp: the weft command's JSON reader
// (tools/weft/json_value.cpp) on arbitrary text. The documents come from a
// stub's Control replies, i.e. from another process. No crash, no
// sanitizer report, no nan (no JSON number is one), and a document it
// accepts reads back the same after being written out again (write()
// below: the JSON of the tree): no value is lost or invented.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <optional>
#include <string>
#include <string_view>

#include "json_value.hpp"

namespace {

using weft::tool::json_value;

// Byte for byte: the reader keeps a string's bytes as they come (UTF-8 or
// not; wire::json_string would replace bad UTF-8), so only '"' and '\\'
// need escaping.
void write_string(const std::string& s, std::string& out) {
  out += '"';
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  out += '"';
}

void write(const json_value& v, std::string& out) {
  switch (v.k) {
    case json_value::kind::null: out += "null"; return;
    case json_value::kind::boolean: out += v.b ? "true" : "false"; return;
    case json_value::kind::number: {
      if (std::isinf(v.n)) {  // a number too large for a double ("1e999") reads as an infinity
        out += v.n < 0 ? "-1e999" : "1e999";
        return;
      }
      char buf[40];
      std::snprintf(buf, sizeof buf, "%.17g", v.n);
      out += buf;
      return;
    }
    case json_value::kind::string: write_string(v.s, out); return;
    case json_value::kind::array: {
      out += '[';
      for (std::size_t i = 0; i < v.items.size(); ++i) {
        if (i) out += ',';
        write(v.items[i], out);
      }
      out += ']';
      return;
    }
    case json_value::kind::object: {
      out += '{';
      bool first = true;
      for (const auto& [key, member] : v.members) {
        if (!first) out += ',';
        first = false;
        write_string(key, out);
        out += ':';
        write(member, out);
      }
      out += '}';
      return;
    }
  }
}

bool same(const json_value& a, const json_value& b) {
  if (a.k != b.k) return false;
  switch (a.k) {
    case json_value::kind::null: return true;
    case json_value::kind::boolean: return a.b == b.b;
    case json_value::kind::number: return a.n == b.n;
    case json_value::kind::string: return a.s == b.s;
    case json_value::kind::array:
      if (a.items.size() != b.items.size()) return false;
      for (std::size_t i = 0; i < a.items.size(); ++i)
        if (!same(a.items[i], b.items[i])) return false;
      return true;
    case json_value::kind::object:
      if (a.members.size() != b.members.size()) return false;
      for (auto i = a.members.begin(), j = b.members.begin(); i != a.members.end(); ++i, ++j)
        if (i->first != j->first || !same(i->second, j->second)) return false;
      return true;
  }
  return false;
}

bool has_nan(const json_value& v) {
  if (v.k == json_value::kind::number) return std::isnan(v.n);
  for (const json_value& item : v.items)
    if (has_nan(item)) return true;
  for (const auto& [key, member] : v.members)
    if (has_nan(member)) return true;
  return false;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  std::optional<json_value> v = weft::tool::parse_json(text);
  if (!v) return 0;
  if (has_nan(*v)) __builtin_trap();  // no JSON number reads as nan
  std::string again;
  write(*v, again);
  std::optional<json_value> back = weft::tool::parse_json(again);
  if (!back || !same(*v, *back)) __builtin_trap();
  (void)(*v)["total"]["running_ms"].num();
  return 0;
}
