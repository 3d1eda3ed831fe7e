// src/platform/socket.cpp: the socket system calls, returning -errno.
#include "platform/socket.hpp"

#include <netinet/in.h>
#include <unistd.h>

#include <cerrno>

#include "platform/checked.hpp"

namespace weft::detail::os {
int sock_open(int family) noexcept {
  return checked([&] { return ::socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0); });
}

int sock_bind(int fd, const sockaddr* sa, socklen_t len) noexcept {
  return checked([&] { return ::bind(fd, sa, len); });
}

int sock_listen(int fd, int backlog) noexcept {
  return checked([&] { return ::listen(fd, backlog); });
}

int sock_accept(int fd) noexcept {
  if (fault f; take_fault(fault_point::accept, &f)) return -(f.err != 0 ? f.err : EMFILE);
  return checked([&] { return ::accept4(fd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC); });
}

int sock_connect(int fd, const sockaddr* sa, socklen_t len) noexcept {
  return checked([&] { return ::connect(fd, sa, len); });
}

long sock_send(int fd, const void* buf, std::size_t len) noexcept {
  return checked_io(fault_point::write, len, [&](std::size_t n) { return ::send(fd, buf, n, MSG_NOSIGNAL); });
}

long sock_recv(int fd, void* buf, std::size_t len) noexcept {
  return checked_io(fault_point::read, len, [&](std::size_t n) { return ::recv(fd, buf, n, 0); });
}

long sock_recv(int fd, void* buf, std::size_t len, bool* short_read) noexcept {
  *short_read = false;
  return checked_io(fault_point::read, len, [&](std::size_t n) {
    ssize_t r = ::recv(fd, buf, n, 0);
    *short_read = r > 0 && static_cast<std::size_t>(r) < n;
    return r;
  });
}

int sock_shutdown(int fd, int how) noexcept {
  return checked([&] { return ::shutdown(fd, how); });
}

int sock_setopt(int fd, int level, int name, const void* value, socklen_t len) noexcept {
  return checked([&] { return ::setsockopt(fd, level, name, value, len); });
}

int sock_setopt_int(int fd, int level, int name, int value) noexcept {
  return sock_setopt(fd, level, name, &value, sizeof value);
}

int sock_error(int fd) noexcept {
  int err = 0;
  socklen_t len = sizeof err;
  int r = checked([&] { return ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len); });
  return r < 0 ? r : err;
}

int sock_name(int fd, sockaddr_storage* sa, socklen_t* len) noexcept {
  *len = sizeof *sa;
  return checked([&] { return ::getsockname(fd, reinterpret_cast<sockaddr*>(sa), len); });
}

int sock_peer(int fd, sockaddr_storage* sa, socklen_t* len) noexcept {
  *len = sizeof *sa;
  return checked([&] { return ::getpeername(fd, reinterpret_cast<sockaddr*>(sa), len); });
}

int fd_close(int fd) noexcept {
  int r = checked([&] { return ::close(fd); });
  return r == -EINTR ? 0 : r;
}

int path_unlink(const char* path) noexcept {
  return checked([&] { return ::unlink(path); });
}

int addr_lookup(const char* host, const char* service, const addrinfo* hints, addrinfo** res, int* err) noexcept {
  int saved = errno;
  errno = 0;
  int r = ::getaddrinfo(host, service, hints, res);
  *err = errno;
  errno = saved;
  return r;
}

void addr_free(addrinfo* res) noexcept {
  if (res) ::freeaddrinfo(res);
}

}  // namespace weft::detail::os
