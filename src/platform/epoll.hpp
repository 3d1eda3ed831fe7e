// src/platform/epoll.hpp: epoll and eventfd, behind one seam
// (runtime/netpoll.cpp is the only user). Thin: each function is one system
// call, reports failure as -errno (or a std::system_error naming the
// operation and the fd), and leaves the caller's errno as it was.
#pragma once

#include <cstdint>

namespace weft::detail::os {

// One readiness report: the EPOLL* bits below and the registration's data.
// Laid out as struct epoll_event (packed on x86-64; checked in epoll.cpp),
// so the kernel fills the caller's array directly: netpoll may run on a
// goroutine's stack, which should not carry a second copy.
struct
#if defined(__x86_64__)
    __attribute__((packed))
#endif
    poll_event {
  std::uint32_t events;
  std::uint64_t data;
};

// The values of EPOLLIN, EPOLLOUT, ... (checked in epoll.cpp), so that
// callers need not include <sys/epoll.h>.
constexpr std::uint32_t ev_in = 0x001;
constexpr std::uint32_t ev_out = 0x004;
constexpr std::uint32_t ev_err = 0x008;
constexpr std::uint32_t ev_hup = 0x010;
constexpr std::uint32_t ev_rdhup = 0x2000;
constexpr std::uint32_t ev_et = 1u << 31;

// A new close-on-exec epoll instance. Throws std::system_error.
int epoll_create();
// Registers fd for events with data. Throws std::system_error naming the
// operation and fd (EMFILE, ENOMEM, EPERM for regular files, ...).
void epoll_add(int epfd, int fd, std::uint32_t events, std::uint64_t data);
// Deregisters fd. Returns 0 or -errno (EBADF, ENOENT when already gone).
int epoll_del(int epfd, int fd) noexcept;
// Waits for up to max events: timeout_ns < 0 blocks, 0 does not
// block, > 0 waits at most that long, never less (epoll_pwait2's ns
// resolution where the kernel has it, else milliseconds rounded up).
// Returns the number of events or -errno (-EINTR on a signal).
int epoll_wait(int epfd, poll_event* out, int max, std::int64_t timeout_ns) noexcept;

// A close-on-exec, non-blocking eventfd with count 0. Throws std::system_error.
int eventfd_create();
// Adds 1 to the eventfd's count (it becomes readable).
void eventfd_signal(int fd) noexcept;
// Resets the eventfd's count to 0 (no effect when it is 0).
void eventfd_drain(int fd) noexcept;

void close_fd(int fd) noexcept;

}  // namespace weft::detail::os
