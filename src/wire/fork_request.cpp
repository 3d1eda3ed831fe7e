// src/wire/fork_request.cpp: weftd <-> fork server messages (fork_request.hpp).
//
// Runs in a fork server before the binary's constructors: it touches no
// static object of weft's (they may not be constructed yet).
#include "wire/fork_request.hpp"

#include <algorithm>
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

std::optional<fork_request_view> decode_fork_request_view(std::string_view bytes, std::string& why) {
  if (bytes.empty() || bytes.size() > max_fork_request || bytes.back() != '\0') {
    why = "a fork request is NUL-terminated strings, at most " + std::to_string(max_fork_request) + " bytes";
    return std::nullopt;
  }
  fork_request_view r;
  std::size_t end = bytes.find('\0');
  r.cwd = bytes.substr(0, end);
  if (r.cwd.empty() || r.cwd.front() != '/') {
    why = "a fork request's working directory is an absolute path";
    return std::nullopt;
  }
  r.env = bytes.substr(end + 1);
  for (std::string_view rest = r.env; !rest.empty();) {
    std::size_t e = rest.find('\0');
    std::string_view entry = rest.substr(0, e);
    rest.remove_prefix(e + 1);
    if (entry.empty() || entry.front() == '=' || entry.find('=') == std::string_view::npos) {
      why = "a fork request's environment entries are NAME=VALUE";
      return std::nullopt;
    }
  }
  return r;
}

std::optional<fork_request> decode_fork_request(std::string_view bytes, std::string& why) {
  std::optional<fork_request_view> v = decode_fork_request_view(bytes, why);
  if (!v) return std::nullopt;
  fork_request r;
  r.cwd = v->cwd;
  v->for_each_env([&](const char* e) { r.env.emplace_back(e); });
  return r;
}

std::string_view encode_fork_answer(const fork_answer& a, std::span<char> room) {
  std::size_t n = 0;
  auto put = [&](std::string_view text) {
    std::size_t k = std::min(text.size(), room.size() - n);
    std::copy_n(text.data(), k, room.data() + n);
    n += k;
  };
  auto put_number = [&](long v) {
    char digits[24];
    auto [end, ec] = std::to_chars(digits, digits + sizeof digits, v);
    put(std::string_view(digits, ec == std::errc() ? static_cast<std::size_t>(end - digits) : 0));
  };
  if (a.pid > 0) {
    put("pid ");
    put_number(a.pid);
    if (a.took_connection) put(" conn");
    if (a.spare >= 0) {
      put(" spare ");
      put_number(a.spare);
    }
  } else {
    put("error ");
    put_number(a.error);
    put(" ");
    put(a.why);
  }
  return std::string_view(room.data(), n);
}

std::string encode_fork_answer(const fork_answer& a) {
  std::string out(a.why.size() + 64, '\0');
  out.resize(encode_fork_answer(a, std::span<char>(out)).size());
  return out;
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
