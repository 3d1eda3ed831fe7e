// tools/weft/json_value.cpp: parse_json (json_value.hpp), a recursive
// descent over the text; depth is bounded so a hostile document cannot
// overflow the stack.
#include "json_value.hpp"

#include <cstdlib>

namespace weft::tool {

namespace {

struct reader {
  std::string_view t;
  std::size_t at = 0;
  int depth = 0;

  void space() {
    while (at < t.size() && (t[at] == ' ' || t[at] == '\n' || t[at] == '\r' || t[at] == '\t')) ++at;
  }
  bool eat(char c) {
    space();
    if (at < t.size() && t[at] == c) {
      ++at;
      return true;
    }
    return false;
  }
  bool word(std::string_view w) {
    if (t.substr(at, w.size()) != w) return false;
    at += w.size();
    return true;
  }
  static void utf8(std::string& out, unsigned cp) {
    if (cp < 0x80) {
      out += static_cast<char>(cp);
    } else if (cp < 0x800) {
      out += static_cast<char>(0xc0 | (cp >> 6));
      out += static_cast<char>(0x80 | (cp & 0x3f));
    } else {
      out += static_cast<char>(0xe0 | (cp >> 12));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
      out += static_cast<char>(0x80 | (cp & 0x3f));
    }
  }
  static int hex_digit(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  }
  bool digits() {
    const std::size_t from = at;
    while (at < t.size() && t[at] >= '0' && t[at] <= '9') ++at;
    return at > from;
  }
  // A number as JSON writes it: -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?.
  // The text is checked first, then read by strtod, which alone would
  // also take "nan", "inf", "0x1p3" and ".5". Too large a number reads as
  // an infinity (strtod's HUGE_VAL).
  bool number(double& n) {
    const std::size_t from = at;
    if (at < t.size() && t[at] == '-') ++at;
    if (at < t.size() && t[at] == '0') {
      ++at;
    } else if (!digits()) {
      return false;
    }
    if (at < t.size() && t[at] == '.') {
      ++at;
      if (!digits()) return false;
    }
    if (at < t.size() && (t[at] == 'e' || t[at] == 'E')) {
      ++at;
      if (at < t.size() && (t[at] == '+' || t[at] == '-')) ++at;
      if (!digits()) return false;
    }
    const std::string text(t.substr(from, at - from));
    n = std::strtod(text.c_str(), nullptr);
    return true;
  }
  bool string(std::string& out) {
    if (!eat('"')) return false;
    while (at < t.size()) {
      char c = t[at++];
      if (c == '"') return true;
      if (c != '\\') {
        out += c;
        continue;
      }
      if (at >= t.size()) return false;
      char e = t[at++];
      switch (e) {
        case 'n': out += '\n'; break;
        case 't': out += '\t'; break;
        case 'r': out += '\r'; break;
        case 'b': out += '\b'; break;
        case 'f': out += '\f'; break;
        case 'u': {
          // Four hex digits exactly: strtoul would also take a sign,
          // spaces or "0x" (the fuzzer's "\u -12").
          if (at + 4 > t.size()) return false;
          unsigned cp = 0;
          for (int i = 0; i < 4; ++i) {
            const int d = hex_digit(t[at++]);
            if (d < 0) return false;
            cp = cp * 16 + static_cast<unsigned>(d);
          }
          utf8(out, cp);  // surrogate pairs stay two code points: names only
          break;
        }
        default: out += e; break;  // " \ /
      }
    }
    return false;
  }
  bool value(json_value& v) {
    if (++depth > 64) return false;
    space();
    if (at >= t.size()) return false;
    bool ok = false;
    const char c = t[at];
    if (c == '{') {
      ++at;
      v.k = json_value::kind::object;
      ok = eat('}');
      while (!ok) {
        std::string key;
        if (!string(key) || !eat(':')) break;
        // A repeated key keeps its last value, read into a fresh one (not
        // over the first: its array items would add up).
        json_value& member = v.members[key];
        member = json_value{};
        if (!value(member)) break;
        if (eat('}')) {
          ok = true;
        } else if (!eat(',')) {
          break;
        }
      }
    } else if (c == '[') {
      ++at;
      v.k = json_value::kind::array;
      ok = eat(']');
      while (!ok) {
        v.items.emplace_back();
        if (!value(v.items.back())) break;
        if (eat(']')) {
          ok = true;
        } else if (!eat(',')) {
          break;
        }
      }
    } else if (c == '"') {
      v.k = json_value::kind::string;
      ok = string(v.s);
    } else if (word("true") || word("false")) {
      v.k = json_value::kind::boolean;
      v.b = t[at - 1] == 'e' && t[at - 2] == 'u';
      ok = true;
    } else if (word("null")) {
      ok = true;
    } else {
      v.k = json_value::kind::number;
      ok = number(v.n);
    }
    --depth;
    return ok;
  }
};

}  // namespace

const json_value& json_value::operator[](const std::string& key) const {
  static const json_value none;
  if (k != kind::object) return none;
  auto it = members.find(key);
  return it == members.end() ? none : it->second;
}

std::optional<json_value> parse_json(std::string_view text) {
  reader r{text};
  json_value v;
  if (!r.value(v)) return std::nullopt;
  r.space();
  if (r.at != text.size()) return std::nullopt;
  return v;
}

}  // namespace weft::tool
