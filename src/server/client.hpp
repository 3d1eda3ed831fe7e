// src/server/client.hpp: a connected client as the hosts see it, and the
// replies they build.
//
// The hosts (chan_host, var_host) are state machines: a request goes in,
// frames come out, posted to the client they are for. A client here is
// only where those frames go, so the hosts are unit-tested with a recorder
// in place of a socket (tests/server/). In weftd a client is a session,
// whose post() queues the frame on its link (wire::link::send never
// parks): a host posts while it holds its object's lock, and that is why
// post must not park, re-enter a host, or throw.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "weft/runtime/v1/runtime.pb.h"
#include "wire/frame.hpp"

namespace weft::server {

namespace v1 = weft::runtime::v1;

class client {
 public:
  // Queues f for this client. Never parks, never throws, never calls into a
  // host. A client that is gone drops it (its disconnect cleanup runs next).
  virtual void post(const wire::frame& f) noexcept = 0;
  // Bytes posted to this client and not yet written to it (0 when not
  // known): a stream of replies (an anchor watch) ends when this says the
  // client stopped reading, before the link's own limit ends the client.
  virtual std::size_t backlog() const noexcept { return 0; }
  // Bytes read from and written to this client so far (0 when not known):
  // the traffic `weft migrate --to auto` weighs (migrate_auto.hpp).
  virtual std::uint64_t bytes_exchanged() const noexcept { return 0; }

 protected:
  ~client() = default;
};

// Reply builders: each returns the frame with the request's id.
wire::frame error_frame(std::uint64_t id, v1::Error::Code code, std::string message);
wire::frame done_frame(std::uint64_t id, v1::ChanDone::Status status, std::string value = {});
wire::frame offer_frame(std::uint64_t id, std::string value);
wire::frame ok_frame(std::uint64_t id);

// The protocol's names for codes and modes, for messages and logs.
const char* code_name(v1::Error::Code c) noexcept;
const char* mode_name(v1::Mode m) noexcept;

}  // namespace weft::server
