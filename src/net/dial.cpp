// src/net/dial.cpp: weft::net::dial: a non-blocking connect that parks the
// goroutine until the connection is made, refused, or out of time.
//
// Per address, in the order resolve gives them: open a non-blocking socket,
// register it with the netpoller, connect. EINPROGRESS (TCP's usual answer)
// means wait for the socket to become writable, then read SO_ERROR for the
// outcome. A writable edge is only a hint (the netpoller may report one
// early), so "no error yet" is confirmed with getpeername and otherwise
// waited for again, as Go's connect does. The timeout is one deadline for
// the whole dial, set as the socket's write deadline while it connects and
// cleared once it is connected. The first address's error is the one
// reported when all fail, named with that address.
#include <weft/net.hpp>

#include <netinet/in.h>
#include <netinet/tcp.h>

#include <cerrno>

#include "net/address.hpp"
#include "net/netfd.hpp"
#include "platform/futex.hpp"
#include "platform/socket.hpp"

namespace weft::net {
namespace {

using detail::netfd;
using detail::poll_mode;
using detail::poll_result;

// Waits for a connect in progress: 0 once connected, or an errno.
int await_connect(netfd* fd, std::int64_t deadline) {
  for (;;) {
    if (deadline != INT64_MAX && detail::os::nanotime() >= deadline) return ETIMEDOUT;
    switch (detail::netpoll_wait(fd->pd, poll_mode::write)) {
      case poll_result::ready: break;
      case poll_result::timed_out: return ETIMEDOUT;
      case poll_result::closing: return EBADF;
    }
    int err = detail::os::sock_error(fd->sysfd);
    if (err < 0) return -err;
    if (err == EINPROGRESS || err == EALREADY || err == EINTR) continue;
    if (err != 0) return err;
    sockaddr_storage ss{};
    socklen_t len = 0;
    int r = detail::os::sock_peer(fd->sysfd, &ss, &len);
    if (r == 0) return 0;
    if (r != -ENOTCONN) return -r;
  }
}

// Connects to one address: the new netfd, or null with *err set.
netfd* dial_one(const detail::network& n, const detail::sock_addr& a, std::int64_t deadline, int* err) {
  int s = detail::os::sock_open(a.family());
  if (s < 0) {
    *err = -s;
    return nullptr;
  }
  if (n.tcp()) detail::os::sock_setopt_int(s, IPPROTO_TCP, TCP_NODELAY, 1);
  netfd* fd = detail::netfd_new(s, n.name);
  if (deadline != INT64_MAX) detail::netpoll_set_deadline(fd->pd, poll_mode::write, deadline);
  int r = detail::os::sock_connect(s, a.get(), a.len);
  if (r == -EINPROGRESS || r == -EALREADY || r == -EINTR) {
    r = -await_connect(fd, deadline);
  }
  if (r < 0) {
    *err = -r;
    detail::netfd_destroy(fd);
    return nullptr;
  }
  if (deadline != INT64_MAX) detail::netpoll_set_deadline(fd->pd, poll_mode::write, INT64_MAX);
  fd->laddr = detail::local_address_of(s);
  fd->raddr = detail::format_address(a.ss, a.len);
  return fd;
}

}  // namespace

conn dial(std::string_view network, std::string_view address, std::chrono::nanoseconds timeout) {
  detail::network n = detail::parse_network("dial", network, address);
  std::int64_t deadline = INT64_MAX;
  if (timeout != std::chrono::nanoseconds::zero()) {
    std::int64_t now = detail::os::nanotime();
    deadline = timeout.count() > INT64_MAX - now ? INT64_MAX : now + timeout.count();
  }
  auto addrs = detail::resolve("dial", n, address, /*passive=*/false);
  int first_err = 0;
  std::string first_addr;
  for (const auto& a : addrs) {
    int err = 0;
    if (netfd* fd = dial_one(n, a, deadline, &err)) return detail::net_access::make_conn(fd);
    if (first_err == 0) {
      first_err = err;
      first_addr = n.family == AF_UNIX ? std::string(address) : detail::format_address(a.ss, a.len);
    }
    if (err == ETIMEDOUT && deadline != INT64_MAX && detail::os::nanotime() >= deadline) break;
  }
  detail::throw_net_error(detail::describe("dial", n.name, first_addr), first_err);
}

conn dial(std::string_view network, std::string_view address) {
  return dial(network, address, std::chrono::nanoseconds::zero());
}

}  // namespace weft::net
