#include "platform/futex.hpp"

#include <linux/futex.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>

namespace weft::detail::os {

namespace {

#if defined(WEFT_TSAN)
// TSan runs the handler of a signal that lands on a thread outside its
// interceptors at that thread's next intercepted call, and a raw futex is
// not one: an M asleep here for good would hold a process-directed
// SIGTERM for ever (weft::on_shutdown's, in CI). Under TSan a wait lasts
// at most this long and ends with gettimeofday, which TSan intercepts to
// run such handlers; the return is a spurious one, which every caller
// allows. (runtime/sanitizers.hpp closes the same gap at each goroutine
// switch, by blocking signals across it.)
constexpr std::int64_t tsan_slice_ns = 20'000'000;
#endif

}  // namespace

void futex_wait(std::atomic<std::uint32_t>* word, std::uint32_t expected, std::int64_t timeout_ns) {
#if defined(WEFT_TSAN)
  if (timeout_ns < 0 || timeout_ns > tsan_slice_ns) timeout_ns = tsan_slice_ns;
#endif
  timespec ts{};
  timespec* tsp = nullptr;
  if (timeout_ns >= 0) {
    ts.tv_sec = timeout_ns / 1000000000;
    ts.tv_nsec = timeout_ns % 1000000000;
    tsp = &ts;
  }
  int saved = errno;  // never leave a futex result in the caller's errno
  syscall(SYS_futex, reinterpret_cast<std::uint32_t*>(word), FUTEX_WAIT_PRIVATE, expected, tsp, nullptr, 0);
#if defined(WEFT_TSAN)
  timeval tv;
  ::gettimeofday(&tv, nullptr);
#endif
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
