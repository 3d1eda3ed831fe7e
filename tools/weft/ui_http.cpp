// tools/weft/ui_http.cpp: weft ui's HTTP/1.1 server (design in
// ui_http.hpp).
#include "ui_http.hpp"

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdio>
#include <exception>
#include <memory>
#include <span>

#include <weft/go.hpp>
#include <weft/net_io.hpp>
#include <weft/wait_group.hpp>

#include "wire/json.hpp"

namespace weft::tool::http {

namespace {

constexpr std::size_t max_head = 64 << 10;  // request line and headers
constexpr std::size_t max_body = 1 << 20;  // read and dropped
constexpr auto read_time = std::chrono::seconds(10);

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::string trim(const std::string& s) {
  std::size_t b = s.find_first_not_of(" \t");
  if (b == std::string::npos) return "";
  std::size_t e = s.find_last_not_of(" \t");
  return s.substr(b, e - b + 1);
}

// Whether a and b are equal, in time that depends on their lengths only.
bool same_secret(const std::string& a, const std::string& b) {
  if (a.size() != b.size()) return false;
  unsigned char diff = 0;
  for (std::size_t i = 0; i < a.size(); ++i) diff |= static_cast<unsigned char>(a[i] ^ b[i]);
  return diff == 0;
}

const char* reason(int status) {
  switch (status) {
    case 200: return "OK";
    case 400: return "Bad Request";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 413: return "Content Too Large";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 502: return "Bad Gateway";
    case 505: return "HTTP Version Not Supported";
    default: return "Status";
  }
}

int hex(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// What serve_one reads through: the connection, ended after `left` bytes.
// reader::read_line reads a line of any length, and the head's limit is
// checked between lines, so a line that never ends grew the buffer for
// the whole 10 s. A head within its limit has at most as many CRLF bytes
// as other bytes, hence twice max_head, then the body.
struct capped {
  weft::net::conn& c;
  std::size_t left;
  std::size_t read(std::span<std::byte> buf) {
    if (left == 0) return 0;
    std::size_t n = c.read(buf.first(std::min(buf.size(), left)));
    left -= n;
    return n;
  }
};

// Reads one request's head and body from c, answers it and returns.
void serve_one(weft::net::conn& c, const guard& g, const std::map<std::string, route_entry>& routes) {
  c.set_read_deadline(std::chrono::steady_clock::now() + read_time);
  capped src{c, 2 * max_head + max_body};
  weft::net::reader in(src);
  response out;
  try {
    std::size_t head = 0;
    std::optional<std::string> first = in.read_line();
    if (!first) return;  // closed without a request
    head += first->size();
    std::vector<std::string> lines;
    for (;;) {
      std::optional<std::string> line = in.read_line();
      if (!line) return;  // ended inside the head: nobody to answer
      if (line->empty()) break;
      head += line->size();
      if (head > max_head) {
        c.write(serialize(error(431, "the request's head is over 64 KiB")));
        return;
      }
      lines.push_back(std::move(*line));
    }
    parsed p = parse_head(*first, lines);
    if (!p.req) {
      c.write(serialize(p.refusal));
      return;
    }
    // The body is not used; it is read so that closing the connection
    // does not reset it under a reply the browser has not read yet.
    std::optional<std::size_t> n = body_length(*p.req, max_body);
    if (!n) {
      c.write(serialize(error(413, "the request's body is over 1 MiB, or its Content-Length is not a number")));
      return;
    }
    if (*n > 0) {
      std::string body(*n, '\0');
      in.read_full(std::span<std::byte>(reinterpret_cast<std::byte*>(body.data()), body.size()));
    }
    c.set_read_deadline({});
    out = route(*p.req, g, routes);
  } catch (const std::system_error&) {
    return;  // the browser went (unexpected_eof_error too), or was too slow: nobody to answer
  } catch (const std::exception& e) {
    out = error(500, e.what());
  }
  c.write(serialize(out));
}

}  // namespace

response error(int status, const std::string& why) {
  return {status, "application/json", "{\"error\":" + wire::json_string(why) + "}\n", {}};
}

std::optional<std::size_t> body_length(const request& r, std::size_t max) {
  auto length = r.headers.find("content-length");
  if (length == r.headers.end()) return 0;
  char* end = nullptr;
  unsigned long long n = std::strtoull(length->second.c_str(), &end, 10);
  if (length->second.empty() || *end != '\0' || n > max) return std::nullopt;
  return static_cast<std::size_t>(n);
}

std::string url_decode(const std::string& s) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '+') {
      out += ' ';
    } else if (s[i] == '%' && i + 2 < s.size() && hex(s[i + 1]) >= 0 && hex(s[i + 2]) >= 0) {
      out += static_cast<char>(hex(s[i + 1]) * 16 + hex(s[i + 2]));
      i += 2;
    } else {
      out += s[i];
    }
  }
  return out;
}

