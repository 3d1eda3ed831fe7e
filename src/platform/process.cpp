// src/platform/process.cpp: gettid, pthread_getattr_np, write(2), _exit.
#include "platform/process.hpp"

#include <pthread.h>
#include <unistd.h>

#include <cerrno>

namespace weft::detail::os {

long thread_id() noexcept { return static_cast<long>(::gettid()); }

bool thread_stack(char** lo, char** hi) noexcept {
  // The main thread's bounds cost glibc a parse of /proc/self/maps (~0.1 ms
  // with a few hundred mappings): found once per process image and kept, so
  // a fork server's workers, which inherit them, do not parse it again. Only
  // the main thread reads or writes these. The frame must lie within them: a
  // process forked by another thread than its parent's main one has that
  // thread's stack as its main stack, and finds its bounds afresh.
  static char* main_lo = nullptr;
  static char* main_hi = nullptr;
  const bool main_thread = ::gettid() == ::getpid();
  auto* frame = static_cast<char*>(__builtin_frame_address(0));
  if (main_thread && main_lo != nullptr && frame >= main_lo && frame < main_hi) {
    *lo = main_lo;
    *hi = main_hi;
    return true;
  }
  pthread_attr_t attr;
  if (pthread_getattr_np(pthread_self(), &attr) != 0) return false;
  void* addr = nullptr;
  std::size_t size = 0;
  bool ok = pthread_attr_getstack(&attr, &addr, &size) == 0;
  pthread_attr_destroy(&attr);
  if (!ok) return false;
  *lo = static_cast<char*>(addr);
  *hi = *lo + size;
  if (main_thread) {
    main_lo = *lo;
    main_hi = *hi;
  }
  return true;
}

void write_stderr(const char* p, std::size_t n) noexcept {
  int saved = errno;
  while (n > 0) {
    ssize_t w = ::write(2, p, n);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) break;
    p += w;
    n -= static_cast<std::size_t>(w);
  }
  errno = saved;
}

void exit_now(int code) noexcept { ::_exit(code); }

void sleep_forever() noexcept {
  for (;;) ::pause();
}

}  // namespace weft::detail::os
