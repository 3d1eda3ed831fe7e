// src/wire/endpoint.cpp: endpoint parsing, dialing and listening.
#include "wire/endpoint.hpp"

#include <linux/magic.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <stdexcept>
#include <system_error>

#include <weft/errors.hpp>
#include <weft/mutex.hpp>

#include "platform/lock_scope.hpp"
#include "platform/thread_annotations.hpp"
#include "wire/tls.hpp"

namespace weft::wire {

std::string endpoint::text() const {
  if (!tls) return network + ":" + address;
  return network == "unix" ? "tls:unix:" + address : "tls:" + address;
}

endpoint parse_endpoint(std::string_view s) {
  auto bad = [&](const char* why) {
    return std::invalid_argument("weft: runtime server address '" + std::string(s) + "' " + why +
                                 ": write unix:/path/to/socket or tcp:host:port, or over TLS tls:host:port or "
                                 "tls:unix:/path/to/socket");
  };
  std::string_view rest = s;
  bool tls = false;
  if (rest.starts_with("tls:")) {
    tls = true;
    rest.remove_prefix(4);
    if (!rest.starts_with("unix:") && !rest.starts_with("tcp:")) {
      if (rest.empty()) throw bad("has no address");
      endpoint e{"tcp", std::string(rest), true};
      std::size_t port = e.address.rfind(':');
      if (port == std::string::npos) throw bad("has no port");
      std::string host = e.address.substr(0, port);
      if (host.find(':') != std::string::npos && !(host.starts_with('[') && host.ends_with(']')))
        throw bad("names an unknown network");  // "tls:udp:h:p"; an IPv6 host is bracketed
      return e;
    }
  }
  std::size_t colon = rest.find(':');
  if (colon == std::string_view::npos) throw bad("has no network");
  endpoint e{std::string(rest.substr(0, colon)), std::string(rest.substr(colon + 1)), tls};
  if (e.network != "unix" && e.network != "tcp") throw bad("names an unknown network");
  if (e.address.empty()) throw bad("has no address");
  if (e.network == "tcp" && e.address.find(':') == std::string::npos) throw bad("has no port");
  return e;
}

bool wants_tls(const endpoint& e) { return e.tls || tls_from_env(); }

std::string user_runtime_dir(const char* xdg) {
  return xdg && *xdg ? std::string(xdg) + "/weft" : "/tmp/weft-" + std::to_string(::getuid());
}

std::string user_runtime_dir() { return user_runtime_dir(std::getenv("XDG_RUNTIME_DIR")); }

std::string user_scratch_dir(const char* xdg) {
  if (xdg && *xdg) return user_runtime_dir(xdg);
  static const bool shm_in_memory = [] {
    struct statfs fs {};
    if (::statfs("/dev/shm", &fs) != 0 || fs.f_type != TMPFS_MAGIC) return false;
    // A small one (a container's 64 MiB) would fill up with worker logs:
    // the disk is better then.
    return static_cast<unsigned long long>(fs.f_bavail) * static_cast<unsigned long long>(fs.f_bsize) >= 1ull << 30;
  }();
  return shm_in_memory ? "/dev/shm/weft-" + std::to_string(::getuid()) : user_runtime_dir(nullptr);
}

std::string user_scratch_dir() { return user_scratch_dir(std::getenv("XDG_RUNTIME_DIR")); }

void make_private_dir(const std::string& dir) {
  if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST)
    throw std::system_error(errno, std::generic_category(), "weft: cannot make " + dir);
  struct stat st {};
  if (::lstat(dir.c_str(), &st) != 0)
    throw std::system_error(errno, std::generic_category(), "weft: cannot look at " + dir);
  if (!S_ISDIR(st.st_mode) || st.st_uid != ::geteuid() || (st.st_mode & 077) != 0) {
    char mode[8];
    std::snprintf(mode, sizeof mode, "%03o", static_cast<unsigned>(st.st_mode & 0777));
    throw std::system_error(EACCES, std::generic_category(),
                            "weft: " + dir + " is not a directory of this user's alone (" +
                                (S_ISDIR(st.st_mode) ? "a directory" : "not a directory") + ", owner uid " +
                                std::to_string(st.st_uid) + ", mode " + mode +
                                "): remove it, or set XDG_RUNTIME_DIR to a directory of your own");
  }
}

endpoint default_endpoint() { return endpoint{"unix", user_runtime_dir() + "/weftd.sock"}; }

net::conn dial(const endpoint& e, std::chrono::nanoseconds timeout) { return net::dial(e.network, e.address, timeout); }

stream connect(const endpoint& e, std::chrono::nanoseconds timeout, std::string_view key) {
  const bool tls = wants_tls(e);
  if (tls && key.empty())
    throw remote_error(remote_errc::unauthorized,
                       "it is reached over TLS, which needs the cluster key: set WEFT_KEY_FILE to the key file its "
                       "weftd was started with");
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  net::conn c = dial(e, timeout);
  if (!tls) return stream(std::move(c));
  // One client context per key: the PSK is derived once, not per
  // connection. Never freed: OpenSSL's own exit-time cleanup may run before
  // a static's destructor would.
  struct cache {
    weft::mutex mu;
    std::string key GUARDED_BY(mu);
    std::shared_ptr<const tls_context> ctx GUARDED_BY(mu);
  };
  static cache* contexts = new cache;
  std::shared_ptr<const tls_context> ctx;
  {
    detail::lock_scope lk(contexts->mu);
    if (!contexts->ctx || contexts->key != key) {
      contexts->ctx = std::make_shared<const tls_context>(tls_context::role::client, key);
      contexts->key = std::string(key);
    }
    ctx = contexts->ctx;
  }
  c.set_deadline(deadline);
  std::unique_ptr<tls_session> s = tls_connect(c, std::move(ctx), e.plain().text());
  c.set_deadline(net::time_point::max());
  return stream(std::move(c), std::move(s));
}

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
