// src/circuit/worker_main.hpp: what weft::run does in a worker process.
//
// The worker protocol (docs/protocol.md, "Workers"), seen from the worker:
//   1. weftd started this binary with WEFT_WORKER=ID.TOKEN and
//      WEFT_RUNTIME naming itself; weft::run attaches with the ticket in
//      its Hello (weftd refuses a ticket it did not issue, or one already
//      used).
//   2. It listens for peers (its xrefs' address), then WorkerStart ->
//      WorkerJob: the function's name, signature and encoded arguments.
//      weftd tells the caller the worker runs (Spawned) at WorkerStart.
//   3. The worker looks the name up in its registry (WEFT_SPAWNABLE). A
//      missing name or another signature (the binary changed since the
//      caller started) is refused, naming the function; otherwise it runs.
//   4. WorkerDone: the encoded result, or the exception's type and what(),
//      or the refusal. weftd relays it to the caller as SpawnResult.
//   5. The worker waits for its daemonized goroutines, then weft::run
//      returns (exit 0; 1 if the function threw or was refused).
// Code in main before weft::run has run, as in any process of the binary.
#pragma once

#include "circuit/identity.hpp"

namespace weft::circuit::detail {

int worker_main(const worker_ticket& ticket);

}  // namespace weft::circuit::detail
