// src/circuit/daemon.hpp: the weftd a circuit call goes through.
//
// DESIGN.md, "Which server": a program attached through WEFT_RUNTIME (or
// options.runtime) spawns through that weftd, a worker through the weftd
// that started it. A program that is not attached attaches at its first
// circuit call to the local weftd at the default socket, and starts one
// when none answers there:
//   - the weftd binary: $WEFT_WEFTD, else `weftd` beside this program's
//     binary, else the one this build of weft made (its build tree or its
//     install prefix), else `weftd` on PATH;
//   - started in a session of its own (setsid: the caller's terminal and
//     its signals are not its), stdin /dev/null, its log in
//     <runtime dir>/weftd.log;
//   - two programs that start one at once race harmlessly: the second
//     weftd finds the socket answering and exits; both programs dial the
//     first.
// The server must offer "circuit" (an older weftd, or a trace logger, may
// not): remote_error{refused} names it otherwise.
#pragma once

#include "remote/stub.hpp"

namespace weft::circuit::detail {

// The stub for circuit calls, attaching (and starting weftd) if needed.
// Throws remote_error (unreachable, refused) that says what to do.
remote::detail::stub& circuit_stub();

}  // namespace weft::circuit::detail
