// src/platform/socket.hpp: the socket system calls weft::net makes, behind
// one seam (a test can swap in a fault-injecting version).
//
// Every call returns what the system call returns on success and -errno on
// failure, and leaves errno alone: a goroutine may move to another thread at
// its next blocking point, so a result never travels in thread-local state.
// Sockets are always created non-blocking and close-on-exec.
#pragma once

#include <netdb.h>
#include <sys/socket.h>

#include <cstddef>

namespace weft::detail::os {

int sock_open(int family) noexcept;  // SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC
int sock_bind(int fd, const sockaddr* sa, socklen_t len) noexcept;
int sock_listen(int fd, int backlog) noexcept;
// The new socket is non-blocking and close-on-exec (accept4). A fault point
// (faults.hpp), as are sock_send and sock_recv.
int sock_accept(int fd) noexcept;
int sock_connect(int fd, const sockaddr* sa, socklen_t len) noexcept;
// send with MSG_NOSIGNAL: a write to a closed peer fails with -EPIPE instead
// of raising SIGPIPE.
long sock_send(int fd, const void* buf, std::size_t len) noexcept;
long sock_recv(int fd, void* buf, std::size_t len) noexcept;
// sock_recv that also says whether the read was short: fewer bytes than the
// system call was asked for (an injected short count asks for fewer, so it
// is not one). A stream socket's short read took everything it held.
long sock_recv(int fd, void* buf, std::size_t len, bool* short_read) noexcept;
int sock_shutdown(int fd, int how) noexcept;
int sock_setopt(int fd, int level, int name, const void* value, socklen_t len) noexcept;
int sock_setopt_int(int fd, int level, int name, int value) noexcept;
// SO_ERROR: the pending error of a non-blocking connect (0: none), or -errno
// if getsockopt itself failed.
int sock_error(int fd) noexcept;
int sock_name(int fd, sockaddr_storage* sa, socklen_t* len) noexcept;
int sock_peer(int fd, sockaddr_storage* sa, socklen_t* len) noexcept;
// close(2); EINTR counts as closed (Linux frees the descriptor regardless).
int fd_close(int fd) noexcept;
int path_unlink(const char* path) noexcept;
// getaddrinfo(3): 0 or an EAI_* code (with *err the errno for EAI_SYSTEM).
// Blocks on the network for names: callers wrap it in weft::blocking.
int addr_lookup(const char* host, const char* service, const addrinfo* hints, addrinfo** res, int* err) noexcept;
void addr_free(addrinfo* res) noexcept;

}  // namespace weft::detail::os
