// fuzz/ui_http_fuzz.cpp: weft ui's request parser (tools/weft/ui_http.cpp)
// on arbitrary bytes, as serve_one reads them: lines split at "\n" (a "\r"
// before it dropped), the head ending at the first empty line. Any local
// program, or any page the browser opens, can send them. No crash, no
// sanitizer report, and:
//   - a refusal is 400, 501 or 505 and comes with no request;
//   - a request is GET or POST, its path starts with '/', and its header
//     names are lower case;
//   - route() answers 403 exactly when check_request refuses (a foreign
//     Host, no token or a wrong one), else the handler's 200, 404 or 405;
//   - serialize() ends the head with one empty line, the body after it.
#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "ui_http.hpp"

namespace {

namespace http = weft::tool::http;

std::map<std::string, http::route_entry> routes() {
  std::map<std::string, http::route_entry> r;
  auto echo = [](const http::request& q) {
    auto t = q.query.find("target");
    return http::response{200, "application/json", t == q.query.end() ? "" : t->second, {}};
  };
  for (const char* path : {"/", "/api/workers", "/api/vitals", "/api/goroutines", "/api/stack"})
    r[path] = {"GET", echo};
  r["/api/kill"] = {"POST", echo};
  r["/api/trace"] = {"POST", echo};
  return r;
}

void check_serialized(const http::response& out) {
  const std::string bytes = http::serialize(out);
  const std::size_t end = bytes.find("\r\n\r\n");
  if (end == std::string::npos) __builtin_trap();
  if (bytes.compare(end + 4, std::string::npos, out.body) != 0) __builtin_trap();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const std::map<std::string, http::route_entry> served = routes();
  static const http::guard guard{4242, "0123456789abcdef0123456789abcdef"};  // the seeds carry it
  const std::string in(reinterpret_cast<const char*>(data), size);
  std::vector<std::string> lines;
  std::size_t at = 0;
  while (at < in.size()) {
    std::size_t nl = in.find('\n', at);
    std::string line = in.substr(at, nl == std::string::npos ? std::string::npos : nl - at);
    if (nl != std::string::npos && !line.empty() && line.back() == '\r') line.pop_back();
    at = nl == std::string::npos ? in.size() : nl + 1;
    if (line.empty() && !lines.empty()) break;  // the end of the head
    lines.push_back(std::move(line));
  }
  if (lines.empty()) return 0;
  const std::vector<std::string> headers(lines.begin() + 1, lines.end());
  http::parsed p = http::parse_head(lines[0], headers);
  if (!p.req) {
    const int s = p.refusal.status;
    if (s != 400 && s != 501 && s != 505) __builtin_trap();
    check_serialized(p.refusal);
    return 0;
  }
  const http::request& r = *p.req;
  if (r.method != "GET" && r.method != "POST") __builtin_trap();
  if (r.path.empty() || r.path[0] != '/') __builtin_trap();
  for (const auto& [name, value] : r.headers) {
    for (char c : name)
      if (c >= 'A' && c <= 'Z') __builtin_trap();
  }
  (void)http::body_length(r, 1 << 20);
  const bool refused = http::check_request(r, guard).has_value();
  const http::response out = http::route(r, guard, served);
  if (refused != (out.status == 403)) __builtin_trap();
  if (!refused && out.status != 200 && out.status != 404 && out.status != 405) __builtin_trap();
  check_serialized(out);
  (void)http::url_decode(in);
  return 0;
}
