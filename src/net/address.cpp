// src/net/address.cpp: from the strings a user writes to socket addresses
// and back.
//
// "host:port" is split as Go's net.SplitHostPort does: the last colon
// separates the port, a host with colons must be bracketed ("[::1]:80"), an
// empty port is port 0. Numeric hosts and ports (the common case, and every
// address ln.address() returns) are converted on the spot with inet_pton,
// no system call; anything else (a host name, a zone, a service name such as
// "http") goes to getaddrinfo inside weft::blocking, because resolving a
// name may wait on the network.
//
// An empty host means every local address to listen (tcp: "::" first, the
// dual-stack socket Go uses, then "0.0.0.0" for a kernel without IPv6) and
// the local system to dial (127.0.0.1, or ::1 for tcp6). Names resolved for
// listen put IPv4 first, as Go does; for dial, getaddrinfo's order is kept
// and dial tries each in turn.
//
// Unix addresses are paths; "@name" is an abstract socket (no file).
#include "net/address.hpp"

#include <arpa/inet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sys/un.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstddef>
#include <cstring>

#include <weft/blocking.hpp>

#include "platform/socket.hpp"

namespace weft::detail {
namespace {

struct host_port {
  std::string_view host, port;
};

// Go's SplitHostPort; nullptr or why the address is malformed.
const char* split_host_port(std::string_view a, host_port& hp) {
  if (!a.empty() && a[0] == '[') {
    std::size_t end = a.find(']');
    if (end == std::string_view::npos) return "missing ']' in address";
    if (end + 1 == a.size() || a[end + 1] != ':') return "missing port in address";
    hp.host = a.substr(1, end - 1);
    hp.port = a.substr(end + 2);
  } else {
    std::size_t colon = a.rfind(':');
    if (colon == std::string_view::npos) return "missing port in address";
    hp.host = a.substr(0, colon);
    hp.port = a.substr(colon + 1);
    if (hp.host.find(':') != std::string_view::npos) return "too many colons in address";
  }
  if (hp.host.find_first_of("[]") != std::string_view::npos) return "unexpected '[' or ']' in address";
  if (hp.port.find_first_of("[]:") != std::string_view::npos) return "unexpected '[', ']' or ':' in port";
  return nullptr;
}

// A decimal port (empty: 0); -1 if it is not one (a service name, say).
int numeric_port(std::string_view p) {
  if (p.empty()) return 0;
  int v = -1;
  auto [end, ec] = std::from_chars(p.data(), p.data() + p.size(), v);
  if (ec != std::errc() || end != p.data() + p.size() || v < 0) return -1;
  return v;
}

sock_addr make_v4(const in_addr& a, int port) {
  sock_addr s;
  auto* sin = reinterpret_cast<sockaddr_in*>(&s.ss);
  sin->sin_family = AF_INET;
  sin->sin_port = htons(static_cast<std::uint16_t>(port));
  sin->sin_addr = a;
  s.len = sizeof(sockaddr_in);
  return s;
}

sock_addr make_v6(const in6_addr& a, int port) {
  sock_addr s;
  auto* sin6 = reinterpret_cast<sockaddr_in6*>(&s.ss);
  sin6->sin6_family = AF_INET6;
  sin6->sin6_port = htons(static_cast<std::uint16_t>(port));
  sin6->sin6_addr = a;
  s.len = sizeof(sockaddr_in6);
  return s;
}

sock_addr v4_literal(const char* text, int port) {
  in_addr a{};
  inet_pton(AF_INET, text, &a);
  return make_v4(a, port);
}

sock_addr v6_literal(const char* text, int port) {
  in6_addr a{};
  inet_pton(AF_INET6, text, &a);
  return make_v6(a, port);
}

bool wants(const network& n, int family) { return n.family == AF_UNSPEC || n.family == family; }

// The default host: every local address (passive) or the local system.
std::vector<sock_addr> empty_host(const network& n, int port, bool passive) {
  std::vector<sock_addr> out;
  if (wants(n, AF_INET6) && (passive || n.family == AF_INET6)) out.push_back(v6_literal(passive ? "::" : "::1", port));
  if (wants(n, AF_INET)) out.push_back(v4_literal(passive ? "0.0.0.0" : "127.0.0.1", port));
  return out;
}

std::vector<sock_addr> lookup(const char* op, const network& n, std::string_view address, const std::string& host,
                              const std::string& port, bool passive) {
  addrinfo hints{};
  hints.ai_family = n.family;
  hints.ai_socktype = SOCK_STREAM;
  if (passive && host.empty()) hints.ai_flags |= AI_PASSIVE;
  addrinfo* res = nullptr;
  int err = 0;
  const char* node = host.empty() ? nullptr : host.c_str();
  const char* service = port.empty() ? "0" : port.c_str();
  int eai = weft::blocking([&] { return os::addr_lookup(node, service, &hints, &res, &err); });
  if (eai != 0) throw_gai_error(describe(op, n.name, address), eai, err);
  std::vector<sock_addr> out;
  for (addrinfo* ai = res; ai; ai = ai->ai_next) {
    if (!ai->ai_addr || ai->ai_addrlen > sizeof(sockaddr_storage)) continue;
    if (ai->ai_family != AF_INET && ai->ai_family != AF_INET6) continue;
    sock_addr s;
    std::memcpy(&s.ss, ai->ai_addr, ai->ai_addrlen);
    s.len = ai->ai_addrlen;
    bool dup = std::any_of(out.begin(), out.end(),
                           [&](const sock_addr& o) { return o.len == s.len && std::memcmp(&o.ss, &s.ss, s.len) == 0; });
    if (!dup) out.push_back(s);
  }
  os::addr_free(res);
  if (passive) {
    std::stable_partition(out.begin(), out.end(), [](const sock_addr& s) { return s.family() == AF_INET; });
  }
  return out;
}

std::vector<sock_addr> resolve_unix(const char* op, const network& n, std::string_view path) {
  sock_addr s;
  auto* sun = reinterpret_cast<sockaddr_un*>(&s.ss);
  sun->sun_family = AF_UNIX;
  constexpr std::size_t base = offsetof(sockaddr_un, sun_path);
  if (path.empty()) throw_net_error(describe(op, n.name, path) + ": missing address", EINVAL);
  bool abstract = path[0] == '@';
  // A path needs room for its terminating NUL; an abstract name does not.
  if (path.size() + (abstract ? 0 : 1) > sizeof sun->sun_path) {
    throw_net_error(describe(op, n.name, path), ENAMETOOLONG);
  }
  std::memcpy(sun->sun_path, path.data(), path.size());
  if (abstract) sun->sun_path[0] = '\0';
  s.len = static_cast<socklen_t>(base + path.size() + (abstract ? 0 : 1));
  return {s};
}

}  // namespace

network parse_network(const char* op, std::string_view net, std::string_view address) {
  if (net == "tcp") return {"tcp", AF_UNSPEC};
  if (net == "tcp4") return {"tcp4", AF_INET};
  if (net == "tcp6") return {"tcp6", AF_INET6};
  if (net == "unix") return {"unix", AF_UNIX};
  throw_net_error(describe(op, net, address) + ": unknown network " + std::string(net), EINVAL);
}

std::vector<sock_addr> resolve(const char* op, const network& n, std::string_view address, bool passive) {
  if (n.family == AF_UNIX) return resolve_unix(op, n, address);
  host_port hp;
  if (const char* why = split_host_port(address, hp)) {
    throw_net_error(describe(op, n.name, address) + ": " + why, EINVAL);
  }
  int port = numeric_port(hp.port);
  if (port > 65535) throw_net_error(describe(op, n.name, address) + ": invalid port", EINVAL);
  std::string host(hp.host);
  std::vector<sock_addr> out;
  if (port >= 0 && host.empty()) {
    out = empty_host(n, port, passive);
  } else if (in_addr a4{}; port >= 0 && inet_pton(AF_INET, host.c_str(), &a4) == 1) {
    if (wants(n, AF_INET)) out.push_back(make_v4(a4, port));
  } else if (in6_addr a6{}; port >= 0 && inet_pton(AF_INET6, host.c_str(), &a6) == 1) {
    if (wants(n, AF_INET6)) out.push_back(make_v6(a6, port));
  } else {
    out = lookup(op, n, address, host, std::string(hp.port), passive);
  }
  if (out.empty()) throw_net_error(describe(op, n.name, address) + ": no suitable address", EAFNOSUPPORT);
  return out;
}

std::string format_address(const sockaddr_storage& ss, socklen_t len) {
  char buf[INET6_ADDRSTRLEN + IF_NAMESIZE + 16];
  switch (ss.ss_family) {
    case AF_INET: {
      const auto& sin = reinterpret_cast<const sockaddr_in&>(ss);
      inet_ntop(AF_INET, &sin.sin_addr, buf, sizeof buf);
      return std::string(buf) + ":" + std::to_string(ntohs(sin.sin_port));
    }
    case AF_INET6: {
      const auto& sin6 = reinterpret_cast<const sockaddr_in6&>(ss);
      std::string port = std::to_string(ntohs(sin6.sin6_port));
      if (IN6_IS_ADDR_V4MAPPED(&sin6.sin6_addr)) {
        inet_ntop(AF_INET, &sin6.sin6_addr.s6_addr[12], buf, sizeof buf);
        return std::string(buf) + ":" + port;
      }
      inet_ntop(AF_INET6, &sin6.sin6_addr, buf, sizeof buf);
      std::string host = buf;
      if (sin6.sin6_scope_id != 0) {
        char ifname[IF_NAMESIZE];
        host += '%';
        host += if_indextoname(sin6.sin6_scope_id, ifname) ? std::string(ifname) : std::to_string(sin6.sin6_scope_id);
      }
      return "[" + host + "]:" + port;
    }
    case AF_UNIX: {
      const auto& sun = reinterpret_cast<const sockaddr_un&>(ss);
      constexpr std::size_t base = offsetof(sockaddr_un, sun_path);
      if (len <= base) return "";  // unnamed
      std::size_t n = std::min<std::size_t>(len - base, sizeof sun.sun_path);
      if (sun.sun_path[0] == '\0') return "@" + std::string(sun.sun_path + 1, n - 1);
      return std::string(sun.sun_path, strnlen(sun.sun_path, n));
    }
    default: return "";
  }
}

std::string local_address_of(int fd) {
  sockaddr_storage ss{};
  socklen_t len = 0;
  return os::sock_name(fd, &ss, &len) < 0 ? std::string() : format_address(ss, len);
}

std::string peer_address_of(int fd) {
  sockaddr_storage ss{};
  socklen_t len = 0;
  return os::sock_peer(fd, &ss, &len) < 0 ? std::string() : format_address(ss, len);
}

}  // namespace weft::detail
