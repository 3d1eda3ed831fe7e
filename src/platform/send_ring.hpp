// src/platform/send_ring.hpp: socket sends batched through an io_uring:
// post many, make them all in one system call.
//
// Every send is posted with MSG_DONTWAIT, so the kernel never leaves one in
// flight: at submission each either sends what the socket takes at once or
// completes with -EAGAIN (nothing sent), and its completion is there when
// the submitting call returns. So a flush finishes every posted send, and
// nobody ever waits on the ring (no eventfd, no poll of the ring's fd).
//
// Built without liburing (liburing-dev), or on a kernel or in a sandbox
// without io_uring (container seccomp profiles often refuse it),
// send_ring_new fails and callers send by themselves.
#pragma once

#include <cstddef>
#include <cstdint>

namespace weft::detail::os {

struct send_ring;

// A ring for up to `entries` posted sends, or null with *err set (ENOSYS,
// EPERM...: io_uring is not to be had here). Its memory is not inherited
// by a forked child.
send_ring* send_ring_new(unsigned entries, int* err) noexcept;
void send_ring_free(send_ring* r) noexcept;

// Queues a send of buf on fd (MSG_DONTWAIT | MSG_NOSIGNAL) whose
// completion will carry `tag`. False if the ring holds `entries` already:
// flush first.
bool send_ring_post(send_ring* r, int fd, const void* buf, std::size_t len, std::uint64_t tag) noexcept;

// Submits every queued send and calls done(arg, tag, result) for each:
// bytes sent, or -errno (-EAGAIN: the socket was full, nothing sent).
// Returns how many completed (every one posted), or -1 with errno set if
// the kernel refused the submission itself.
int send_ring_flush(send_ring* r, void (*done)(void* arg, std::uint64_t tag, long result), void* arg) noexcept;

}  // namespace weft::detail::os
