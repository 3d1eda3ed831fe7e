// weft/run.hpp: starting and stopping the runtime.
#pragma once

#include <functional>
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
};

namespace detail {
struct trace_hooks;
// The goroutine dumps of the runtime's fatal reports (src/trace/). weft::run
// hands them to the runtime, which sits below trace and cannot name it.
const trace_hooks* trace_hooks_for_runtime() noexcept;
int run_main(std::function<int()> main, const options& opts, const trace_hooks* dumps);
}  // namespace detail

// Starts the runtime with opts, runs main as goroutine 1 and returns what it
// returns (0 if it returns void) once it has returned. Goroutines still alive
// then are abandoned, as when a Go program's main returns. run may be called
// again after it returns, but not while it runs (std::logic_error).
template <class F>
int run(F main, options opts = {}) {
  if constexpr (std::is_void_v<std::invoke_result_t<F&>>) {
    return detail::run_main([m = std::move(main)]() mutable { m(); return 0; }, opts,
                             detail::trace_hooks_for_runtime());
  } else {
    return detail::run_main([m = std::move(main)]() mutable { return static_cast<int>(m()); }, opts,
                             detail::trace_hooks_for_runtime());
  }
}

// True between weft::run's start and its return.
bool running() noexcept;

}  // namespace weft
