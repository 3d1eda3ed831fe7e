// weft/run.hpp: starting and stopping the runtime.
#pragma once

#include <weft/detail/cxx20.hpp>

#include <cstddef>
#include <functional>
#include <string>
#include <thread>
#include <type_traits>
#include <utility>

namespace weft {

inline int hardware_procs() noexcept {
  unsigned n = std::thread::hardware_concurrency();
  return n == 0 ? 1 : static_cast<int>(n);
}

// How weft::run sets up the runtime.
struct options {
  // The number of Ps: goroutines running in parallel (Go's GOMAXPROCS).
  // Zero or negative is misuse (std::invalid_argument).
  int procs = hardware_procs();
  // The runtime server to attach to: "unix:/path" or "tcp:host:port".
  // Empty: the environment variable WEFT_RUNTIME; both empty: none (remote
  // channels and variables then live in the process). weft::run attaches
  // before main runs; a server that cannot be reached, or is lost later,
  // ends the program (exit 2, "weft: fatal error: runtime server ...").
  std::string runtime = {};
};

namespace detail {
struct trace_hooks;
// The goroutine dumps of the runtime's fatal reports (src/trace/). The
// runtime sits below trace and cannot name it: its caller hands them over.
const trace_hooks* trace_hooks_for_runtime() noexcept;
int run_main(std::function<int()> main, const options& opts, const trace_hooks* dumps);
// weft::run's entry: attaches to the runtime server (src/remote/attach.cpp),
// then runs main through run_main. required: the program was linked with
// weft::remote_required and refuses to run without a server.
int run_attached(std::function<int()> main, const options& opts, bool required);
#ifdef WEFT_REMOTE_REQUIRED
inline constexpr bool runtime_server_required = true;
#else
inline constexpr bool runtime_server_required = false;
#endif
}  // namespace detail

// Starts the runtime with opts, runs main as goroutine 1 and returns what it
// returns (0 if it returns void) once it has returned. Goroutines still alive
// then are abandoned, as when a Go program's main returns. run may be called
// again after it returns, but not while it runs (std::logic_error).
template <class F>
int run(F main, options opts = {}) {
  if constexpr (std::is_void_v<std::invoke_result_t<F&>>) {
    return detail::run_attached(
        [m = std::move(main)]() mutable {
          m();
          return 0;
        },
        opts, detail::runtime_server_required);
  } else {
    return detail::run_attached([m = std::move(main)]() mutable { return static_cast<int>(m()); }, opts,
                                detail::runtime_server_required);
  }
}

// True between weft::run's start and its return.
bool running() noexcept;

// How many goroutines exist right now (Go's runtime.NumGoroutine): started
// and not yet returned, main and parked ones included; 0 outside weft::run.
// A snapshot: others may start or end while the caller looks at it.
std::size_t num_goroutines() noexcept;

}  // namespace weft
