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
//      A worker whose connection weftd made before the fork listens
//      before its Hello and sends WorkerStart behind it, in one write
//      (worker_start_early): weftd never asks such a connection for the
//      key (server/fork_server.hpp, K4), so nothing comes between, and
//      the Welcome and the WorkerJob come back together: one round trip
//      less.
//   3. The worker looks the name up in its registry (WEFT_SPAWNABLE). A
//      missing name or another signature (the binary changed since the
//      caller started) is refused, naming the function; otherwise it runs.
//   4. WorkerDone: the encoded result, or the exception's type and what(),
//      or the refusal. weftd relays it to the caller as SpawnResult.
//   5. The worker waits for its daemonized goroutines, then the process
//      ends (exit 0; 1 if the function threw or was refused) without
//      weft::run returning: no thread joins, no static destructors
//      (remote/worker_exit.hpp says why nothing is lost).
// Code in main before weft::run has run, as in any process of the binary.
#pragma once

#include "circuit/identity.hpp"

namespace weft::runtime::v1 {
class Frame;
}

namespace weft::circuit::detail {

int worker_main(const worker_ticket& ticket);

// Before the Hello of a worker connected at the fork (step 2): listens
// for peers and fills start with its WorkerStart, which the stub sends
// behind the Hello. A failure to listen is fatal, as in worker_main.
void worker_start_early(const worker_ticket& ticket, weft::runtime::v1::Frame& start);

}  // namespace weft::circuit::detail
