// src/remote/worker_exit.hpp: how a worker process ends once its job is
// done.
//
// A worker's weft::run does not return. Once its function's result is
// acknowledged by weftd, its daemonized goroutines have returned, the
// circuit's run-end callbacks have run (peer listener closed, references
// released) and the stub's Goodbye is written (stub::detach waits for it),
// the process flushes C stdio and the standard C++ streams and ends with
// _exit(status), leaving the runtime's threads unjoined.
//
// Why: joining the runtime's threads, freeing its stacks and running the
// static destructors took ~1 ms of the ~2 ms from a worker's result to
// weftd's reap (README, "Benchmarks"), on cores the next spawn wants.
//
// Which exit path does what:
//   - A worker (WEFT_WORKER) whose function returned, threw or was
//     refused: this; no static destructors, no atexit handlers, and code
//     after weft::run in main does not run, as when Go's main returns
//     (os.Exit). A worker's life is its function (DESIGN.md, "A worker
//     exits when its function returns").
//   - Any other program: weft::run returns, main returns, static
//     destructors and atexit handlers run, as before.
//   - Sanitizer builds (ASan, TSan, fuzz) keep the long way: weft::run
//     returns as in any program, so that TSan's exit status for a race and
//     LSan's leak check, both made at exit, still judge every worker the
//     tests start.
//   - SIGTERM with shutdown hooks: os/shutdown.cpp's exit; Control EXIT:
//     remote/control.cpp's; a fatal error: runtime/fatal.cpp's (unchanged).
// Why nothing is lost:
//   - The result: WorkerDone is a call whose reply weftd sends after it
//     handed the result to the caller (server/worker_host.cpp, done()), and
//     worker_main returns only after that reply.
//   - Output: a worker's stdout and stderr are its log file; whatever stdio
//     or std::cout/cerr/clog still buffer is written before _exit. A file
//     the function opened itself and left to a static destructor is not
//     flushed: close it in the function (said in docs/circuit.md).
#pragma once

namespace weft::remote::detail {

#if defined(WEFT_ASAN) || defined(WEFT_TSAN)
inline constexpr bool worker_exits_fast = false;
#else
inline constexpr bool worker_exits_fast = true;
#endif

// Flushes C stdio and the standard C++ streams, then _exit(code).
[[noreturn]] void end_worker_process(int code) noexcept;

}  // namespace weft::remote::detail
