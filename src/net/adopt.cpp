// src/net/adopt.cpp: adopt_socket (adopt.hpp).
#include "net/adopt.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <system_error>

#include "net/netfd.hpp"

namespace weft::detail {

weft::net::conn adopt_socket(int sysfd, const std::string& label) {
  const int flags = ::fcntl(sysfd, F_GETFL);
  if (flags < 0 || ::fcntl(sysfd, F_SETFL, flags | O_NONBLOCK) < 0) {
    const int err = errno;
    ::close(sysfd);
    throw std::system_error(err, std::generic_category(), "adopting " + label);
  }
  netfd* fd = netfd_new(sysfd, "unix");
  fd->laddr = label;
  fd->raddr = label;
  return net_access::make_conn(fd);
}

}  // namespace weft::detail
