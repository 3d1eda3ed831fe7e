// tools/conformance/key_checks.cpp: the cluster key's challenge-response
// (docs/protocol.md, "Handshake", step 3), against a server started with a
// key (and the suite given the same one, --key). Every other check already
// proves the right key is accepted; these check that nothing else is: a
// proof made with another key, a proof replayed from another connection,
// and a request sent instead of a proof are each refused (Error, id 0) and
// the connection closed. Against a server that sends no challenge they are
// skipped.
#include <string>

#include "conformance.hpp"
#include "wire/cluster_key.hpp"

namespace weft::conformance {

namespace {

// A connection that has sent Hello and got a Welcome with a challenge.
struct challenged {
  explicit challenged(suite& s) : c(s.cfg()) {
    v1::Frame r = c.hello(ops::tool_hello());
    require(r.has_welcome(), "Hello answered with " + describe(r) + ", not Welcome");
    if (r.welcome().challenge().empty()) throw skipped("the server sends no challenge (started without a key)");
    challenge = r.welcome().challenge();
  }
  client c;
  std::string challenge;
};

void send_proof(client& c, const std::string& mac) {
  v1::Frame f;
  f.mutable_auth_proof()->set_mac(mac);
  c.send(f);
}

void expect_unauthorized(client& c, const std::string& what) {
  v1::Frame r = c.expect(0, what);
  require(r.has_error() && r.error().code() == v1::Error::UNAUTHORIZED,
          what + ": answered " + describe(r) + ", want Error UNAUTHORIZED");
  c.expect_closed(what);
}

void fresh_challenges(suite& s) {
  challenged a(s), b(s);
  require(a.challenge.size() >= 16,
          "the challenge has " + std::to_string(a.challenge.size()) + " bytes; fewer than 16 can be guessed");
  require(a.challenge != b.challenge, "two connections got the same challenge: a recorded proof would work again");
}

void wrong_key(suite& s) {
  s.bystander();
  challenged a(s);
  send_proof(a.c, wire::auth_proof("weft-conformance: not the cluster key", a.challenge));
  expect_unauthorized(a.c, "an AuthProof made with another key");
  s.require_bystander_ok();
}

void replayed_proof(suite& s) {
  s.bystander();
  challenged a(s), b(s);
  require(!s.cfg().key.empty(), "the suite has no key (--key FILE) to make a proof with");
  send_proof(b.c, wire::auth_proof(s.cfg().key, a.challenge));
  expect_unauthorized(b.c, "an AuthProof for another connection's challenge");
  s.require_bystander_ok();
}

void request_instead_of_proof(suite& s) {
  s.bystander();
  challenged a(s);
  v1::Frame open;
  open.mutable_chan_open()->set_name(s.name("key.unproven"));
  open.mutable_chan_open()->set_signature("i64");
  a.c.request(open);
  v1::Frame r = a.c.expect(0, "a ChanOpen sent instead of AuthProof");
  require(r.has_error() && (r.error().code() == v1::Error::PROTOCOL || r.error().code() == v1::Error::UNAUTHORIZED),
          "a ChanOpen sent instead of AuthProof answered " + describe(r) + ", want Error PROTOCOL or UNAUTHORIZED");
  a.c.expect_closed("after a request sent instead of AuthProof");
  s.require_bystander_ok();
}

}  // namespace

std::vector<check> key_checks() {
  return {
      {"handshake.key.fresh-challenge-per-connection", true, fresh_challenges},
      {"handshake.key.wrong-key-refused", true, wrong_key},
      {"handshake.key.replayed-proof-refused", true, replayed_proof},
      {"handshake.key.request-instead-of-proof-refused", true, request_instead_of_proof},
  };
}

}  // namespace weft::conformance
