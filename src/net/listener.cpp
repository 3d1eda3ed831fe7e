// src/net/listener.cpp: weft::net::listen and listener: a bound, listening
// socket whose accept parks the goroutine.
//
// listen tries the resolved addresses in order and keeps the first that
// binds (for tcp with an empty host: the dual-stack "::", then "0.0.0.0"
// where the kernel has no IPv6). TCP sockets get SO_REUSEADDR, so a
// restarted server can bind while old connections sit in TIME_WAIT. The
// backlog asks for 65535; the kernel caps it at net.core.somaxconn.
//
// accept uses accept4 (the new socket is non-blocking and close-on-exec in
// the same call), retries on ECONNABORTED (a client that gave up while
// queued is not the listener's failure) and waits on EAGAIN.
#include <weft/net.hpp>

#include <netinet/in.h>
#include <netinet/tcp.h>

#include <cerrno>
#include <optional>
#include <utility>

#include "net/address.hpp"
#include "net/netfd.hpp"
#include "platform/socket.hpp"

namespace weft::net {

using detail::fd_op;
using detail::poll_mode;

namespace {

constexpr int backlog = 65535;

// Opens, configures, binds and listens on one address: the socket or -errno.
int bind_listen(const detail::network& n, const detail::sock_addr& a) {
  int s = detail::os::sock_open(a.family());
  if (s < 0) return s;
  int r = 0;
  if (n.tcp()) r = detail::os::sock_setopt_int(s, SOL_SOCKET, SO_REUSEADDR, 1);
  if (r == 0 && a.family() == AF_INET6) {
    // tcp6 is IPv6 only; tcp on "::" takes IPv4 clients too (Go's choices).
    r = detail::os::sock_setopt_int(s, IPPROTO_IPV6, IPV6_V6ONLY, n.family == AF_INET6 ? 1 : 0);
  }
  if (r == 0) r = detail::os::sock_bind(s, a.get(), a.len);
  if (r == 0) r = detail::os::sock_listen(s, backlog);
  if (r < 0) {
    detail::os::fd_close(s);
    return r;
  }
  return s;
}

}  // namespace

listener listen(std::string_view network, std::string_view address) {
  detail::network n = detail::parse_network("listen", network, address);
  auto addrs = detail::resolve("listen", n, address, /*passive=*/true);
  int first_err = 0;
  for (const auto& a : addrs) {
    int s = bind_listen(n, a);
    if (s < 0) {
      if (first_err == 0) first_err = -s;
      continue;
    }
    detail::netfd* fd = detail::netfd_new(s, n.name);
    fd->laddr = detail::local_address_of(s);
    if (n.family == AF_UNIX && !address.empty() && address[0] != '@') fd->unlink_path = std::string(address);
    return detail::net_access::make_listener(fd);
  }
  detail::throw_net_error(detail::describe("listen", n.name, address), first_err);
}

listener::listener(listener&& other) noexcept : fd_(std::exchange(other.fd_, nullptr)) {}

listener& listener::operator=(listener&& other) noexcept {
  if (this != &other) {
    detail::netfd_destroy(fd_);
    fd_ = std::exchange(other.fd_, nullptr);
  }
  return *this;
}

listener::~listener() { detail::netfd_destroy(fd_); }

namespace {

// listener::accept; with `quiet`, empty once the listener is closed
// instead of throwing (net_access::accept_unless_closed).
std::optional<conn> accept_on(detail::netfd* fd, bool quiet) {
  bool closed = false;
  fd_op op(fd, "accept", fd ? &fd->read_mu : nullptr, quiet ? &closed : nullptr);
  if (closed) return std::nullopt;
  for (;;) {
    op.check_deadline(poll_mode::read);
    int s = detail::os::sock_accept(fd->sysfd);
    if (s >= 0) {
      if (fd->net != "unix") detail::os::sock_setopt_int(s, IPPROTO_TCP, TCP_NODELAY, 1);
      detail::netfd* c = detail::netfd_new(s, fd->net);
      c->laddr = detail::local_address_of(s);
      c->raddr = detail::peer_address_of(s);
      return detail::net_access::make_conn(c);
    }
    if (s == -EINTR || s == -ECONNABORTED) continue;
    if (s != -EAGAIN) op.fail(-s);
    if (!op.wait_unless_closed(poll_mode::read)) return std::nullopt;
  }
}

}  // namespace

conn listener::accept() { return *accept_on(fd_, false); }

void listener::close() { detail::netfd_close(fd_); }

std::string listener::address() const { return fd_ ? fd_->laddr : std::string(); }

void listener::set_deadline(time_point t) { detail::netfd_set_deadline(fd_, "set_deadline", true, false, t); }

}  // namespace weft::net

namespace weft::detail {

std::optional<weft::net::conn> net_access::accept_unless_closed(weft::net::listener& l) {
  return weft::net::accept_on(l.fd_, true);
}

}  // namespace weft::detail
