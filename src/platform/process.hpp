// src/platform/process.hpp: the calling thread and process, behind one seam:
// what the runtime's per-thread set-up and its fatal path ask the OS.
#pragma once

#include <cstddef>

namespace weft::detail::os {

// The calling thread's kernel id (gettid).
long thread_id() noexcept;
// The calling thread's own stack [*lo, *hi). False if it cannot be told.
// The main thread's is found once per process image (fork copies it).
bool thread_stack(char** lo, char** hi) noexcept;
// Writes all of [p, p + n) to standard error (retrying short writes and
// EINTR); gives up silently on any other failure.
void write_stderr(const char* p, std::size_t n) noexcept;
// Ends the process now with status code: no destructors, no atexit.
[[noreturn]] void exit_now(int code) noexcept;
// Sleeps until the process ends.
[[noreturn]] void sleep_forever() noexcept;

}  // namespace weft::detail::os
