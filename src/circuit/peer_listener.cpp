// src/circuit/peer_listener.cpp: the peer listener (peer_listener.hpp).
#include "circuit/peer_listener.hpp"

#include <unistd.h>

#include <cstdlib>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <system_error>

#include <weft/go.hpp>
#include <weft/mutex.hpp>
#include <weft/net.hpp>

#include "circuit/identity.hpp"
#include "circuit/peers.hpp"
#include "net/netfd.hpp"
#include "platform/spinlock.hpp"
#include "wire/cluster_key.hpp"
#include "wire/endpoint.hpp"
#include "wire/tls.hpp"

namespace weft::circuit::detail {

namespace {

// The listener and its socket file, shared by the accept loop and the
// run's end, which may come first (then the socket is never served).
struct listener_box {
  weft::detail::spinlock lock;
  std::optional<net::listener> ln GUARDED_BY(lock);
  std::string path GUARDED_BY(lock);
  bool stopped GUARDED_BY(lock) = false;

  // Closing wakes the accept loop (net::listener::close, from any
  // goroutine); the listener object stays in the box until both are done.
  void stop() {
    net::listener* l = nullptr;
    std::string p;
    {
      weft::detail::lock_scope lk(lock);
      stopped = true;
      if (ln) l = &*ln;
      p = path;
    }
    if (l) l->close();
    if (!p.empty()) ::unlink(p.c_str());
  }
};

weft::mutex start_mu;  // a second caller waits until the first listens

// "127.0.0.1:0", "[::1]:7", "localhost:9": a loopback host.
bool loopback(const std::string& host_port) {
  std::string host = host_port.substr(0, host_port.rfind(':'));
  if (host.size() >= 2 && host.front() == '[') host = host.substr(1, host.size() - 2);
  return host == "localhost" || host == "::1" || host.rfind("127.", 0) == 0;
}

}  // namespace

void start_peer_listener() {
  std::lock_guard guard(start_mu);
  auto box = std::make_shared<listener_box>();
  if (!register_listener([box] { box->stop(); })) return;
  std::string key;
  std::shared_ptr<const wire::tls_context> tls;  // null: plain
  try {
    key = wire::cluster_key_from_env();
    const char* env = std::getenv("WEFT_PEER_LISTEN");
    wire::endpoint e = wire::parse_endpoint(env && *env ? std::string(env) : peer_address(self_id()));
    if (e.network == "tcp" && key.empty() && !loopback(e.address))
      throw std::runtime_error("weft: WEFT_PEER_LISTEN=" + e.text() +
                               " is beyond loopback: set WEFT_KEY_FILE to the cluster key first");
    if (peers_use_tls()) e.tls = true;
    if (e.tls) {
      if (key.empty())
        throw std::runtime_error("weft: this process's peer links are TLS (" + e.text() +
                                 "), which needs the cluster key: set WEFT_KEY_FILE");
      tls = std::make_shared<const wire::tls_context>(wire::tls_context::role::server, key);
    }
    net::listener ln = wire::listen(e);
    const std::string bound = e.network == "tcp" ? wire::endpoint{"tcp", ln.address(), e.tls}.text() : e.text();
    weft::detail::lock_scope lk(box->lock);
    if (e.network == "unix") box->path = e.address;
    if (box->stopped) {
      lk.unlock();
      ln.close();
      if (e.network == "unix") ::unlink(e.address.c_str());
      return;
    }
    box->ln.emplace(std::move(ln));
    lk.unlock();
    set_self_address(bound);
  } catch (...) {
    unregister_listener();
    throw;
  }
  const auto lease = run_times().lease;
  go_counted("weft: peer listener", [box, key, lease, tls] {
    for (;;) {
      net::conn c;
      try {
        net::listener* l = nullptr;
        {
          weft::detail::lock_scope lk(box->lock);
          if (box->ln) l = &*box->ln;
        }
        if (l == nullptr) return;
        // Closed is the run's end, and every worker's: no exception for it.
        std::optional<net::conn> got = weft::detail::net_access::accept_unless_closed(*l);
        if (!got) return;
        c = std::move(*got);
      } catch (const std::system_error&) {
        return;  // the socket failed: peers can no longer dial this run
      }
      go_counted("weft: peer handshake", [c = std::make_shared<net::conn>(std::move(c)), key, lease, tls] {
        try {
          if (auto link = peer_link::accept(std::move(*c), key, lease, tls)) adopt(std::move(link));
        } catch (...) {}
      });
    }
  });
}

}  // namespace weft::circuit::detail
