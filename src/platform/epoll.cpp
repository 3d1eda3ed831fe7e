#include "platform/epoll.hpp"

#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <climits>
#include <cstddef>
#include <string>
#include <system_error>

namespace weft::detail::os {

static_assert(sizeof(poll_event) == sizeof(epoll_event) && alignof(poll_event) == alignof(epoll_event) &&
              offsetof(poll_event, data) == offsetof(epoll_event, data));
static_assert(ev_in == EPOLLIN && ev_out == EPOLLOUT && ev_err == EPOLLERR && ev_hup == EPOLLHUP &&
              ev_rdhup == EPOLLRDHUP && ev_et == EPOLLET);

namespace {

// Restores errno on scope exit: the scheduler calls in here between a
// goroutine's system call and its look at errno.
struct errno_saver {
  int saved = errno;
  ~errno_saver() { errno = saved; }
};

[[noreturn]] void throw_errno(int err, const std::string& what) {
  throw std::system_error(err, std::system_category(), what);
}

// epoll_pwait2 (a timeout finer than 1 ms) is a raw system call, which
// TSan does not intercept: a signal landing on a thread asleep in it would
// wait for that thread's next intercepted call. TSan builds take the
// intercepted epoll_wait, where TSan runs handlers at once.
#if defined(SYS_epoll_pwait2) && !defined(WEFT_TSAN)
#define WEFT_EPOLL_PWAIT2 1
#endif

#ifdef WEFT_EPOLL_PWAIT2
// Unknown (0), available (1), or not in this kernel (-1: ENOSYS once).
std::atomic<int> have_pwait2{0};
#endif

}  // namespace

int epoll_create() {
  errno_saver keep;
  int fd = ::epoll_create1(EPOLL_CLOEXEC);
  if (fd < 0) throw_errno(errno, "netpoll: epoll_create1");
  return fd;
}

void epoll_add(int epfd, int fd, std::uint32_t events, std::uint64_t data) {
  errno_saver keep;
  epoll_event ev{};
  ev.events = events;
  ev.data.u64 = data;
  if (::epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev) != 0)
    throw_errno(errno, "netpoll: epoll_ctl(EPOLL_CTL_ADD) of fd " + std::to_string(fd));
}

int epoll_del(int epfd, int fd) noexcept {
  errno_saver keep;
  epoll_event ev{};  // non-null for kernels before 2.6.9
  return ::epoll_ctl(epfd, EPOLL_CTL_DEL, fd, &ev) == 0 ? 0 : -errno;
}

int epoll_wait(int epfd, poll_event* out, int max, std::int64_t timeout_ns) noexcept {
  errno_saver keep;
  auto* evs = reinterpret_cast<epoll_event*>(out);
  int n = -1;
  bool done = false;
#ifdef WEFT_EPOLL_PWAIT2
  if (timeout_ns > 0 && have_pwait2.load(std::memory_order_relaxed) >= 0) {
    timespec ts{};
    ts.tv_sec = static_cast<time_t>(timeout_ns / 1'000'000'000);
    ts.tv_nsec = static_cast<long>(timeout_ns % 1'000'000'000);
    n = static_cast<int>(::syscall(SYS_epoll_pwait2, epfd, evs, max, &ts, nullptr, 0));
    if (n < 0 && errno == ENOSYS) {
      have_pwait2.store(-1, std::memory_order_relaxed);
    } else {
      done = true;
    }
  }
#endif
  if (!done) {
    int ms = 0;
    if (timeout_ns < 0) {
      ms = -1;
    } else if (timeout_ns > 0) {
      // Rounded up: returning before a timer is due would make the caller
      // poll again at once.
      std::int64_t m = (timeout_ns + 999'999) / 1'000'000;
      ms = m > INT_MAX ? INT_MAX : static_cast<int>(m);
    }
    n = ::epoll_wait(epfd, evs, max, ms);
  }
  return n < 0 ? -errno : n;
}

int eventfd_create() {
  errno_saver keep;
  int fd = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (fd < 0) throw_errno(errno, "netpoll: eventfd");
  return fd;
}

void eventfd_signal(int fd) noexcept {
  errno_saver keep;
  std::uint64_t one = 1;
  // EAGAIN only when the count would overflow: it is readable anyway.
  while (::write(fd, &one, sizeof one) < 0 && errno == EINTR) {}
}

void eventfd_drain(int fd) noexcept {
  errno_saver keep;
  std::uint64_t count;
  while (::read(fd, &count, sizeof count) < 0 && errno == EINTR) {}
}

void close_fd(int fd) noexcept {
  errno_saver keep;
  ::close(fd);
}

}  // namespace weft::detail::os
