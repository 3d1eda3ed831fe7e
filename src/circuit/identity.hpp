// src/circuit/identity.hpp: who this process is in the circuit, and where
// circuit files live on this host.
//
// Every circuit process has an id, "R" + 16 hex digits (DESIGN.md,
// "Workers"; made and checked by wire/worker_id.hpp). A worker is given its id by the weftd that starts it (in
// WEFT_WORKER, with the token that proves it to that weftd); any other
// process makes one up at its first circuit call. Ids are random (64 bits
// from the system's generator): unique without asking anyone, across
// hosts too.
//
// A process's peer address (where other workers dial it for xref calls)
// follows from its id on one host: unix:<runtime dir>/peer/<id>.sock, or
// tls:unix:<runtime dir>/peer/<id>.sock when its peer links are TLS
// (peers_use_tls: a worker of a TLS weftd, which gives it a "tls:"
// WEFT_RUNTIME and publishes that address for it).
#pragma once

#include <optional>
#include <string>

namespace weft::circuit::detail {

// The environment variable a weftd hands a worker: "ID.TOKEN" (the token:
// 32 hex digits the worker proves itself with).
inline constexpr const char* worker_env = "WEFT_WORKER";
struct worker_ticket {
  std::string id;
  std::string token;
};
// This process's ticket, if a weftd started it as a worker. Throws
// std::invalid_argument for a WEFT_WORKER that is not "ID.TOKEN".
std::optional<worker_ticket> worker_ticket_from_env();

// This process's id: its ticket's, else one made once per process.
const std::string& self_id();

// The directory of this user's weft files on this host:
// $XDG_RUNTIME_DIR/weft, else /tmp/weft-<uid> (beside weftd.sock); made
// (0700) if missing.
std::string runtime_dir();
// Where the process `id` on this host listens for peers: a socket in this
// user's scratch directory (wire::user_scratch_dir, made 0700 on first use).
std::string peer_address(const std::string& id);
// Whether this process's peer links are TLS (wire/tls.hpp): WEFT_TLS=1, or
// its runtime server is reached over TLS (the attached stub's address, else
// WEFT_RUNTIME). A circuit is TLS throughout or not at all.
bool peers_use_tls();

}  // namespace weft::circuit::detail
