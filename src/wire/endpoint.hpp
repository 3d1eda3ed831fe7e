// src/wire/endpoint.hpp: where a runtime server listens, written as users
// write it: "unix:/path" or "tcp:host:port" (WEFT_RUNTIME,
// options.runtime, weftd --listen), and the same over TLS: "tls:host:port"
// (TCP) or "tls:unix:/path" (wire/tls.hpp; docs/protocol.md, "Transport
// security").
#pragma once

#include <chrono>
#include <string>
#include <string_view>

#include <weft/net.hpp>

#include "wire/stream.hpp"

namespace weft::wire {

struct endpoint {
  std::string network;  // the transport: "unix" or "tcp"
  std::string address;  // a path, or host:port
  bool tls = false;  // TLS over the transport
  // As users write it: "unix:/p", "tcp:h:p", "tls:h:p", "tls:unix:/p".
  std::string text() const;
  // The same transport without TLS (for "use ... instead" messages).
  endpoint plain() const { return endpoint{network, address, false}; }
};

// Parses "unix:/path", "tcp:host:port", "tls:host:port" (also written
// "tls:tcp:host:port") or "tls:unix:/path". Throws std::invalid_argument
// naming the forms it accepts.
endpoint parse_endpoint(std::string_view s);

// Whether a client dialing e speaks TLS: e says so, or WEFT_TLS=1 asks it
// for every connection of this process (wire/tls.hpp, tls_from_env).
bool wants_tls(const endpoint& e);

// This user's directory of weft files on this host: $XDG_RUNTIME_DIR/weft,
// else /tmp/weft-<uid> (not made here).
std::string user_runtime_dir();
// The same for a process whose XDG_RUNTIME_DIR is xdg (null: unset).
std::string user_runtime_dir(const char* xdg);

// Where this user's files that live no longer than a weftd go: worker logs
// and peer sockets, a few made and removed per spawn. Always in memory when
// the host allows: $XDG_RUNTIME_DIR/weft when it is set (a tmpfs under
// systemd), else /dev/shm/weft-<uid> when /dev/shm is a tmpfs with 1 GiB
// free or more, else user_runtime_dir(). On a disk file system those files cost a spawn
// 0.4-0.8 ms here (ext4: inode allocation and the journal; spawn_process
// p50 2.5 -> 1.95 ms). Not made here: make_private_dir.
std::string user_scratch_dir();
std::string user_scratch_dir(const char* xdg);

// Makes `dir` (mode 0700) unless it exists, and checks that it is this
// user's own directory that nobody else can enter: a directory in a shared
// place (/tmp, /dev/shm) may have been made first by someone else. Throws
// std::system_error saying what is wrong with it and what to do.
void make_private_dir(const std::string& dir);

// The default Unix socket of this user's weftd:
// $XDG_RUNTIME_DIR/weft/weftd.sock, else /tmp/weft-<uid>/weftd.sock.
endpoint default_endpoint();

// Connects the transport alone (no TLS: for "does anyone listen?"
// probes); throws std::system_error (refused, no such file, timed out).
net::conn dial(const endpoint& e, std::chrono::nanoseconds timeout);
// Connects, and when wants_tls(e) shakes hands in TLS with `key` (the
// cluster key), all within timeout. Throws std::system_error when the
// transport fails or times out, remote_error{unauthorized} when TLS is
// wanted but key is empty or the peer holds another key,
// remote_error{refused} when the peer does not speak TLS (the message says
// which address to use), remote_error{protocol} for another TLS failure.
// REQUIRES: a goroutine.
stream connect(const endpoint& e, std::chrono::nanoseconds timeout, std::string_view key);
// Listens; a Unix socket is created with mode 0600 (its directory 0700 if
// weft makes it), replacing a stale socket file nobody answers on.
net::listener listen(const endpoint& e);

}  // namespace weft::wire
