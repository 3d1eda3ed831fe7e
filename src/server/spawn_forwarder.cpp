// src/server/spawn_forwarder.cpp: carrying a spawn to another host's
// weftd (design and invariants in spawn_forwarder.hpp).
#include "server/spawn_forwarder.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <mutex>
#include <optional>
#include <system_error>

#include <weft/blocking.hpp>
#include <weft/chan.hpp>
#include <weft/errors.hpp>
#include <weft/go.hpp>

#include "server/binary_cache.hpp"

namespace weft::server {

namespace {

constexpr std::size_t piece = 1u << 20;  // BinaryPut's data, at most
constexpr std::size_t max_remembered = 8192;  // forwarded workers kept for kill/wait/logs
constexpr auto put_timeout = std::chrono::seconds(30);
// A host's entry in etcd is rewritten every 2 s (docs/cluster.md): a spawn
// sent longer ago than this is in its published count.
constexpr auto recent_window = std::chrono::seconds(3);

// What forward and relay_to start: stop() waits for it to return.
struct done_at_end {
  weft::wait_group& wg;
  ~done_at_end() { wg.done(); }
};

std::string mib(std::uint64_t bytes) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f MiB", static_cast<double>(bytes) / (1 << 20));
  return buf;
}

}  // namespace

spawn_forwarder::spawn_forwarder(std::string key, std::string self, std::function<void(std::string_view)> log,
                                 daemon_link::options link_options)
    : key_(std::move(key)), self_(std::move(self)), log_(std::move(log)), link_options_(link_options) {}

spawn_forwarder::~spawn_forwarder() { stop(); }

bool spawn_forwarder::begin_work(client& c, std::uint64_t id) {
  detail::lock_scope lk(mu_);
  if (stopping_) {
    c.post(error_frame(id, v1::Error::REFUSED, "this weftd is stopping"));
    return false;
  }
  running_.add(1);
  return true;
}

std::shared_ptr<spawn_forwarder::route> spawn_forwarder::add_route(client& c, std::uint64_t id) {
  auto r = std::make_shared<route>(route{&c, id});
  detail::lock_scope lk(mu_);
  routes_.emplace(&c, r);
  return r;
}

void spawn_forwarder::post(const std::shared_ptr<route>& r, wire::frame f, bool final) {
  detail::lock_scope lk(mu_);
  if (r->c == nullptr) return;  // the caller left (F1)
  f.set_id(r->id);
  r->c->post(f);
  if (!final) return;
  auto [from, to] = routes_.equal_range(r->c);
  for (auto it = from; it != to; ++it) {
    if (it->second == r) {
      routes_.erase(it);
      break;
    }
  }
  r->c = nullptr;
}

std::uint32_t spawn_forwarder::recently_sent(const std::string& host) {
  const auto since = std::chrono::steady_clock::now() - recent_window;
  detail::lock_scope lk(mu_);
  auto it = recent_.find(host);
  if (it == recent_.end()) return 0;
  while (!it->second.empty() && it->second.front() < since) it->second.pop_front();
  return static_cast<std::uint32_t>(it->second.size());
}

void spawn_forwarder::forget_client(client& c) {
  detail::lock_scope lk(mu_);
  auto [from, to] = routes_.equal_range(&c);
  for (auto it = from; it != to; ++it) it->second->c = nullptr;
  routes_.erase(from, to);
}

void spawn_forwarder::forward(client& c, std::uint64_t id, const v1::Spawn& m, const v1::ProcessInfo& caller,
                              const v1::HostInfo& to, std::string reason) {
  if (!begin_work(c, id)) return;
  std::shared_ptr<route> r = add_route(c, id);
  {
    detail::lock_scope lk(mu_);
    recent_[to.name()].push_back(std::chrono::steady_clock::now());
  }
  std::string argv0 = caller.argv_size() > 0 ? caller.argv(0) : caller.binary_path();
  weft::go(weft::go_options{.name = "weftd forward spawn " + m.function()}, [this, r, m, binary = caller.binary_path(),
                                                                             argv0, to, reason]() mutable {
    done_at_end guard{running_};
    run_forward(std::move(r), std::move(m), std::move(binary), std::move(argv0), std::move(to), std::move(reason));
  });
}

