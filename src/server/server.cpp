// src/server/server.cpp: listening, accepting and stopping (design in
// server.hpp; one connection's goroutines are in connection.cpp).
#include "server/server.hpp"

#include <arpa/inet.h>
#include <sys/stat.h>
#include <unistd.h>
#include <netinet/in.h>

#include <chrono>
#include <cstdlib>
#include <mutex>
#include <stdexcept>
#include <system_error>
#include <utility>
#include <vector>

#include <weft/go.hpp>
#include <weft/run.hpp>

namespace weft::server {

bool loopback(const wire::endpoint& e) {
  if (e.network == "unix") return true;
  std::size_t colon = e.address.rfind(':');
  std::string host = e.address.substr(0, colon == std::string::npos ? 0 : colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  if (host == "localhost") return true;
  in_addr a4;
  if (::inet_pton(AF_INET, host.c_str(), &a4) == 1) return (ntohl(a4.s_addr) >> 24) == 127;
  in6_addr a6;
  if (::inet_pton(AF_INET6, host.c_str(), &a6) == 1) return IN6_IS_ADDR_LOOPBACK(&a6);
  return false;  // every interface (an empty host), a name, another address
}

namespace {

std::string default_cache_dir() {
  const char* xdg = std::getenv("XDG_CACHE_HOME");
  if (xdg && *xdg == '/') return std::string(xdg) + "/weft/binaries";
  const char* home = std::getenv("HOME");
  if (home && *home == '/') return std::string(home) + "/.cache/weft/binaries";
  return wire::user_runtime_dir() + "/binaries";
}

// What this server offers. Its host's files ("os") only where attaching
// proves something: a Unix socket (the directory is the user's own) or a
// cluster key. Over TCP without a key any local user could connect, and
// would act with weftd's user.
state_options offered(const options& o) {
  state_options st = o.state;
  if (o.endpoint.network != "unix" && st.cluster_key.empty()) std::erase(st.self.capabilities, "os");
  return st;
}

}  // namespace

server::server(options o) : opts_(std::move(o)), st_(offered(opts_)) {}

// After weft::run has returned there is no goroutine to wait for (they
// were abandoned with the run); the listener closes with ln_.
server::~server() {
  if (weft::running()) stop();
}

void server::listen() {
  if (opts_.state.cluster_key.empty() && !loopback(opts_.endpoint)) {
    throw std::invalid_argument("refusing to listen on " + opts_.endpoint.text() +
                                ": beyond loopback every connection must be authenticated with the cluster key; "
                                "give one with --key FILE, or listen on 127.0.0.1, [::1] or a Unix socket");
  }
  if (opts_.endpoint.tls) {
    if (opts_.state.cluster_key.empty())
      throw std::invalid_argument("refusing to listen on " + opts_.endpoint.text() +
                                  " without a cluster key: TLS authenticates both ends with it (as a pre-shared "
                                  "key); give one with --key FILE");
    tls_ = std::make_shared<const wire::tls_context>(wire::tls_context::role::server, opts_.state.cluster_key);
  }
  ln_ = wire::listen(opts_.endpoint);
  address_ = opts_.endpoint.network == "unix" ? opts_.endpoint.text()
                                              : wire::endpoint{"tcp", ln_.address(), opts_.endpoint.tls}.text();
  std::string logs = wire::user_scratch_dir();
  wire::make_private_dir(logs);
  logs += "/logs";
  ::mkdir(logs.c_str(), 0700);
  host_identity self;
  self.name = opts_.state.host_name;
  if (self.name.empty()) {
    char host[256] = {};
    ::gethostname(host, sizeof host - 1);
    self.name = host;
  }
  self.address = address_;
  self.labels = opts_.state.host_labels;
  self.started_unix_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
          .count();
  worker_host::config wc;
  wc.server_address = address_;
  wc.host = std::move(self);
  wc.log_dir = logs;
  wc.cluster_key = opts_.state.cluster_key;
  wc.key_file = opts_.state.cluster_key_file;
  wc.cache_dir = opts_.state.binary_cache_dir.empty() ? default_cache_dir() : opts_.state.binary_cache_dir;
  wc.cache_bytes = opts_.state.binary_cache_bytes;
  wc.serve_forked = [this](net::conn c, std::string ticket) { serve_forked(std::move(c), std::move(ticket)); };
  st_.workers.configure(std::move(wc));
  st_.migrations.configure(address_, opts_.state.cluster_key_file);
}

std::string server::address() const { return address_; }

void server::serve() {
  {
    detail::lock_scope lk(mu_);
    if (stopping_) return;
    accepting_.add(1);
  }
  struct done {
    weft::wait_group& wg;
    ~done() { wg.done(); }
  } leaving{accepting_};  // stop() waits for this loop to be out of ln_ and mu_
  // Accept failures that are not the listener closing (out of file
  // descriptors, a connection reset before accept) back off and go on,
  // as Go's net/http server does: 5 ms doubling to 1 s.
  std::chrono::milliseconds backoff{0};
  for (;;) {
    net::conn c;
    try {
      c = ln_.accept();
    } catch (const std::system_error& e) {
      {
        detail::lock_scope lk(mu_);
        if (stopping_) return;
      }
      if (e.code() == std::errc::bad_file_descriptor) return;
      backoff =
          backoff.count() == 0 ? std::chrono::milliseconds(5) : std::min(backoff * 2, std::chrono::milliseconds(1000));
      st_.log(std::string("accept: ") + e.what() + "; retrying in " + std::to_string(backoff.count()) + " ms");
      this_goroutine::sleep_for(backoff);
      continue;
    }
    backoff = std::chrono::milliseconds(0);
    {
      detail::lock_scope lk(mu_);
      if (stopping_) return;  // c closes
      wg_.add(1);
    }
    go(
        go_options{.stack_size = 0, .name = "weftd connection"}, [this](net::conn cc) { connection(std::move(cc)); },
        std::move(c));
  }
}

void server::serve_forked(net::conn c, std::string worker_ticket) {
  {
    detail::lock_scope lk(mu_);
    if (stopping_) return;  // c closes: the worker's attach fails, as at any stop
    wg_.add(1);
  }
  go(
      go_options{.stack_size = 0, .name = "weftd connection"},
      [this](net::conn cc, std::string t) { connection(std::move(cc), std::move(t)); }, std::move(c),
      std::move(worker_ticket));
}

void server::stop() {
  std::vector<wire::link*> links;
  {
    detail::lock_scope lk(mu_);
    if (!stopping_) {
      stopping_ = true;
      ln_.close();
    }
    links.assign(live_.begin(), live_.end());
    // Closing under mu_: a connection erases itself from live_ under mu_
    // before its link dies, so every pointer here is alive.
    for (wire::link* l : links) l->close();
    // Likewise a connection in its TLS handshake erases itself under mu_.
    for (net::conn* c : handshaking_) c->close();
  }
  accepting_.wait();
  wg_.wait();
  st_.workers.stop();
}

std::size_t server::connections() {
  detail::lock_scope lk(mu_);
  return live_.size();
}

}  // namespace weft::server
