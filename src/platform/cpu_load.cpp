// src/platform/cpu_load.cpp: the runnable-thread count of /proc/loadavg
// against the CPUs online. The file is opened once and read with pread
// (procfs makes its text afresh at offset 0); the fd and the CPU count are
// set up on first use and kept for the process (fork keeps them valid).
#include "platform/cpu_load.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <atomic>

namespace weft::detail::os {

namespace {

struct load_source {
  int fd = -1;
  long cpus = 0;
  load_source() noexcept {
    fd = ::open("/proc/loadavg", O_RDONLY | O_CLOEXEC);
    cpus = ::sysconf(_SC_NPROCESSORS_ONLN);
  }
};

const load_source& source() noexcept {
  static const load_source s;  // thread-safe first use
  return s;
}

std::atomic<int> forced{-1};

}  // namespace

long runnable_threads_of(std::string_view text) noexcept {
  // Fields: three load averages, "running/total", the last pid.
  std::size_t at = 0;
  for (int field = 0; field < 3; ++field) {
    at = text.find(' ', at);
    if (at == std::string_view::npos) return -1;
    ++at;
  }
  long n = 0;
  std::size_t digits = 0;
  for (; at < text.size() && text[at] >= '0' && text[at] <= '9' && digits < 9; ++at, ++digits)
    n = n * 10 + (text[at] - '0');
  if (digits == 0 || at >= text.size() || text[at] != '/') return -1;
  return n;
}

bool cpus_to_spare() noexcept {
  if (int f = forced.load(std::memory_order_relaxed); f >= 0) return f == 1;
  const load_source& s = source();
  if (s.fd < 0 || s.cpus < 1) return false;
  char buf[128];
  ssize_t n = ::pread(s.fd, buf, sizeof buf, 0);
  if (n <= 0) return false;
  long running = runnable_threads_of(std::string_view(buf, static_cast<std::size_t>(n)));
  return running >= 0 && running <= s.cpus;
}

void set_cpus_to_spare_for_testing(int answer) noexcept { forced.store(answer, std::memory_order_relaxed); }

}  // namespace weft::detail::os
