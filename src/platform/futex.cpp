#include "platform/futex.hpp"

#include <linux/futex.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>

namespace weft::detail::os {

void futex_wait(std::atomic<std::uint32_t>* word, std::uint32_t expected, std::int64_t timeout_ns) {
  timespec ts{};
  timespec* tsp = nullptr;
  if (timeout_ns >= 0) {
    ts.tv_sec = timeout_ns / 1000000000;
    ts.tv_nsec = timeout_ns % 1000000000;
    tsp = &ts;
  }
  int saved = errno;  // never leave a futex result in the caller's errno
  syscall(SYS_futex, reinterpret_cast<std::uint32_t*>(word), FUTEX_WAIT_PRIVATE, expected, tsp, nullptr, 0);
  errno = saved;
}

void futex_wake(std::atomic<std::uint32_t>* word, int count) {
  int saved = errno;
  syscall(SYS_futex, reinterpret_cast<std::uint32_t*>(word), FUTEX_WAKE_PRIVATE, count, nullptr, nullptr, 0);
  errno = saved;
}

std::int64_t nanotime() noexcept {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return std::int64_t(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

std::int64_t nanotime_coarse() noexcept {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
  return std::int64_t(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

std::int64_t nanotime_coarse_lag() noexcept {
  // The resolution is the tick (1-10 ms); twice it leaves room for a tick
  // that is late being taken (tickless idle catches up on the next one).
  static const std::int64_t lag = [] {
    timespec res{};
    if (clock_getres(CLOCK_MONOTONIC_COARSE, &res) != 0) return std::int64_t{20'000'000};
    return 2 * (std::int64_t(res.tv_sec) * 1000000000 + res.tv_nsec);
  }();
  return lag;
}

}  // namespace weft::detail::os
