// src/net/adopt.hpp: a weft::net::conn over a connected socket this process
// got some other way than dial or accept (a socketpair end, one passed with
// SCM_RIGHTS).
//
// Why: weftd hands a worker it forks one end of a socketpair as its
// connection (server/fork_server.hpp); both ends must then behave as any
// conn (netpoller, deadlines, close).
#pragma once

#include <string>

#include <weft/net.hpp>

namespace weft::detail {

// Takes sysfd (a connected stream socket; made non-blocking here) and
// registers it with the netpoller; label names both ends in messages
// ("unix" network). On failure closes sysfd and throws std::system_error.
// REQUIRES: inside weft::run.
weft::net::conn adopt_socket(int sysfd, const std::string& label);

}  // namespace weft::detail
