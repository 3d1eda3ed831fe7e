// tools/weft/ui_http.hpp: the small HTTP/1.1 server under `weft ui`
// (ui_cmd.cpp), on weft::net. One request per connection (the reply says
// Connection: close), GET and POST only, the request's body read and
// ignored (every parameter is in the query). It is not a general server:
// it serves one page and its JSON to one browser on this machine.
//
// Security, because any web page the user opens can make the browser send
// requests to 127.0.0.1:
//   - it listens on 127.0.0.1 only (ui_cmd.cpp);
//   - a request whose Host header is not 127.0.0.1:PORT or localhost:PORT
//     is refused (403): a DNS-rebinding page reaches the port under its own
//     host name, and is stopped here;
//   - every path needs the token printed with the URL (?token=..., as
//     Jupyter's): another page cannot read the page to learn it (the same-
//     origin rule), so it cannot kill or trace either. Compared in constant
//     time.
// check_request applies these; route() applies them, then finds the
// handler: unknown path 404, a known path with another method 405.
// Both take no socket, so tests call them directly.
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <weft/net.hpp>

namespace weft::tool::http {

struct request {
  std::string method;  // "GET", "POST", as sent
  std::string path;  // "/api/stack", without the query
  std::map<std::string, std::string> query;  // decoded; a repeated key keeps its last value
  std::map<std::string, std::string> headers;  // names lower-cased
};

struct response {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;  // more header lines (Allow, Content-Disposition)
};

// A response whose body is {"error": why} (JSON, so the page shows it).
response error(int status, const std::string& why);

// What a request must carry to be served.
struct guard {
  int port = 0;  // the port listened on: Host must name it
  std::string token;
};

// nullopt when the request passes the Host and token checks; else the
// refusal to send.
std::optional<response> check_request(const request& r, const guard& g);

using handler = std::function<response(const request&)>;
struct route_entry {
  std::string method;  // the one method this path answers
  handler serve;
};
// check_request, then the route for r.path: its handler's response, 404
// for a path with none, 405 (with Allow) for another method.
response route(const request& r, const guard& g, const std::map<std::string, route_entry>& routes);

// Parses the request line and header lines (each without its CRLF). A
// malformed request gives the response to refuse it with: 400, 501 for a
// method other than GET and POST (or a request body sent chunked), 505
// for a version other than HTTP/1.0 or 1.1.
struct parsed {
  std::optional<request> req;
  response refusal;  // when !req
};
parsed parse_head(const std::string& request_line, const std::vector<std::string>& header_lines);

// The length of the request's body (0 without Content-Length), or
// nullopt when its Content-Length is not a number or is over max (the
// request is refused with 413).
std::optional<std::size_t> body_length(const request& r, std::size_t max);

// "%41b+c" -> "Ab c". Malformed escapes stay as they are.
std::string url_decode(const std::string& s);

// The bytes of a response, status line to body.
std::string serialize(const response& r);

// Serves the connections of l until it is closed: each in a goroutine of
// its own, which reads one request (at most 64 KiB of head, 10 s to send
// it; the connection is not read past 128 KiB of head and 1 MiB of body,
// so a line that never ends is cut there), answers it through route() and
// closes the connection. Returns once
// the listener is closed and every connection's goroutine has ended.
void serve(weft::net::listener& l, const guard& g, const std::map<std::string, route_entry>& routes);

}  // namespace weft::tool::http
