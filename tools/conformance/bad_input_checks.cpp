// tools/conformance/bad_input_checks.cpp: what a server does with a client
// that breaks the protocol (docs/protocol.md, "Transport and framing",
// "Handshake", "Errors"): it answers that client with the right Error (id
// 0) and closes its connection, and every other client goes on as if
// nothing happened. Each check ends by asking the bystander, a connection
// opened before it, for a Ping and a channel operation.
#include <cstdint>
#include <initializer_list>
#include <string>

#include "conformance.hpp"
#include "wire/frame.hpp"

namespace weft::conformance {

namespace {

std::string length_header(std::uint32_t n) {
  std::string h(4, '\0');
  for (int i = 0; i < 4; ++i) h[static_cast<std::size_t>(i)] = static_cast<char>(n >> (24 - 8 * i));
  return h;
}

// The connection-level Error must be one of codes, then the server must close.
v1::Error expect_refusal(client& c, std::initializer_list<v1::Error::Code> codes, const std::string& what) {
  v1::Frame r = c.expect(0, what);
  bool ok = false;
  std::string want;
  for (v1::Error::Code code : codes) {
    ok = ok || (r.has_error() && r.error().code() == code);
    want += (want.empty() ? "Error " : " or ") + v1::Error::Code_Name(code);
  }
  require(ok, what + ": answered " + describe(r) + ", want " + want);
  c.expect_closed(what);
  return r.error();
}

void not_weft(suite& s) {
  s.bystander();
  client c(s.cfg());
  c.write_raw("GET / HTTP/1.1\r\nHost: weft\r\n\r\n");
  expect_refusal(c, {v1::Error::PROTOCOL}, "a client that speaks HTTP");
  s.require_bystander_ok();
}

void unparsable(suite& s) {
  s.bystander();
  std::unique_ptr<client> c = s.connect();
  const std::string payload = {'\x12', '\x10', 'a', 'b'};  // Hello, 16 bytes long, with 2 there
  c->write_raw(length_header(static_cast<std::uint32_t>(payload.size())) + payload);
  expect_refusal(*c, {v1::Error::PROTOCOL}, "a frame that is not a Frame");
  s.require_bystander_ok();
}

void oversized(suite& s) {
  s.bystander();
  std::unique_ptr<client> c = s.connect();
  std::uint32_t limit = c->welcome().max_frame() ? c->welcome().max_frame() : wire::default_max_frame;
  c->write_raw(length_header(limit + 1) + std::string(16, 'x'));
  // docs/protocol.md: above the limit is PROTOCOL; its table of errors also
  // names TOO_LARGE for a frame above the limit.
  expect_refusal(*c, {v1::Error::PROTOCOL, v1::Error::TOO_LARGE}, "a frame above max_frame");
  s.require_bystander_ok();
}

void zero_length(suite& s) {
  s.bystander();
  std::unique_ptr<client> c = s.connect();
  c->write_raw(length_header(0));
  expect_refusal(*c, {v1::Error::PROTOCOL}, "a frame of length 0");
  s.require_bystander_ok();
}

void truncated(suite& s) {
  s.bystander();
  std::unique_ptr<client> c = s.connect();
  c->write_raw(length_header(100) + std::string(10, '\0'));
  c->close();  // in the middle of a frame
  s.require_bystander_ok();
}

void wrong_magic(suite& s) {
  s.bystander();
  client c(s.cfg());
  v1::Hello h = ops::tool_hello();
  h.set_magic("not-weft");
  v1::Frame f;
  *f.mutable_hello() = h;
  c.send(f);
  expect_refusal(c, {v1::Error::PROTOCOL}, "a Hello with the wrong magic");
  s.require_bystander_ok();
}

void not_hello(suite& s) {
  s.bystander();
  client c(s.cfg());
  v1::Frame f;
  f.set_id(1);
  f.mutable_chan_stat()->set_handle(1);
  c.send(f);
  expect_refusal(c, {v1::Error::PROTOCOL}, "a first frame that is not Hello");
  s.require_bystander_ok();
}

void wrong_major(suite& s) {
  const v1::Version& server = s.bystander().welcome().version();
  client c(s.cfg());
  v1::Hello h = ops::tool_hello(server.major() + 1, 3);
  v1::Frame f;
  *f.mutable_hello() = h;
  c.send(f);
  v1::Error e = expect_refusal(c, {v1::Error::VERSION}, "a Hello of another major version");
  std::string ours = std::to_string(server.major() + 1) + ".3";
  std::string theirs = std::to_string(server.major()) + "." + std::to_string(server.minor());
  require(e.message().find(ours) != std::string::npos && e.message().find(theirs) != std::string::npos,
          "the VERSION message does not name both versions (" + theirs + " and " + ours + "): \"" + e.message() + "\"");
  s.require_bystander_ok();
}

}  // namespace

std::vector<check> bad_input_checks() {
  return {
      {"bad-input.not-weft", false, not_weft},
      {"bad-input.unparsable-frame", false, unparsable},
      {"bad-input.oversized-frame", false, oversized},
      {"bad-input.zero-length-frame", false, zero_length},
      {"bad-input.truncated-frame", false, truncated},
      {"bad-input.wrong-magic", false, wrong_magic},
      {"bad-input.first-frame-not-hello", false, not_hello},
      {"bad-input.wrong-major-version", false, wrong_major},
  };
}

}  // namespace weft::conformance
