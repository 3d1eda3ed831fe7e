// src/circuit/peers.hpp: this run's peer links, one per pair of processes,
// and the cross-references' life inside one weft::run.
//
// The table maps a peer address to its link. peer_for dials once per
// address however many goroutines ask at once (the first dials, the
// others wait for it); a failed dial is forgotten (the next asks again).
// A link that died stays with the xrefs that used it: every request they
// make fails at once with remote_error{lost}; a new reference to that peer
// (weft::dial, an xref decoded) dials a new link, so a peer cut off and
// back (a partition that healed) is reachable again, and no request of
// the dead link is ever sent on the new one. A link the
// peer listener accepted serves the table too, unless this process had
// dialed that peer already (two processes that dial each other at the
// same moment keep both links; each side sends its own requests on the
// one in its table, and both links renew the other's lease).
//
// The run state starts at the first cross-reference call of a weft::run
// (ref, listen, dial, decoding an xref) and ends with it
// (circuit/run_end.hpp): the listener closes and its socket file goes,
// listened names are dropped (their references released), every link says
// Goodbye and closes, the exports sweeper stops, and every goroutine this
// machinery started (listener, readers, writers, heartbeats, sweeper) has
// returned before the exported objects are destroyed. Calls being served
// run the user's methods and are not waited for, like any goroutine alive
// when main returns.
//
// The sweeper runs every quarter lease: it expires the leases of holders
// whose links died and the pins of xrefs in transit (exports.hpp).
#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <string>

#include "circuit/exports.hpp"
#include "circuit/peer_link.hpp"

namespace weft::circuit::detail {

// Starts this run's machinery if not yet. REQUIRES: inside weft::run.
void ensure_xref_run();
// The lease and transit times of this run.
xref_times run_times();
// This process's peer address: where its listener listens in this run
// (WEFT_PEER_LISTEN, peer_listener.hpp), else peer_address(self_id()).
std::string self_address();
// The listener's bound address, for self_address (until the run ends).
void set_self_address(const std::string& a);
// The link to address, dialing it if need be (parks). Throws
// remote_error: unreachable, unauthorized, refused; lost once the run ends.
std::shared_ptr<peer_link> peer_for(const std::string& address);
// A link the listener accepted (started here).
void adopt(std::shared_ptr<peer_link> link);
// Whether a live link to address exists.
bool peer_live(const std::string& address);
// The listener's part of the run: its stop runs first at the run's end.
// False if a listener was registered already in this run.
bool register_listener(std::function<void()> stop);
void unregister_listener();
// Starts f as a goroutine the run's end waits for.
void go_counted(const char* name, std::function<void()> f);

// Counts for tests: links this run dialed and accepted.
std::size_t links_dialed();
std::size_t links_accepted();

}  // namespace weft::circuit::detail
