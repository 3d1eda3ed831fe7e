// tools/weft/json_value.hpp: a small JSON reader for what the weft command
// is answered in JSON (Control STATS and GOROUTINE_STATS, docs/protocol.md).
//
// The documents are small (a few KiB to a few hundred) and written by the
// stub, so the reader aims at clarity, not speed: a tree of values, each
// an object, array, string, number, bool or null. Numbers are doubles (the
// counters fit: 2^53 is far away). A malformed document gives std::nullopt
// from parse_json, never a throw or a partial tree.
//
// Rejected: a third-party JSON library for two small documents: one more
// package for every build, where the tool only reads what weft writes.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace weft::tool {

struct json_value {
  enum class kind { null, boolean, number, string, array, object };
  kind k = kind::null;
  bool b = false;
  double n = 0;
  std::string s;
  std::vector<json_value> items;  // array
  std::map<std::string, json_value> members;  // object

  // Member `key` of an object; a null value when there is none (or this is
  // no object), so lookups chain: v["total"]["running_ms"].num().
  const json_value& operator[](const std::string& key) const;
  double num(double otherwise = 0) const { return k == kind::number ? n : otherwise; }
  const std::string& str() const { return s; }
  bool truth() const { return k == kind::boolean && b; }
  bool has(const std::string& key) const { return k == kind::object && members.count(key) != 0; }
};

std::optional<json_value> parse_json(std::string_view text);

}  // namespace weft::tool