void spawn_forwarder::run_forward(std::shared_ptr<route> r, v1::Spawn m, std::string binary, std::string argv0,
                                  v1::HostInfo to, std::string reason) {
  const std::string what = "on host \"" + to.name() + "\": ";  // the stub prefixes "weft::spawn(F): "
  std::uint64_t size = 0;
  std::string sha;
  try {
    sha = hash_of(binary, size);
  } catch (const std::exception& e) {
    post(r, error_frame(0, v1::Error::REFUSED, what + "cannot read the caller's binary to send it: " + e.what()), true);
    return;
  }
  std::shared_ptr<daemon_link> l;
  try {
    l = link_to(to.name(), to.address());
  } catch (const remote_error& e) {
    log_("spawn of " + m.function() + " for host " + to.name() + " failed: " + e.what());
    post(r, error_frame(0, v1::Error::LOST, what + e.what() + " (nothing was started)"), true);
    return;
  }
  log_("spawn of " + m.function() + " goes to host " + to.name() + " (" + reason + ")");
  m.set_host(to.name());
  m.set_binary_sha256(sha);
  m.set_binary_size(size);
  m.set_argv0(argv0);
  m.set_origin(self_);
  m.set_placement(reason);
  // What the Spawn's first answer was; NeedBinary is final for its
  // request, and this goroutine then sends the file and tries once more.
  for (int attempt = 0; attempt < 2; ++attempt) {
    weft::chan<bool> need_binary(1);
    auto started = std::make_shared<bool>(false);  // Spawned relayed (touched under the link's lock only)
    wire::frame req;
    *req.mutable_spawn() = m;
    l->start(std::move(req), [this, r, need_binary, started, what, host = to.name()](wire::frame& f) mutable {
      if (f.has_need_binary()) {
        need_binary.try_send(true);
        return true;
      }
      if (f.has_spawned()) {
        *started = true;
        remember_worker(f.spawned().worker_id(), host);
        post(r, std::move(f), false);
        return false;
      }
      if (daemon_link::ended(f)) {
        // The link ended (daemon_link D1) after the Spawn left (F2).
        post(r,
             error_frame(0, v1::Error::UNKNOWN_OUTCOME,
                         what + f.error().message() +
                             (*started ? ": the worker may still run there; its result cannot come back"
                                       : ": the worker may or may not have started there") +
                             " (weft does not spawn it again)"),
             true);
      } else {
        post(r, std::move(f), true);
      }
      need_binary.try_send(false);
      return true;
    });
    std::optional<bool> again = need_binary.recv();
    if (!again || !*again) return;  // answered
    if (attempt == 1) {
      post(r, error_frame(0, v1::Error::INTERNAL, what + "its weftd asked for the binary again after receiving it"),
           true);
      return;
    }
    std::string failed = send_binary(*l, binary, sha, size);
    if (!failed.empty()) {
      post(r, error_frame(0, v1::Error::REFUSED, what + "sending the binary failed: " + failed), true);
      return;
    }
  }
}

std::string spawn_forwarder::send_binary(daemon_link& l, const std::string& path, const std::string& sha256,
                                         std::uint64_t size) {
  const std::string key = l.host() + "/" + sha256;
  std::shared_ptr<weft::mutex> one_at_a_time;
  std::uint64_t seen;
  {
    detail::lock_scope lk(mu_);
    seen = upload_seq_;
    auto& m = upload_locks_[l.host()];
    if (!m) m = std::make_shared<weft::mutex>();
    one_at_a_time = m;
  }
  std::lock_guard<weft::mutex> turn(*one_at_a_time);
  {
    detail::lock_scope lk(mu_);
    auto it = sent_.find(key);
    if (it != sent_.end() && it->second > seen) return "";  // sent while this spawn waited
  }
  log_("host " + l.host() + " lacks binary " + sha256.substr(0, 12) + " (" + mib(size) + "): sending it");
  const auto t0 = std::chrono::steady_clock::now();
  std::string failed = upload(l, path, sha256, size);
  if (!failed.empty()) {
    log_("sending binary " + sha256.substr(0, 12) + " to host " + l.host() + " failed: " + failed);
    return failed;
  }
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0).count();
  log_("binary " + sha256.substr(0, 12) + " sent to host " + l.host() + " in " + std::to_string(ms) + " ms");
  detail::lock_scope lk(mu_);
  sent_[key] = ++upload_seq_;
  if (sent_.size() > 1024) sent_.erase(sent_.begin());
  return "";
}

std::string spawn_forwarder::upload(daemon_link& l, const std::string& path, const std::string& sha256,
                                    std::uint64_t size) {
  int fd = weft::blocking([&] { return ::open(path.c_str(), O_RDONLY | O_CLOEXEC); });
  if (fd < 0) return "cannot read " + path + ": " + std::generic_category().message(errno);
  struct fd_guard {
    int fd;
    ~fd_guard() { ::close(fd); }
  } guard{fd};
  std::uint64_t offset = 0;
  std::string data;
  do {
    data.resize(static_cast<std::size_t>(std::min<std::uint64_t>(piece, size - offset)));
    ssize_t n = weft::blocking([&] { return ::pread(fd, data.data(), data.size(), static_cast<off_t>(offset)); });
    if (n < 0) return "cannot read " + path + ": " + std::generic_category().message(errno);
    if (static_cast<std::size_t>(n) != data.size()) return path + " changed while it was being sent";
    wire::frame put;
    v1::BinaryPut* p = put.mutable_binary_put();
    p->set_sha256(sha256);
    p->set_size(size);
    p->set_offset(offset);
    p->set_data(data);
    wire::frame reply = l.call(std::move(put), put_timeout);
    if (reply.has_error()) return reply.error().message();
    if (!reply.has_ok()) return "an unexpected answer to BinaryPut";
    offset += data.size();
  } while (offset < size);
  return "";
}

