// src/net/conn.cpp: weft::net::conn: reading and writing a connected
// socket. The life of its socket (references, close, deadlines) is netfd.cpp's.
//
// read and write try the system call first and wait only on EAGAIN: with
// edge-triggered polling a fresh socket usually has room to write, and a
// reply is often there by the time it is read. write loops until every
// byte is out (send with MSG_NOSIGNAL: a peer that has gone away is EPIPE,
// never SIGPIPE). A goroutine's write goes through its P's io_uring batch
// when there is one (runtime/send_batch.cpp): the same send, made together
// with the other goroutines' in one system call; a full socket (-EAGAIN)
// waits on the netpoller as always.
//
// Wait after a short read (opt-in, net_access::wait_after_short_reads): a
// request-reply connection reads each message whole, and the next read's
// recv then found the socket empty: one EAGAIN per message, a system call
// for nothing on both ends of every remote call. A stream socket's recv
// returns fewer bytes than asked only when its receive queue ran dry (TCP:
// or stopped at an urgent mark; Unix: at a message carrying descriptors or
// credentials: hence opt-in, for connections that use neither), and every
// byte that arrives after that raises a new edge (epoll reports each
// arrival, edge-triggered or not), which the poll_desc keeps (`ready`) if
// nobody waits yet. So after a short read the next read waits first and
// loses nothing: bytes that came in between have left their edge, and the
// wait returns at once. An edge left by bytes the short read already took
// costs one EAGAIN, as before. An injected short count (faults.hpp) is not
// a short read: the system call was asked for fewer bytes. The end of the
// stream is the exception: a FIN (or a reset) that came with the last bytes
// is taken by the short read silently and raises no edge again, so once
// the netpoller has seen the peer close (netpoll_hangup, sticky) reads try
// recv first again (the session tests' closed connections hung without it).
#include <weft/net.hpp>

#include <sys/socket.h>

#include <cerrno>
#include <optional>
#include <utility>

#include "net/netfd.hpp"
#include "platform/socket.hpp"
#include "runtime/gstats.hpp"
#include "runtime/send_batch.hpp"

namespace weft::net {

using detail::fd_op;
using detail::poll_mode;

conn::conn(conn&& other) noexcept : fd_(std::exchange(other.fd_, nullptr)) {}

conn& conn::operator=(conn&& other) noexcept {
  if (this != &other) {
    detail::netfd_destroy(fd_);
    fd_ = std::exchange(other.fd_, nullptr);
  }
  return *this;
}

conn::~conn() { detail::netfd_destroy(fd_); }

namespace {

// conn::read; with `quiet`, empty once the conn is closed instead of
// throwing (net_access::read_unless_closed).
std::optional<std::size_t> read_on(detail::netfd* fd, std::span<std::byte> buf, bool quiet) {
  bool closed = false;
  fd_op op(fd, "read", fd ? &fd->read_mu : nullptr, quiet ? &closed : nullptr);
  if (closed) return std::nullopt;
  if (buf.empty()) return 0;
  const bool trust_short = fd->wait_after_short_read;
  if (trust_short && fd->drained) {
    fd->drained = false;
    if (!detail::netpoll_hangup(fd->pd)) {
      op.check_deadline(poll_mode::read);
      if (!op.wait_unless_closed(poll_mode::read)) return std::nullopt;
    }
  }
  for (;;) {
    op.check_deadline(poll_mode::read);
    bool short_read = false;
    long n = trust_short ? detail::os::sock_recv(fd->sysfd, buf.data(), buf.size(), &short_read)
                         : detail::os::sock_recv(fd->sysfd, buf.data(), buf.size());
    if (n >= 0) {
      fd->drained = short_read;
      if (detail::gstats_enabled()) detail::gstats_bytes(true, static_cast<std::uint64_t>(n));
      return static_cast<std::size_t>(n);
    }
    if (n == -EINTR) continue;
    if (n != -EAGAIN) op.fail(static_cast<int>(-n));
    if (!op.wait_unless_closed(poll_mode::read)) return std::nullopt;
  }
}

}  // namespace

std::size_t conn::read(std::span<std::byte> buf) { return *read_on(fd_, buf, false); }

std::size_t conn::read_full(std::span<std::byte> buf) {
  std::size_t got = 0;
  while (got < buf.size()) {
    std::size_t n = read(buf.subspan(got));
    if (n == 0) break;
    got += n;
  }
  return got;
}

void conn::write(std::span<const std::byte> buf) {
  fd_op op(fd_, "write", fd_ ? &fd_->write_mu : nullptr);
  std::size_t done = 0;
  while (done < buf.size()) {
    op.check_deadline(poll_mode::write);
    long n = 0;
    if (!detail::send_batched(fd_->sysfd, buf.data() + done, buf.size() - done, &n))
      n = detail::os::sock_send(fd_->sysfd, buf.data() + done, buf.size() - done);
    if (n >= 0) {
      done += static_cast<std::size_t>(n);
      if (detail::gstats_enabled()) detail::gstats_bytes(false, static_cast<std::uint64_t>(n));
      continue;
    }
    if (n == -EINTR) continue;
    if (n != -EAGAIN) op.fail(static_cast<int>(-n));
    op.wait(poll_mode::write);
  }
}

}  // namespace weft::net

