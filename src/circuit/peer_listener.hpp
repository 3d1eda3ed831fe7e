// src/circuit/peer_listener.hpp: where this process takes peer links: a
// Unix socket at peer_address(self_id()) (identity.hpp), mode 0600 in the
// user's 0700 runtime directory, with the cluster key's challenge when
// WEFT_KEY_FILE names one (peer_link.hpp). WEFT_PEER_LISTEN may name
// another address, "unix:/path" or "tcp:host:port" (port 0: a free one):
// that address, as bound, is then the owner address of this process's
// xrefs; a TCP address beyond loopback requires a cluster key (as weftd's).
// When this process's peer links are TLS (identity.hpp, peers_use_tls) the
// listener requires TLS with the cluster key, whatever the address says,
// and its address says "tls:". Started lazily by ref,
// perm_ref and listen (a process that only calls others need not listen),
// and by a worker at its start. Closed, and its socket file removed, when
// the weft::run ends (peers.hpp).
#pragma once

namespace weft::circuit::detail {

// Idempotent within a run. Throws std::system_error if the socket cannot
// be made, std::runtime_error for an unusable WEFT_KEY_FILE.
// REQUIRES: inside weft::run.
void start_peer_listener();

}  // namespace weft::circuit::detail
