// src/trace/dump_group.cpp: grouping a goroutine dump by stack (design in
// dump_group.hpp).
#include "trace/dump_group.hpp"

#include <algorithm>
#include <cctype>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace weft::detail::trace {

namespace {

struct block {
  std::string who;  // "7 \"parked-worker-0\"": the id and the name, if any
  std::string state;  // "chan receive, 3 s"
  std::string body;  // every line after the header, each ending in '\n'
};

bool all_digits(const std::string& s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](unsigned char c) { return std::isdigit(c) != 0; });
}

// "chan receive, 3 s" -> "chan receive": the wait's length is the last
// part, ", N minutes", ", N s" or ", N ms" (dump.cpp's state_of).
std::string without_wait(const std::string& state) {
  std::size_t comma = state.rfind(", ");
  if (comma == std::string::npos) return state;
  const std::string tail = state.substr(comma + 2);
  std::size_t space = tail.find(' ');
  if (space == std::string::npos || !all_digits(tail.substr(0, space))) return state;
  const std::string unit = tail.substr(space + 1);
  return unit == "s" || unit == "ms" || unit == "minutes" ? state.substr(0, comma) : state;
}

// The body without " in goroutine N" at the end of its "created by" line.
std::string without_parent(const std::string& body) {
  std::size_t at = body.find("\ncreated by ");
  at = body.rfind("created by ", 0) == 0 ? 0 : at;
  if (at == std::string::npos) return body;
  std::size_t eol = body.find('\n', at + 1);
  if (eol == std::string::npos) eol = body.size();
  std::size_t in = body.rfind(" in goroutine ", eol);
  if (in == std::string::npos || in < at || !all_digits(body.substr(in + 14, eol - in - 14))) return body;
  return body.substr(0, in) + body.substr(eol);
}

// Parses "goroutine 7 "name" [state]:" into b; false if line is not one.
bool parse_header(std::string_view line, block* b) {
  if (line.rfind("goroutine ", 0) != 0 || line.size() < 14 || line.compare(line.size() - 2, 2, "]:") != 0) return false;
  std::size_t open = line.rfind(" [");
  if (open == std::string_view::npos || open < 10) return false;
  b->who = line.substr(10, open - 10);
  b->state = line.substr(open + 2, line.size() - open - 4);
  return true;
}

}  // namespace

std::string group_goroutines(const std::string& dump) {
  std::string loose;  // lines outside any goroutine block
  std::vector<block> blocks;
  // A block's body is the lines between its header and the next header or
  // empty line: one range of the dump, copied once when the block ends
  // (100,000 goroutines are ~700,000 lines: no string per line).
  bool in_block = false;
  std::size_t body_from = 0;
  auto end_block = [&](std::size_t to) {
    if (!in_block) return;
    std::string& body = blocks.back().body;
    body.assign(dump, body_from, to - body_from);
    if (!body.empty() && body.back() != '\n') body.push_back('\n');  // the dump's last line had none
    in_block = false;
  };
  std::size_t pos = 0;
  while (pos < dump.size()) {
    std::size_t eol = dump.find('\n', pos);
    if (eol == std::string::npos) eol = dump.size();
    const std::string_view line(dump.data() + pos, eol - pos);
    block b;
    if (parse_header(line, &b)) {
      end_block(pos);
      blocks.push_back(std::move(b));
      in_block = true;
      body_from = std::min(eol + 1, dump.size());
    } else if (line.empty()) {
      end_block(pos);
    } else if (!in_block) {
      loose.append(line).push_back('\n');
    }
    pos = eol + 1;
  }
  end_block(dump.size());

  struct group {
    std::string state;
    std::string body;
    std::vector<const block*> members;
  };
  std::vector<group> groups;
  // state + body -> its group. Hashed, not ordered: 100,000 goroutines'
  // keys share their first hundreds of bytes, which a tree compares again
  // at every level (issue 16); the order of groups comes from `groups`.
  std::unordered_map<std::string, std::size_t> index;
  for (const block& b : blocks) {
    std::string state = without_wait(b.state);
    std::string body = without_parent(b.body);
    std::string key = state;
    key += '\n';
    key += body;
    auto [it, fresh] = index.emplace(key, groups.size());
    if (fresh) groups.push_back({std::move(state), std::move(body), {}});
    groups[it->second].members.push_back(&b);
  }
  std::stable_sort(groups.begin(), groups.end(),
                   [](const group& x, const group& y) { return x.members.size() > y.members.size(); });

  std::string out = loose.empty() ? "" : loose + "\n";
  for (const group& g : groups) {
    if (g.members.size() == 1) {
      const block& b = *g.members.front();
      out += "1 goroutine: [" + b.state + "]\n# " + b.who + "\n" + b.body + "\n";
      continue;
    }
    out += std::to_string(g.members.size()) + " goroutines: [" + g.state + "]\n# ";
    constexpr std::size_t named = 10;
    for (std::size_t i = 0; i < g.members.size() && i < named; ++i) out += (i ? ", " : "") + g.members[i]->who;
    if (g.members.size() > named) out += ", ... (" + std::to_string(g.members.size() - named) + " more)";
    out += "\n" + g.body + "\n";
  }
  return out;
}

namespace {
constexpr const char grouped_prefix[] = "weft: the dump of ";
constexpr const char grouped_suffix[] = " frame limit: grouped by stack here\n";
}  // namespace

bool dump_is_grouped(const std::string& dump) {
  if (dump.rfind(grouped_prefix, 0) != 0) return false;
  const std::size_t eol = dump.find('\n');
  const std::string suffix = grouped_suffix;
  return eol != std::string::npos && eol + 1 >= suffix.size() &&
         dump.compare(eol + 1 - suffix.size(), suffix.size(), suffix) == 0;
}

std::string fit_dump(std::string dump, std::size_t limit) {
  if (dump.size() <= limit) return dump;
  std::size_t goroutines = dump.rfind("goroutine ", 0) == 0 ? 1 : 0;
  for (std::size_t at = dump.find("\ngoroutine "); at != std::string::npos; at = dump.find("\ngoroutine ", at + 1))
    ++goroutines;
  std::string out = grouped_prefix + std::to_string(goroutines) + " goroutines is " + std::to_string(dump.size()) +
                    " bytes, over the " + std::to_string(limit >> 20) + " MiB" + grouped_suffix;
  out += group_goroutines(dump);
  dump.clear();
  dump.shrink_to_fit();
  if (out.size() <= limit) return out;
  // Groups end in an empty line: cut after the last one that leaves room
  // for the closing line.
  constexpr std::size_t room = 100;
  std::size_t cut = limit > room ? out.rfind("\n\n", limit - room) : std::string::npos;
  cut = cut == std::string::npos ? out.find('\n') + 1 : cut + 2;
  std::size_t left_out = 0;
  for (std::size_t at = out.find("\n\n", cut); at != std::string::npos; at = out.find("\n\n", at + 2)) ++left_out;
  out.resize(cut);
  out += "weft: " + std::to_string(left_out) + " more groups left out (over the frame limit)\n";
  return out;
}

}  // namespace weft::detail::trace