std::string spawn_forwarder::hash_of(const std::string& path, std::uint64_t& size) {
  struct stat st {};
  if (weft::blocking([&] { return ::stat(path.c_str(), &st); }) != 0)
    throw std::system_error(errno, std::generic_category(), path);
  const std::int64_t mtime = static_cast<std::int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec;
  size = static_cast<std::uint64_t>(st.st_size);
  {
    detail::lock_scope lk(mu_);
    auto it = hashes_.find(path);
    if (it != hashes_.end() && it->second.size == size && it->second.mtime_ns == mtime && it->second.inode == st.st_ino)
      return it->second.sha256;
  }
  std::string sha = sha256_file(path);
  detail::lock_scope lk(mu_);
  if (hashes_.size() > 64) hashes_.clear();  // a few programs spawn; bound it anyway
  hashes_[path] = file_hash{size, mtime, static_cast<std::uint64_t>(st.st_ino), sha};
  return sha;
}

std::shared_ptr<daemon_link> spawn_forwarder::link_to(const std::string& host, const std::string& address) {
  {
    detail::lock_scope lk(mu_);
    auto it = links_.find(host);
    if (it != links_.end() && it->second->alive() && address_of_[host] == address) return it->second;
  }
  std::shared_ptr<daemon_link> fresh = daemon_link::dial(host, address, key_, link_options_);
  std::shared_ptr<daemon_link> use, drop;
  {
    detail::lock_scope lk(mu_);
    auto it = links_.find(host);
    if (stopping_) {
      drop = fresh;
    } else if (it != links_.end() && it->second->alive() && address_of_[host] == address) {
      use = it->second;  // another request dialled first
      drop = fresh;
    } else {
      if (it != links_.end()) drop = it->second;  // ended, or the host moved
      links_[host] = fresh;
      address_of_[host] = address;
      use = fresh;
    }
  }
  if (drop) drop->close("replaced by a newer link");
  if (!use) throw remote_error(remote_errc::refused, "this weftd is stopping");
  return use;
}

void spawn_forwarder::remember_worker(const std::string& worker_id, const std::string& host) {
  detail::lock_scope lk(mu_);
  if (worker_host_.emplace(worker_id, host).second) worker_order_.push_back(worker_id);
  while (worker_order_.size() > max_remembered) {
    worker_host_.erase(worker_order_.front());
    worker_order_.pop_front();
  }
}

bool spawn_forwarder::relay(client& c, std::uint64_t id, const wire::frame& req, const std::string& worker_id) {
  std::string host, address;
  {
    detail::lock_scope lk(mu_);
    auto it = worker_host_.find(worker_id);
    if (it == worker_host_.end()) return false;
    host = it->second;
    address = address_of_[host];
  }
  relay_to(c, id, req, worker_id, host, address);
  return true;
}

void spawn_forwarder::relay_to(client& c, std::uint64_t id, const wire::frame& req, const std::string& worker_id,
                               const std::string& host, const std::string& address) {
  if (!begin_work(c, id)) return;
  std::shared_ptr<route> r = add_route(c, id);
  // Asked about once, it is asked about again (a kill, then the wait for
  // its end): after its end its anchors are gone from etcd, and its host
  // still answers for it (worker_host remembers ended workers).
  remember_worker(worker_id, host);
  // Dialling may take a while (a link that ended): not on the session's reader.
  weft::go(weft::go_options{.name = "weftd relay " + worker_id}, [this, r, req, host, address, worker_id] {
    done_at_end guard{running_};
    std::shared_ptr<daemon_link> l;
    try {
      l = link_to(host, address);
    } catch (const remote_error& e) {
      post(r, error_frame(0, v1::Error::LOST, "worker " + worker_id + " runs on host \"" + host + "\": " + e.what()),
           true);
      return;
    }
    l->start(req, [this, r](wire::frame& f) {
      post(r, std::move(f), true);
      return true;
    });
  });
}

void spawn_forwarder::stop() {
  std::map<std::string, std::shared_ptr<daemon_link>> links;
  {
    detail::lock_scope lk(mu_);
    if (stopping_) return;
    stopping_ = true;
    links.swap(links_);
  }
  for (auto& [host, l] : links) l->close("this weftd is stopping");
  running_.wait();
}

}  // namespace weft::server
