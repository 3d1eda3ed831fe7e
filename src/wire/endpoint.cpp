// src/wire/endpoint.cpp: endpoint parsing, dialing and listening.
#include "wire/endpoint.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <stdexcept>
#include <system_error>

namespace weft::wire {

endpoint parse_endpoint(std::string_view s) {
  auto bad = [&](const char* why) {
    return std::invalid_argument("weft: runtime server address '" + std::string(s) + "' " + why +
                                 ": write unix:/path/to/socket or tcp:host:port");
  };
  std::size_t colon = s.find(':');
  if (colon == std::string_view::npos) throw bad("has no network");
  endpoint e{std::string(s.substr(0, colon)), std::string(s.substr(colon + 1))};
  if (e.network != "unix" && e.network != "tcp") throw bad("names an unknown network");
  if (e.address.empty()) throw bad("has no address");
  if (e.network == "tcp" && e.address.find(':') == std::string::npos) throw bad("has no port");
  return e;
}

std::string user_runtime_dir(const char* xdg) {
  return xdg && *xdg ? std::string(xdg) + "/weft" : "/tmp/weft-" + std::to_string(::getuid());
}

std::string user_runtime_dir() { return user_runtime_dir(std::getenv("XDG_RUNTIME_DIR")); }

endpoint default_endpoint() { return endpoint{"unix", user_runtime_dir() + "/weftd.sock"}; }

net::conn dial(const endpoint& e, std::chrono::nanoseconds timeout) { return net::dial(e.network, e.address, timeout); }

namespace {

// A socket file that refuses connections was left by a server that died:
// remove it. One that answers belongs to a live server: leave it.
void remove_stale_socket(const std::string& path) {
  struct stat st;
  if (::lstat(path.c_str(), &st) != 0 || !S_ISSOCK(st.st_mode)) return;
  try {
    net::conn c = net::dial("unix", path, std::chrono::milliseconds(200));
    throw std::system_error(EADDRINUSE, std::generic_category(),
                            "weft: a runtime server already listens on unix:" + path);
  } catch (const std::system_error& ex) {
    if (ex.code() == std::errc::connection_refused)
      ::unlink(path.c_str());
    else if (ex.code().value() == EADDRINUSE)
      throw;
  }
}

}  // namespace

net::listener listen(const endpoint& e) {
  if (e.network != "unix") return net::listen(e.network, e.address);
  std::size_t slash = e.address.rfind('/');
  if (slash != std::string::npos && slash > 0) {
    std::string dir = e.address.substr(0, slash);
    if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST)
      throw std::system_error(errno, std::generic_category(), "weft: cannot create " + dir);
  }
  remove_stale_socket(e.address);
  net::listener ln = net::listen("unix", e.address);
  // 0600 at once. (umask would close the window between bind and chmod,
  // but it is process-wide: other threads' files would get it too. The
  // window matters only for a path outside a 0700 directory.)
  if (::chmod(e.address.c_str(), 0600) != 0)
    throw std::system_error(errno, std::generic_category(), "weft: cannot make " + e.address + " mode 0600");
  return ln;
}

}  // namespace weft::wire
