// tests/tools/ui_http_test.cpp: weft ui's HTTP server, mostly without a socket
// (tools/weft/ui_http.cpp compiled in): the request parser's refusals,
// and route()'s: a foreign Host (DNS rebinding), a missing or wrong token,
// an unknown path, a known path with another method; and that a request
// that passes reaches its handler with its query decoded. One test serves
// a socket: a request line that never ends is cut at the limits.
#include <gtest/gtest.h>

#include <system_error>

#include <weft/go.hpp>
#include <weft/net.hpp>
#include <weft/run.hpp>
#include <weft/wait_group.hpp>

#include "ui_http.hpp"
#include "weft_test_util.hpp"

namespace {

namespace http = weft::tool::http;

const http::guard guard{4242, "0123456789abcdef0123456789abcdef"};

std::map<std::string, http::route_entry> routes() {
  std::map<std::string, http::route_entry> r;
  r["/api/echo"] = {"GET", [](const http::request& q) {
                      auto t = q.query.find("target");
                      return http::response{200, "text/plain", t == q.query.end() ? "" : t->second, {}};
                    }};
  r["/api/kill"] = {"POST", [](const http::request&) { return http::response{200, "text/plain", "killed", {}}; }};
  return r;
}

http::request parse(const std::string& line, std::vector<std::string> headers = {"Host: 127.0.0.1:4242"}) {
  http::parsed p = http::parse_head(line, headers);
  EXPECT_TRUE(p.req.has_value()) << line << ": " << p.refusal.body;
  return p.req.value_or(http::request{});
}

TEST(UiHttp, ARequestWithHostAndTokenReachesItsHandlerDecoded) {
  http::request r = parse("GET /api/echo?token=" + guard.token + "&target=%2Fdb%2Fshard+x HTTP/1.1");
  http::response out = http::route(r, guard, routes());
  EXPECT_EQ(out.status, 200);
  EXPECT_EQ(out.body, "/db/shard x");
  http::request local = parse("GET /api/echo?token=" + guard.token + " HTTP/1.1", {"host: localhost:4242"});
  EXPECT_EQ(http::route(local, guard, routes()).status, 200) << "localhost:PORT, header names in any case";
}

TEST(UiHttp, AForeignHostIsRefused) {
  for (const char* host : {"Host: attacker.example:4242", "Host: 127.0.0.1:80", "Host: 127.0.0.1",
                                  "Host: localhost:42420"}) {
    http::request r = parse("GET /api/echo?token=" + guard.token + " HTTP/1.1", {host});
    http::response out = http::route(r, guard, routes());
    EXPECT_EQ(out.status, 403) << host;
    EXPECT_NE(out.body.find("127.0.0.1:4242 or localhost:4242 only"), std::string::npos) << out.body;
  }
  http::request none = parse("GET /api/echo?token=" + guard.token + " HTTP/1.1", {});
  EXPECT_EQ(http::route(none, guard, routes()).status, 403) << "no Host at all";
}

TEST(UiHttp, AMissingOrWrongTokenIsRefused) {
  for (const std::string& line : {std::string("POST /api/kill HTTP/1.1"), std::string("POST /api/kill?token= HTTP/1.1"),
                                  "POST /api/kill?token=" + guard.token.substr(1) + "0 HTTP/1.1",
                                  "POST /api/kill?token=" + guard.token + "0 HTTP/1.1", std::string("GET / HTTP/1.1")}) {
    http::response out = http::route(parse(line), guard, routes());
    EXPECT_EQ(out.status, 403) << line;
    EXPECT_NE(out.body.find("needs the token"), std::string::npos) << out.body;
  }
}

TEST(UiHttp, AnUnknownPathIs404AndAnotherMethod405) {
  http::response unknown = http::route(parse("GET /etc/passwd?token=" + guard.token + " HTTP/1.1"), guard, routes());
  EXPECT_EQ(unknown.status, 404);
  EXPECT_NE(unknown.body.find("nothing at /etc/passwd"), std::string::npos) << unknown.body;
  http::response get_kill = http::route(parse("GET /api/kill?token=" + guard.token + " HTTP/1.1"), guard, routes());
  EXPECT_EQ(get_kill.status, 405);
  ASSERT_EQ(get_kill.headers.size(), 1u);
  EXPECT_EQ(get_kill.headers[0].first, "Allow");
  EXPECT_EQ(get_kill.headers[0].second, "POST");
}

TEST(UiHttp, MalformedRequestsAreRefusedWithTheirStatus) {
  struct refusal {
    std::string line;
    std::vector<std::string> headers;
    int status;
  };
  const std::vector<refusal> cases = {
      {"DELETE /api/kill HTTP/1.1", {}, 501},
      {"GET /api/echo HTTP/2.0", {}, 505},
      {"GET /api/echo", {}, 400},
      {"GET  /api/echo HTTP/1.1", {}, 400},
      {"GET http://evil/ HTTP/1.1", {}, 400},
      {"GET / HTTP/1.1", {"no colon here"}, 400},
      {"GET / HTTP/1.1", {"Host: 127.0.0.1:4242", "Host: evil:4242"}, 400},
      {"POST /api/kill HTTP/1.1", {"Transfer-Encoding: chunked"}, 501},
  };
  for (const refusal& c : cases) {
    http::parsed p = http::parse_head(c.line, c.headers);
    EXPECT_FALSE(p.req.has_value()) << c.line;
    EXPECT_EQ(p.refusal.status, c.status) << c.line << ": " << p.refusal.body;
    EXPECT_EQ(p.refusal.body.rfind("{\"error\":\"", 0), 0u) << p.refusal.body;
  }
}

TEST(UiHttp, ResponsesCloseTheConnectionAndForbidFraming) {
  std::string out = http::serialize(http::error(404, "weft ui has nothing at /x"));
  EXPECT_EQ(out.rfind("HTTP/1.1 404 Not Found\r\n", 0), 0u) << out;
  EXPECT_NE(out.find("\r\nConnection: close\r\n"), std::string::npos) << out;
  EXPECT_NE(out.find("\r\nX-Frame-Options: DENY\r\n"), std::string::npos) << out;
  const std::string body = "{\"error\":\"weft ui has nothing at /x\"}\n";
  EXPECT_NE(out.find("\r\nContent-Length: " + std::to_string(body.size()) + "\r\n"), std::string::npos) << out;
  EXPECT_EQ(out.substr(out.size() - body.size()), body);
}

TEST(UiHttp, TheBodyLengthIsContentLengthUpToTheLimit) {
  auto length = [](std::vector<std::string> headers) {
    headers.push_back("Host: 127.0.0.1:4242");
    return http::body_length(parse("POST /api/kill HTTP/1.1", headers), 1 << 20);
  };
  EXPECT_EQ(length({}), std::optional<std::size_t>(0)) << "no Content-Length: no body";
  EXPECT_EQ(length({"Content-Length: 0"}), std::optional<std::size_t>(0));
  EXPECT_EQ(length({"content-length:  12 "}), std::optional<std::size_t>(12));
  EXPECT_EQ(length({"Content-Length: 1048576"}), std::optional<std::size_t>(1 << 20));
  for (const char* bad : {"Content-Length: 1048577", "Content-Length: 12x", "Content-Length:", "Content-Length: 0x10",
                          "Content-Length: 99999999999999999999999", "Content-Length: -1"})
    EXPECT_FALSE(length({bad})) << bad;
}

// A request line that never ends: serve_one read it for its whole 10 s,
// its buffer growing by every byte sent (reader::read_line reads lines of
// any length). Now the connection is not read past the head's and body's
// limits, and closed: the sender cannot send 64 MiB.
TEST(UiHttp, ALineThatNeverEndsIsCutAtTheLimits) {
  weft_test::watchdog dog(std::chrono::seconds(60), "ui_http endless line");
  weft::run([] {
    weft::net::listener l = weft::net::listen("tcp", "127.0.0.1:0");
    const auto served = routes();
    weft::wait_group serving;
    serving.add(1);
    weft::go([&] {
      http::serve(l, guard, served);
      serving.done();
    });
    weft::net::conn c = weft::net::dial("tcp", l.address());
    const std::string chunk(64 << 10, 'A');
    constexpr std::size_t all = 64 << 20;
    std::size_t sent = 0;
    try {
      for (c.write(std::string_view("GET /")); sent < all; sent += chunk.size()) c.write(chunk);
    } catch (const std::system_error&) {}  // reset: the server stopped reading and closed
    EXPECT_LT(sent, all) << "the server read a 64 MiB request line";
    c.close();
    l.close();
    serving.wait();
  });
}

TEST(UiHttp, UrlDecodeKeepsMalformedEscapes) {
  EXPECT_EQ(http::url_decode("a%2Fb+c"), "a/b c");
  EXPECT_EQ(http::url_decode("100%"), "100%");
  EXPECT_EQ(http::url_decode("%zz%4"), "%zz%4");
}

}  // namespace
