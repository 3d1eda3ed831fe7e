// weft/blocking.hpp: running a blocking call without stalling other goroutines.
#pragma once

#include <type_traits>
#include <utility>

namespace weft {

namespace detail {
// The calling goroutine enters / leaves a blocking call (Go's entersyscall
// and exitsyscall). No-ops on plain threads.
void blocking_enter() noexcept;
void blocking_exit() noexcept;
}  // namespace detail

// Runs f() on the calling thread and returns what it returns (or rethrows
// what it throws). Meanwhile the goroutine's processor is free for other
// goroutines: a short call keeps it (the cost is about two atomic
// operations); one that lasts more than ~20 us has it handed to another
// thread by sysmon, and on return the goroutine takes a processor back (or
// waits for one). Use it for anything that may block in the kernel or a C
// library: file I/O, getaddrinfo, a foreign library's synchronous call.
// f must not use weft primitives that park (channels, weft::mutex).
template <class F>
std::invoke_result_t<F&> blocking(F f) {
  struct leave {
    ~leave() { detail::blocking_exit(); }
  };
  detail::blocking_enter();
  leave guard;
  return f();
}

}  // namespace weft
