// src/wire/fork_request.cpp: weftd <-> fork server messages (fork_request.hpp).
//
// Runs in a fork server before the binary's constructors: it touches no
// static object of weft's (they may not be constructed yet).
#include "wire/fork_request.hpp"

#include <charconv>

namespace weft::wire {

std::string encode_fork_request(const fork_request& r) {
  std::string out;
  auto add = [&](const std::string& s) {
    if (s.find('\0') != std::string::npos) return false;
    out += s;
    out.push_back('\0');
    return true;
  };
  if (r.cwd.empty() || !add(r.cwd)) return {};
  for (const std::string& e : r.env) {
    if (e.find('=') == std::string::npos || e.front() == '=' || !add(e)) return {};
  }
  return out.size() > max_fork_request ? std::string() : out;
}

std::optional<fork_request> decode_fork_request(std::string_view bytes, std::string& why) {
  if (bytes.empty() || bytes.size() > max_fork_request || bytes.back() != '\0') {
    why = "a fork request is NUL-terminated strings, at most " + std::to_string(max_fork_request) + " bytes";
    return std::nullopt;
  }
  fork_request r;
  bool first = true;
  while (!bytes.empty()) {
    std::size_t end = bytes.find('\0');
    std::string_view s = bytes.substr(0, end);
    bytes.remove_prefix(end + 1);
    if (first) {
      if (s.empty() || s.front() != '/') {
        why = "a fork request's working directory is an absolute path";
        return std::nullopt;
      }
      r.cwd = s;
      first = false;
      continue;
    }
    if (s.empty() || s.front() == '=' || s.find('=') == std::string_view::npos) {
      why = "a fork request's environment entries are NAME=VALUE";
      return std::nullopt;
    }
    r.env.emplace_back(s);
  }
  return r;
}

std::string encode_fork_answer(const fork_answer& a) {
  if (a.pid > 0)
    return "pid " + std::to_string(a.pid) + (a.took_connection ? " conn" : "") +
           (a.spare >= 0 ? " spare " + std::to_string(a.spare) : std::string());
  return "error " + std::to_string(a.error) + " " + a.why;
}

std::optional<fork_answer> decode_fork_answer(std::string_view bytes) {
  auto number = [&](long& v) {
    auto [p, ec] = std::from_chars(bytes.data(), bytes.data() + bytes.size(), v);
    if (ec != std::errc() || p == bytes.data()) return false;
    bytes.remove_prefix(static_cast<std::size_t>(p - bytes.data()));
    return true;
  };
  fork_answer a;
  if (bytes.substr(0, 4) == "pid ") {
    bytes.remove_prefix(4);
    if (!number(a.pid) || a.pid <= 0) return std::nullopt;
    if (bytes.substr(0, 5) == " conn") {
      a.took_connection = true;
      bytes.remove_prefix(5);
    }
    if (bytes.substr(0, 7) == " spare ") {
      bytes.remove_prefix(7);
      if (!number(a.spare) || a.spare < 0) return std::nullopt;
    }
    if (!bytes.empty()) return std::nullopt;
    return a;
  }
  if (bytes.substr(0, 6) == "error ") {
    bytes.remove_prefix(6);
    long e = 0;
    if (!number(e) || e <= 0 || e > 4095) return std::nullopt;
    a.error = static_cast<int>(e);
    if (!bytes.empty() && bytes.front() == ' ') bytes.remove_prefix(1);
    a.why = bytes.substr(0, 512);
    return a;
  }
  return std::nullopt;
}

std::optional<long> decode_fork_ready(std::string_view bytes) {
  if (bytes == "ready") return -1;
  if (bytes.substr(0, 12) != "ready spare ") return std::nullopt;
  bytes.remove_prefix(12);
  long q = 0;
  auto [p, ec] = std::from_chars(bytes.data(), bytes.data() + bytes.size(), q);
  if (ec != std::errc() || p == bytes.data() || p != bytes.data() + bytes.size() || q < 0) return std::nullopt;
  return q;
}

std::string encode_fork_ready(long spare) { return spare >= 0 ? "ready spare " + std::to_string(spare) : "ready"; }

}  // namespace weft::wire
