// src/runtime/netpoll.hpp: the network poller, the seam between file
// descriptors and the scheduler. Design at the top of netpoll.cpp.
//
// Two sides:
//   - fd users (net/netfd.cpp): register a non-blocking fd,
//     try the system call, and on EAGAIN park the goroutine in
//     netpoll_wait until the fd is ready, its deadline passes or it is
//     closed.
//   - the scheduler (runtime/proc.cpp): netpoll(0) on the way to idling,
//     netpoll(until the next timer) in the one M that waits while idle, and
//     netpoll_break to wake that M early.
#pragma once

#include <cstdint>

namespace weft::detail {

struct g;
struct poll_desc;

enum class poll_mode : std::uint8_t { read, write };

enum class poll_result : std::uint8_t {
  ready,  // the fd may be ready: retry the system call
  timed_out,  // the deadline for this mode passed (the fd stays usable)
  closing,  // netpoll_close has started: fail with EBADF-like error
};

// ---- for fd users --------------------------------------------------------

// Registers fd (already O_NONBLOCK) with epoll, edge-triggered for read and
// write. Throws std::system_error naming the operation on failure.
poll_desc* netpoll_open(int fd);
// Waits (parks the goroutine; a plain thread sleeps) until fd is ready for
// mode, the mode's deadline passes, or the descriptor is closing. Returns at
// once with `ready` if an edge arrived since the last wait in that mode.
// At most one goroutine waits per mode at a time (the caller serializes:
// net::conn allows one reader and one writer).
poll_result netpoll_wait(poll_desc* pd, poll_mode mode);
// Whether an event has said that the peer closed or the socket failed
// (sticky). A reader that waits before its recv (net/conn.cpp) must not
// wait then: the end of stream it would wait for may have come with the
// bytes it has read, its edge spent.
bool netpoll_hangup(poll_desc* pd);
// Sets the mode's deadline (os::nanotime(); INT64_MAX: none; a past one
// makes waits time out at once). Wakes a waiter whose deadline moved into
// the past.
void netpoll_set_deadline(poll_desc* pd, poll_mode mode, std::int64_t when);
// Wakes every waiter with `closing`; later waits return `closing` at once.
// Does not close the fd.
void netpoll_evict(poll_desc* pd);
// Deregisters and frees pd. REQUIRES: evicted, no waiter left. The caller
// closes the fd afterwards.
void netpoll_close(poll_desc* pd);

// ---- for the scheduler ---------------------------------------------------

// True once any fd has been registered in this run (before that the
// scheduler need not poll at all).
bool netpoll_active() noexcept;
// Polls epoll: delay_ns < 0 blocks, 0 does not, > 0 waits at most that
// long (never less, unless something is ready or a break comes). Readies
// the goroutines (and wakes the plain threads) whose wait is over and
// returns how many. At most one thread polls with delay != 0 at a time; it
// returns early on netpoll_break. Any number may poll with delay 0 at once.
// Uses ~1.6 KB of stack. Call it holding no runtime lock (it takes pd locks,
// and ready() may take sched.lock).
int netpoll(std::int64_t delay_ns);
// Goroutines and threads parked in netpoll_wait right now (a program
// waiting for I/O is not deadlocked).
int netpoll_waiters() noexcept;
// Wakes a thread blocked in netpoll(delay != 0), if any.
void netpoll_break();
// Start and end of weft::run. init is idempotent (netpoll_open also calls
// it). shutdown closes the epoll instance: fds still registered become
// `closing` (their plain-thread waiters are woken; goroutine waiters, which
// belong to the finished run, are forgotten), and netpoll_close still works
// on them. Safe when init never ran. REQUIRES: nothing is in netpoll() or
// netpoll_open.
void netpoll_init();
void netpoll_shutdown();

}  // namespace weft::detail