parsed parse_head(const std::string& request_line, const std::vector<std::string>& header_lines) {
  parsed p;
  std::size_t sp1 = request_line.find(' ');
  std::size_t sp2 = sp1 == std::string::npos ? std::string::npos : request_line.find(' ', sp1 + 1);
  if (sp2 == std::string::npos || request_line.find(' ', sp2 + 1) != std::string::npos) {
    p.refusal = error(400, "the request line is not METHOD TARGET HTTP/1.1");
    return p;
  }
  request r;
  r.method = request_line.substr(0, sp1);
  const std::string target = request_line.substr(sp1 + 1, sp2 - sp1 - 1);
  const std::string version = request_line.substr(sp2 + 1);
  if (version != "HTTP/1.1" && version != "HTTP/1.0") {
    p.refusal = error(505, "weft ui speaks HTTP/1.1 (and 1.0), not " + version);
    return p;
  }
  if (r.method != "GET" && r.method != "POST") {
    p.refusal = error(501, "weft ui answers GET and POST only, not " + r.method);
    p.refusal.headers.push_back({"Allow", "GET, POST"});
    return p;
  }
  if (target.empty() || target[0] != '/') {
    p.refusal = error(400, "the request target must be a path (/...), not " + target);
    return p;
  }
  std::size_t q = target.find('?');
  r.path = url_decode(target.substr(0, q));
  if (q != std::string::npos) {
    std::string rest = target.substr(q + 1);
    std::size_t at = 0;
    while (at <= rest.size()) {
      std::size_t amp = rest.find('&', at);
      if (amp == std::string::npos) amp = rest.size();
      std::string pair = rest.substr(at, amp - at);
      if (!pair.empty()) {
        std::size_t eq = pair.find('=');
        r.query[url_decode(pair.substr(0, eq))] = eq == std::string::npos ? "" : url_decode(pair.substr(eq + 1));
      }
      at = amp + 1;
    }
  }
  for (const std::string& line : header_lines) {
    std::size_t colon = line.find(':');
    if (colon == std::string::npos || colon == 0 || line[0] == ' ' || line[0] == '\t') {
      p.refusal = error(400, "a header line is not NAME: VALUE");
      return p;
    }
    const std::string name = lower(line.substr(0, colon));
    if (r.headers.count(name) && (name == "host" || name == "content-length")) {
      p.refusal = error(400, "the request has two " + name + " headers");
      return p;
    }
    r.headers[name] = trim(line.substr(colon + 1));
  }
  if (r.headers.count("transfer-encoding")) {
    p.refusal = error(501, "weft ui reads no chunked request bodies: send Content-Length");
    return p;
  }
  p.req = std::move(r);
  return p;
}

std::optional<response> check_request(const request& r, const guard& g) {
  auto host = r.headers.find("host");
  const std::string port = std::to_string(g.port);
  if (host == r.headers.end() || (host->second != "127.0.0.1:" + port && host->second != "localhost:" + port))
    return error(403, "weft ui answers requests for 127.0.0.1:" + port + " or localhost:" + port +
                          " only (Host header: " + (host == r.headers.end() ? std::string("none") : host->second) +
                          ")");
  auto token = r.query.find("token");
  if (token == r.query.end() || !same_secret(token->second, g.token))
    return error(403, "this request needs the token weft ui printed with its URL (?token=...): open that URL");
  return std::nullopt;
}

response route(const request& r, const guard& g, const std::map<std::string, route_entry>& routes) {
  if (std::optional<response> refused = check_request(r, g)) return *refused;
  auto it = routes.find(r.path);
  if (it == routes.end()) return error(404, "weft ui has nothing at " + r.path);
  if (it->second.method != r.method) {
    response no = error(405, r.path + " answers " + it->second.method + " only");
    no.headers.push_back({"Allow", it->second.method});
    return no;
  }
  return it->second.serve(r);
}

std::string serialize(const response& r) {
  std::string out = "HTTP/1.1 " + std::to_string(r.status) + " " + reason(r.status) + "\r\n";
  out += "Content-Type: " + r.content_type + "\r\n";
  out += "Content-Length: " + std::to_string(r.body.size()) + "\r\n";
  out += "Connection: close\r\nCache-Control: no-store\r\nX-Content-Type-Options: nosniff\r\n";
  // No other site may frame the page (a click on its kill button through a
  // frame of another page).
  out += "X-Frame-Options: DENY\r\nContent-Security-Policy: frame-ancestors 'none'\r\n";
  for (const auto& [name, value] : r.headers) out += name + ": " + value + "\r\n";
  out += "\r\n";
  out += r.body;
  return out;
}

void serve(weft::net::listener& l, const guard& g, const std::map<std::string, route_entry>& routes) {
  weft::wait_group conns;
  for (;;) {
    weft::net::conn c;
    try {
      c = l.accept();
    } catch (const std::system_error&) {
      break;  // closed: weft ui is ending
    }
    conns.add(1);
    // 256 KiB: a handler parses protobuf replies and builds JSON on it.
    weft::go(
        weft::go_options{.stack_size = 256 << 10, .name = "weft ui connection"},
        [&g, &routes, &conns](weft::net::conn conn) {
          try {
            serve_one(conn, g, routes);
          } catch (const std::exception&) {}  // the reply could not be written: the browser went
          conn.close();
          conns.done();
        },
        std::move(c));
  }
  conns.wait();
}

}  // namespace weft::tool::http