namespace weft::detail {

namespace {

// One send(2), without parking: the bytes taken, 0 if the socket is full.
std::size_t send_once(const fd_op& op, int sysfd, std::span<const std::byte> buf) {
  for (;;) {
    long n = os::sock_send(sysfd, buf.data(), buf.size());
    if (n >= 0) {
      if (gstats_enabled()) gstats_bytes(false, static_cast<std::uint64_t>(n));
      return static_cast<std::size_t>(n);
    }
    if (n == -EINTR) continue;
    if (n == -EAGAIN) return 0;
    op.fail(static_cast<int>(-n));
  }
}

}  // namespace

std::optional<std::size_t> net_access::read_unless_closed(weft::net::conn& c, std::span<std::byte> buf) {
  return weft::net::read_on(c.fd_, buf, true);
}

void net_access::wait_after_short_reads(weft::net::conn& c) noexcept {
  if (c.fd_ != nullptr) c.fd_->wait_after_short_read = true;
}

std::size_t net_access::try_write(weft::net::conn& c, std::span<const std::byte> buf) {
  fd_op op(c.fd_, "write", nullptr);
  weft::mutex& mu = c.fd_->write_mu;
  if (buf.empty()) return 0;
  if (!mu.try_lock()) return 0;
  std::size_t n = 0;
  try {
    op.check_deadline(poll_mode::write);
    n = send_once(op, c.fd_->sysfd, buf);
  } catch (...) {
    mu.unlock();
    throw;
  }
  mu.unlock();
  return n;
}

}  // namespace weft::detail

namespace weft::net {

void conn::write(std::string_view s) { write(std::as_bytes(std::span<const char>(s.data(), s.size()))); }

void conn::close_write() {
  fd_op op(fd_, "close_write", nullptr);
  if (int r = detail::os::sock_shutdown(fd_->sysfd, SHUT_WR); r < 0) op.fail(-r);
}

void conn::close() { detail::netfd_close(fd_); }

void conn::set_deadline(time_point t) { detail::netfd_set_deadline(fd_, "set_deadline", true, true, t); }
void conn::set_read_deadline(time_point t) { detail::netfd_set_deadline(fd_, "set_read_deadline", true, false, t); }
void conn::set_write_deadline(time_point t) { detail::netfd_set_deadline(fd_, "set_write_deadline", false, true, t); }

std::string conn::local_address() const { return fd_ ? fd_->laddr : std::string(); }
std::string conn::remote_address() const { return fd_ ? fd_->raddr : std::string(); }

}  // namespace weft::net
