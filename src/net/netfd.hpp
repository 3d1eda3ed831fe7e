// src/net/netfd.hpp: the state behind a weft::net::conn or listener: one
// non-blocking socket registered with the netpoller. Design in netfd.cpp.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>

#include <weft/mutex.hpp>
#include <weft/net.hpp>

#include "poll/fd_mutex.hpp"
#include "runtime/netpoll.hpp"

namespace weft::detail {

struct netfd {
  int sysfd = -1;
  poll_desc* pd = nullptr;
  fd_mutex refs;  // operations inside; closing
  weft::mutex read_mu;  // one reader (or acceptor) at a time: netpoll_wait allows one waiter per mode
  weft::mutex write_mu;  // one writer at a time, and a write's bytes stay together
  std::atomic<std::int64_t> read_deadline{INT64_MAX};  // os::nanotime; INT64_MAX: none
  // A short read leaves the socket empty, so the next read waits for an
  // edge before its system call (conn.cpp): set by net_access::wait_after_short_reads
  // before the first read; `drained` is the reader's, under read_mu.
  bool wait_after_short_read = false;
  bool drained = false;
  std::atomic<std::int64_t> write_deadline{INT64_MAX};
  std::string net;  // "tcp", "tcp4", "tcp6", "unix": for messages
  std::string laddr;  // formatted local address
  std::string raddr;  // formatted peer address ("" for a listener)
  std::string unlink_path;  // a Unix listener's socket file, removed on close
};

// Takes sysfd (non-blocking) and registers it with the netpoller. On
// failure closes sysfd and throws.
netfd* netfd_new(int sysfd, std::string net);
// Closes: no new operations, wakes the waiting ones, waits until none is
// inside, then deregisters and closes the socket. A second call returns at
// once. fd may be null.
void netfd_close(netfd* fd);
// Closes and frees.
void netfd_destroy(netfd* fd) noexcept;

// "weft::net::OP NET LOCAL->REMOTE" (just LOCAL for a listener).
std::string describe(const char* op, const netfd* fd);
[[noreturn]] void throw_op(const char* op, const netfd* fd, int err);

// One operation inside fd: holds a reference (so the socket stays open) and
// the mode's lock for as long as it lives. Throws the closed error if fd is
// null or closing.
//
// The quiet form (a `closed` flag to set) is for loops whose normal end is
// a close from another goroutine (an accept loop, a connection's reader at
// a run's end): it sets *closed and enters nothing instead of throwing,
// and its wait_unless_closed returns false where wait throws. An exception
// costs little in a warm process but ~0.1 ms in a worker that has just
// forked (the unwinder's first lookups fault in .eh_frame pages), twice on
// every worker's way out.
class fd_op {
 public:
  fd_op(netfd* fd, const char* op, weft::mutex* mode_lock);
  fd_op(netfd* fd, const char* op, weft::mutex* mode_lock, bool* closed);
  ~fd_op();
  fd_op(const fd_op&) = delete;
  fd_op& operator=(const fd_op&) = delete;

  // Throws timed_out if the deadline for mode has passed.
  void check_deadline(poll_mode mode) const;
  // Parks until the socket may be ready for mode; throws on a deadline or close.
  void wait(poll_mode mode) const;
  // The quiet form's wait: false on a close. The other form throws as
  // wait does, so one call serves a loop written for both.
  [[nodiscard]] bool wait_unless_closed(poll_mode mode) const;
  [[noreturn]] void fail(int err) const { throw_op(op_, fd_, err); }

 private:
  netfd* fd_;
  const char* op_;
  weft::mutex* lock_;
  bool quiet_ = false;
};

// Sets the deadline(s) of fd (time_point::max(): none).
void netfd_set_deadline(netfd* fd, const char* op, bool read, bool write, weft::net::time_point t);
// steady_clock time to os::nanotime nanoseconds (max(): INT64_MAX).
std::int64_t to_nanotime(weft::net::time_point t) noexcept;

// weft::net's private door into conn and listener.
struct net_access {
  static weft::net::conn make_conn(netfd* fd) noexcept { return weft::net::conn(fd); }
  static weft::net::listener make_listener(netfd* fd) noexcept { return weft::net::listener(fd); }
  // As listener::accept and conn::read, but empty once the listener or
  // conn is closed (by close(), from any goroutine) where those throw
  // (fd_op's quiet form says why). Other errors still throw.
  static std::optional<weft::net::conn> accept_unless_closed(weft::net::listener& l);
  static std::optional<std::size_t> read_unless_closed(weft::net::conn& c, std::span<std::byte> buf);
  // Writes what the socket takes now and returns how many bytes that was,
  // without ever parking: 0 if another write holds the conn or the socket
  // is full. Throws as conn::write does on errors. For callers that must
  // not park (wire::link's senders, conn.cpp).
  static std::size_t try_write(weft::net::conn& c, std::span<const std::byte> buf);
  // From now on a read that follows a short read waits for the socket's
  // next edge instead of trying recv first (conn.cpp: when that is sound).
  // For connections whose reader reads in large chunks and receives no
  // ancillary data (wire::link's). REQUIRES: no read in progress.
  static void wait_after_short_reads(weft::net::conn& c) noexcept;
};

}  // namespace weft::detail
