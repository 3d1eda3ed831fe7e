// weft/shutdown.hpp: a graceful end on request (SIGTERM, `weft kill`),
// with hooks, as a Go program does with signal.Notify and goroutines.
#pragma once

#include <weft/detail/cxx20.hpp>

#include <functional>

namespace weft {

// Registers hook to run when the process is asked to stop gracefully: a
// SIGTERM (`weft kill` without --hard, worker::kill). Then each hook runs
// in a goroutine of its own (it may block on channels and locks), and once
// all have returned the process flushes stdio and exits with status 143
// (128 + SIGTERM, as if killed by it). The deadline: the killer's grace
// period when it sent one (weftd does, with the signal: WorkerKill.grace_ms,
// 5 s by default, after which it SIGKILLs), else WEFT_SHUTDOWN_GRACE_MS
// (milliseconds, 5000 by default). At the deadline, or on a second SIGTERM,
// the process is killed by SIGTERM at once, hooks or not. A hook that
// throws is reported on stderr; the others run on. A hook registered while
// the hooks run starts at once; once the process is exiting it never runs.
// Until a run's first on_shutdown (and after weft::run returns) SIGTERM
// keeps its default action. That call starts one goroutine ("weft shutdown
// watcher") that waits for the signal. Call from a goroutine (else
// weft::misuse_error); hooks belong to the weft::run they were registered
// in, and none runs when main returns first.
void on_shutdown(std::function<void()> hook);

}  // namespace weft
