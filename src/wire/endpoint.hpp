// src/wire/endpoint.hpp: where a runtime server listens, written as users
// write it: "unix:/path" or "tcp:host:port" (WEFT_RUNTIME,
// options.runtime, weftd --listen).
#pragma once

#include <chrono>
#include <string>
#include <string_view>

#include <weft/net.hpp>

namespace weft::wire {

struct endpoint {
  std::string network;  // "unix" or "tcp"
  std::string address;  // a path, or host:port
  std::string text() const { return network + ":" + address; }
};

// Parses "unix:/path" or "tcp:host:port". Throws std::invalid_argument
// naming the forms it accepts.
endpoint parse_endpoint(std::string_view s);

// This user's directory of weft files on this host: $XDG_RUNTIME_DIR/weft,
// else /tmp/weft-<uid> (not made here).
std::string user_runtime_dir();
// The same for a process whose XDG_RUNTIME_DIR is xdg (null: unset).
std::string user_runtime_dir(const char* xdg);

// The default Unix socket of this user's weftd:
// $XDG_RUNTIME_DIR/weft/weftd.sock, else /tmp/weft-<uid>/weftd.sock.
endpoint default_endpoint();

// Connects; throws std::system_error (refused, no such file, timed out).
net::conn dial(const endpoint& e, std::chrono::nanoseconds timeout);
// Listens; a Unix socket is created with mode 0600 (its directory 0700 if
// weft makes it), replacing a stale socket file nobody answers on.
net::listener listen(const endpoint& e);

}  // namespace weft::wire
