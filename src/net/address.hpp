// src/net/address.hpp: networks and addresses of weft::net: parsing
// "host:port", "[v6]:port" and Unix paths, resolving them to socket
// addresses, and formatting socket addresses back. Design in address.cpp.
#pragma once

#include <sys/socket.h>

#include <string>
#include <string_view>
#include <vector>

namespace weft::detail {

// A network name, parsed.
struct network {
  std::string name;  // "tcp", "tcp4", "tcp6", "unix"
  int family;  // AF_UNSPEC (tcp), AF_INET, AF_INET6, AF_UNIX
  bool tcp() const noexcept { return family != AF_UNIX; }
};

struct sock_addr {
  sockaddr_storage ss{};
  socklen_t len = 0;
  const sockaddr* get() const noexcept { return reinterpret_cast<const sockaddr*>(&ss); }
  int family() const noexcept { return ss.ss_family; }
};

// Throws std::system_error (invalid_argument) "weft::net::OP NET ADDRESS:
// unknown network NET" for anything but the four names.
network parse_network(const char* op, std::string_view net, std::string_view address);

// The socket addresses address stands for, in the order to try them; never
// empty. passive: for listen (an empty host is every local address;
// otherwise the local system). Names are resolved with getaddrinfo through
// weft::blocking. Throws std::system_error naming op, the network and
// address.
std::vector<sock_addr> resolve(const char* op, const network& n, std::string_view address, bool passive);

// "127.0.0.1:80", "[::1]:80" (an IPv4-mapped IPv6 address prints as IPv4),
// a Unix path, "@name" for an abstract one, "" for an unnamed one.
std::string format_address(const sockaddr_storage& ss, socklen_t len);
// The formatted local / peer address of a socket; "" if the call fails.
std::string local_address_of(int fd);
std::string peer_address_of(int fd);

// ---- errors (errors.cpp)

// "weft::net::OP NET ADDRESS": the prefix of every error message (just
// "weft::net::OP" without a network).
std::string describe(const char* op, std::string_view net, std::string_view address);
// std::system_error(err, generic_category) with what() "WHAT: strerror".
[[noreturn]] void throw_net_error(const std::string& what, int err);
// "WHAT: use of closed network connection", equal to errc::bad_file_descriptor.
[[noreturn]] void throw_net_closed(const std::string& what);
// A getaddrinfo failure (EAI_* code; EAI_SYSTEM reads errno).
[[noreturn]] void throw_gai_error(const std::string& what, int eai, int err);

}  // namespace weft::detail
