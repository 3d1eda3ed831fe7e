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
          if (at + 4 > t.size()) return false;
          const std::string hex(t.substr(at, 4));
          at += 4;
          char* end = nullptr;
          unsigned cp = static_cast<unsigned>(std::strtoul(hex.c_str(), &end, 16));
          if (end != hex.c_str() + 4) return false;
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
        if (!value(v.members[key])) break;
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
      const std::string rest(t.substr(at, 64));
      char* end = nullptr;
      v.n = std::strtod(rest.c_str(), &end);
      ok = end != rest.c_str();
      at += static_cast<std::size_t>(end - rest.c_str());
      v.k = json_value::kind::number;
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
