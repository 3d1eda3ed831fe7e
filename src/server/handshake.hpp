// src/server/handshake.hpp: the server's answer to a client's first frame
// (docs/protocol.md, "Handshake").
//
// A pure function of the frame and what the server is, so that every way a
// Hello can be wrong is tested without a socket: a first frame that is not
// a Hello with the magic is not a weft client (PROTOCOL); another major
// version is refused naming both (VERSION); a capability the server lacks
// is refused naming it (REFUSED). Minor versions talk to each other.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "server/client.hpp"

namespace weft::server {

constexpr std::uint32_t protocol_major = 1;
constexpr std::uint32_t protocol_minor = 0;
constexpr std::string_view protocol_magic = "weft-runtime";

struct identity {
  std::string name = "weftd";  // Welcome.server
  std::vector<std::string> capabilities{"chan",    "var",     "control",        "os",
                                        "circuit", "migrate", "exit_after_done"};  // what this server offers
  std::uint32_t max_frame = wire::default_max_frame;
};

// Welcome (with process_id) if the first frame is an acceptable Hello, else
// the Error to send before closing. Both with id 0.
wire::frame answer_hello(const wire::frame& first, const identity& self, std::uint64_t process_id);

// "stub pid 4242 on host, /usr/bin/prog" or "tool": who a Hello says the
// client is, for logs. Bounded: a client's strings are cut.
std::string describe_hello(const v1::Hello& h);

}  // namespace weft::server
