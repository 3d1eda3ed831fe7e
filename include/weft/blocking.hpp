// weft/blocking.hpp: running a blocking call without stalling other goroutines.
#pragma once

#include <weft/detail/cxx20.hpp>

#include <type_traits>
#include <utility>

namespace weft {

namespace detail {
// The calling goroutine enters / leaves a blocking call (Go's entersyscall
// and exitsyscall). No-ops on plain threads.
// Where weft::blocking was called, for goroutine dumps. (std::source_location
// is not available to every compiler weft supports: clang 14.)
struct call_site {
  const char* file;
  const char* function;
  unsigned line;
  static constexpr call_site here(const char* file = __builtin_FILE(), const char* function = __builtin_FUNCTION(),
                                  unsigned line = __builtin_LINE()) noexcept {
    return {file, function, line};
  }
};
// `where` is shown by goroutine dumps while the call lasts.
void blocking_enter(const call_site& where) noexcept;
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
// `where` is for goroutine dumps ("in weft::blocking called from ...").
template <class F>
std::invoke_result_t<F&> blocking(F f, detail::call_site where = detail::call_site::here()) {
  struct leave {
    ~leave() { detail::blocking_exit(); }
  };
  detail::blocking_enter(where);
  leave guard;
  return f();
}

}  // namespace weft
