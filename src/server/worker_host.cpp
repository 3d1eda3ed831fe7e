// src/server/worker_host.cpp: starting and tracking workers (design and
// invariants in worker_host.hpp; their end, the reaper, in worker_end.cpp).
#include "server/worker_host.hpp"

#include <signal.h>
#include <sys/stat.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <mutex>
#include <optional>
#include <system_error>

#include <weft/go.hpp>
#include <weft/timer.hpp>

#include "runtime/runtime.hpp"
#include "server/placement.hpp"
#include "server/server.hpp"
#include "wire/endpoint.hpp"
#include "wire/worker_id.hpp"
#include "wire/utf8.hpp"

namespace weft::server {

namespace {

constexpr std::size_t max_anchor = 1024;

std::int64_t unix_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

bool starts(const std::string& s, const char* prefix) { return s.rfind(prefix, 0) == 0; }

// Where the worker will listen for peers: circuit/identity.hpp's rule,
// under the scratch directory of the worker's environment (the caller's).
// A worker of a TLS server is a TLS client of it, and serves its peers
// over TLS too ("tls:unix:PATH").
wire::endpoint peer_address(const v1::Spawn& m, const std::string& id, bool tls) {
  std::string xdg;
  bool set = false;
  for (const std::string& e : m.env()) {
    if (e.rfind("XDG_RUNTIME_DIR=", 0) == 0) {
      xdg = e.substr(16);
      set = true;
    }
  }
  return wire::endpoint{"unix", wire::user_scratch_dir(set ? xdg.c_str() : nullptr) + "/peer/" + id + ".sock", tls};
}

}  // namespace

worker_host::~worker_host() { stop(); }

void worker_host::configure(config c) {
  address_ = c.server_address;
  const wire::endpoint e = wire::parse_endpoint(address_);
  tls_ = e.tls;
  host_ = c.host.name;
  identity_ = c.host;
  log_dir_ = c.log_dir;
  // Beyond loopback, workers are dialled from other hosts: they listen
  // for peers on this host's address (any port) rather than a Unix
  // socket. A wildcard address says nothing another host could dial.
  if (e.network == "tcp" && !loopback(e)) {
    const std::string host = e.address.substr(0, e.address.rfind(':'));
    if (!host.empty() && host != "0.0.0.0" && host != "[::]") peer_listen_ = "tcp:" + host + ":0";
  }
  if (!c.cluster_key.empty()) forwarder_ = std::make_unique<spawn_forwarder>(c.cluster_key, host_, log_);
  fork_servers::limits fl;
  const char* spares = std::getenv("WEFT_FORK_SPARE");  // 1: spares (fork_server.hpp, K5)
  fl.spares = spares != nullptr && std::string(spares) == "1";
  forks_ = std::make_unique<fork_servers>(fl, limits_.fork_server, log_dir_, log_, c.serve_forked);
  config_ = std::move(c);
}

binary_cache& worker_host::binaries() {
  detail::lock_scope lk(cache_mu_);
  if (!cache_) cache_ = std::make_unique<binary_cache>(config_.cache_dir, config_.cache_bytes);
  return *cache_;
}

std::string worker_host::clean_anchor(const std::string& a, std::string& why) {
  std::string s = a;
  while (s.size() > 1 && s.back() == '/') s.pop_back();
  if (s.empty() || s[0] != '/') {
    why = "an anchor is a path that starts with '/' (\"/db/shard\"), not \"" + a.substr(0, 100) + "\"";
    return "";
  }
  if (s.size() > max_anchor) {
    why = "an anchor is at most " + std::to_string(max_anchor) + " bytes";
    return "";
  }
  for (char ch : s) {
    if (static_cast<unsigned char>(ch) <= ' ' || ch == 0x7f) {
      why = "an anchor has no spaces or control characters: \"" + a.substr(0, 100) + "\"";
      return "";
    }
  }
  if (s.find("//") != std::string::npos || s.find("/./") != std::string::npos || s.find("/../") != std::string::npos ||
      s.find("...") != std::string::npos || (s.size() >= 3 && s.compare(s.size() - 3, 3, "/..") == 0) ||
      (s.size() >= 2 && s.compare(s.size() - 2, 2, "/.") == 0)) {
    why = "an anchor's parts are names, not empty, \".\", \"..\" or \"...\": \"" + a.substr(0, 100) + "\"";
    return "";
  }
  return s;
}

bool worker_host::selects(const std::string& selector, const std::string& path) {
  if (selector.empty() || selector == "/" || selector == "/...") return true;
  if (selector.size() >= 4 && selector.compare(selector.size() - 4, 4, "/...") == 0) {
    std::string root = selector.substr(0, selector.size() - 4);
    return path == root || path.rfind(root + "/", 0) == 0;
  }
  std::string s = selector;
  while (s.size() > 1 && s.back() == '/') s.pop_back();
  if (path == s) return true;
  return path.size() > s.size() && path.compare(0, s.size(), s) == 0 && path[s.size()] == '/' &&
         path.find('/', s.size() + 1) == std::string::npos;
}

worker_host::record* worker_host::find(const std::string& id) {
  auto it = workers_.find(id);
  return it == workers_.end() ? nullptr : it->second.get();
}

worker_host::record* worker_host::by_session(std::uint64_t process_id) {
  auto it = sessions_.find(process_id);
  return it == sessions_.end() ? nullptr : it->second;
}

void worker_host::forget_record(const std::string& id) {
  auto it = workers_.find(id);
  if (it == workers_.end()) return;
  record* r = it->second.get();
  if (r->claimed) sessions_.erase(r->session);
  running_.erase(r);
  workers_.erase(it);
}

void worker_host::answer_caller(record& r, const wire::frame& f) {
  if (r.caller == nullptr) return;
  r.caller->post(f);
  r.caller = nullptr;
}

bool worker_host::placed_elsewhere(client& c, std::uint64_t id, const v1::Spawn& m, const v1::ProcessInfo& caller,
                                   std::string& reason) {
  std::uint32_t running;
  {
    detail::lock_scope lk(mu_);
    running = static_cast<std::uint32_t>(running_.size());
  }
  // This host as of now; with etcd, every other live host as last
  // published (docs/cluster.md, "Placement").
  std::vector<v1::HostInfo> hosts{collect_host_info(identity_, running)};
  std::string note;
  if (cluster_ != nullptr) {
    try {
      for (v1::HostInfo& h : cluster_->hosts()) {
        if (h.name() == host_) continue;
        if (forwarder_) h.set_workers(h.workers() + forwarder_->recently_sent(h.name()));
        hosts.push_back(std::move(h));
      }
    } catch (const std::exception& e) {
      note = std::string(" (the circuit's other hosts are out of reach: ") + e.what() + ")";
    }
  }
  placement where = place(requirements_of(m), hosts, host_);
  if (where.chosen < 0) {
    if (where.error == v1::Error::NOT_FOUND && cluster_ == nullptr)
      where.reason += " (hosts join through etcd, which this weftd does not use)";
    c.post(error_frame(id, where.error, "weft::spawn: " + where.reason + note));
    return true;
  }
  const v1::HostInfo& to = hosts[static_cast<std::size_t>(where.chosen)];
  if (to.name() == host_) {
    reason = std::move(where.reason);
    return false;
  }
  if (!forwarder_) {
    c.post(error_frame(id, v1::Error::REFUSED,
                       "weft::spawn: placement chose host \"" + to.name() +
                           "\", which this weftd cannot reach without a cluster key (weftd --key FILE)"));
    return true;
  }
  for (const std::string& a : m.anchors()) {  // refused here rather than there
    std::string why;
    if (clean_anchor(a, why).empty()) {
      c.post(error_frame(id, v1::Error::REFUSED, "weft::spawn: " + why));
      return true;
    }
  }
  forwarder_->forward(c, id, m, caller, to, std::move(where.reason));
  return true;
}

bool worker_host::relay_elsewhere(client& c, std::uint64_t id, const wire::frame& req, const std::string& worker_id) {
  if (!forwarder_) return false;
  if (forwarder_->relay(c, id, req, worker_id)) return true;
  if (cluster_ == nullptr) return false;
  try {
    for (const v1::AnchorEntry& e : cluster_->anchors("/...")) {
      if (e.worker_id() != worker_id || e.host() == host_) continue;
      for (const v1::HostInfo& h : cluster_->hosts()) {
        if (h.name() != e.host()) continue;
        forwarder_->relay_to(c, id, req, worker_id, h.name(), h.address());
        return true;
      }
    }
  } catch (const std::exception&) {
    // etcd out of reach: only this host's workers and those it forwarded
  }
  return false;
}

std::vector<std::string> worker_host::worker_env(const v1::Spawn& m, const record& r, bool from_daemon) const {
  std::vector<std::string> env;
  for (const std::string& e : m.env()) {
    if (starts(e, "WEFT_RUNTIME=") || starts(e, "WEFT_WORKER=")) continue;
    // This host's, not the caller's: its listening address, its key file.
    if (!peer_listen_.empty() && starts(e, "WEFT_PEER_LISTEN=")) continue;
    if (from_daemon && (starts(e, "WEFT_PEER_LISTEN=") || starts(e, "WEFT_KEY_FILE="))) continue;
    env.push_back(e);
  }
  env.push_back("WEFT_RUNTIME=" + address_);
  env.push_back("WEFT_WORKER=" + r.id + "." + r.token);
  if (!peer_listen_.empty()) env.push_back("WEFT_PEER_LISTEN=" + peer_listen_);
  if (from_daemon && !config_.key_file.empty()) env.push_back("WEFT_KEY_FILE=" + config_.key_file);
  return env;
}

void worker_host::spawn(client& c, std::uint64_t id, const v1::Spawn& m, const v1::ProcessInfo* caller,
                        bool from_daemon) {
  std::string binary, argv0, reason, cwd = m.cwd();
  if (from_daemon) {
    // Another host's weftd placed it here: its caller's binary comes from
    // the cache, by hash (docs/cluster.md, "Spawning on another host").
    if (!is_sha256_hex(m.binary_sha256())) {
      c.post(error_frame(id, v1::Error::REFUSED, "a forwarded Spawn names its binary by SHA-256 (64 hex digits)"));
      return;
    }
    if (!m.host().empty() && m.host() != host_) {
      c.post(error_frame(id, v1::Error::REFUSED,
                         "this is host \"" + host_ + "\", not \"" + m.host().substr(0, 64) + "\""));
      return;
    }
    std::optional<std::string> path;
    try {
      path = binaries().find(m.binary_sha256());
    } catch (const std::exception& e) {
      c.post(error_frame(id, v1::Error::INTERNAL, std::string("this weftd's binary cache: ") + e.what()));
      return;
    }
    if (!path) {
      wire::frame need;
      need.set_id(id);
      need.mutable_need_binary()->set_sha256(m.binary_sha256());
      need.mutable_need_binary()->set_size(m.binary_size());
      c.post(need);
      return;
    }
    binary = *path;
    argv0 = m.argv0().empty() ? binary : m.argv0();
    std::uint32_t running;
    {
      detail::lock_scope lk(mu_);
      running = static_cast<std::uint32_t>(running_.size());
    }
    placement here = place(requirements_of(m), {collect_host_info(identity_, running)}, host_);
    if (here.chosen < 0) {
      c.post(error_frame(id, here.error, "weft::spawn: " + here.reason));
      return;
    }
    reason = (m.placement().empty() ? here.reason : m.placement().substr(0, 512)) + " (for a caller on host " +
             m.origin().substr(0, 64) + ")";
    // The caller's directory is on its own host; here it may not exist.
    struct stat st {};
    if (cwd.empty() || ::stat(cwd.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) cwd = "/";
  } else {
    if (caller == nullptr || caller->binary_path().empty()) {
      c.post(error_frame(id, v1::Error::REFUSED,
                         "Spawn runs the caller's binary: only a weft program (a STUB client) may send it"));
      return;
    }
    if (placed_elsewhere(c, id, m, *caller, reason)) return;
    binary = caller->binary_path();
    argv0 = caller->argv_size() > 0 ? caller->argv(0) : caller->binary_path();
  }
  auto r = std::make_shared<record>();
  r->placement = std::move(reason);
  for (const std::string& a : m.anchors()) {
    std::string why;
    std::string clean = clean_anchor(a, why);
    if (clean.empty()) {
      c.post(error_frame(id, v1::Error::REFUSED, "weft::spawn: " + why));
      return;
    }
    r->anchors.push_back(std::move(clean));
  }
  r->id = wire::new_worker_id();
  r->token = wire::random_hex(16);
  r->function = m.function();
  r->signature = m.signature();
  r->args = m.args();
  r->log_path = log_dir_ + "/" + r->id + ".log";
  const wire::endpoint peer = peer_address(m, r->id, tls_);
  r->peer_address = peer.text();
  r->peer_socket = peer.address;
  r->started_unix_ms = unix_ms();
  r->caller = &c;
  r->caller_id = id;
  {
    detail::lock_scope lk(mu_);
    if (stopping_) {
      c.post(error_frame(id, v1::Error::REFUSED, "this weftd is stopping"));
      return;
    }
    if (running_.size() >= limits_.max_workers) {
      c.post(error_frame(id, v1::Error::REFUSED,
                         "this host runs " + std::to_string(running_.size()) + " workers, its limit: kill some first"));
      return;
    }
    workers_.emplace(r->id, r);
    running_.insert(r.get());
  }
  child_spec spec;
  spec.binary = binary;
  spec.argv.push_back(argv0);
  spec.env = worker_env(m, *r, from_daemon);
  spec.cwd = cwd;
  spec.output = r->log_path;
  std::unique_ptr<child> proc;
  std::string failure;
  try {
    proc = forks_ ? forks_->start(spec) : std::make_unique<child>(spec);
  } catch (const std::exception& e) {
    failure = e.what();
  }
  detail::lock_scope lk(mu_);
  if (!proc) {
    forget_record(r->id);
    c.post(error_frame(id, v1::Error::REFUSED, "weft::spawn(" + m.function() + "): " + failure));
    // A child that started anyway and said WorkerStart gets no job: it ends.
    if (r->early_start) r->early_start->post(error_frame(r->early_start_id, v1::Error::REFUSED, failure));
    return;
  }
  r->pid = proc->pid();
  r->proc = std::move(proc);
  if (r->early_start) {
    post_spawned(*r);
    post_job(*r->early_start, r->early_start_id, *r);
    r->early_start = nullptr;
  }
  log_("worker " + r->id + " started: " + r->function + " (pid " + std::to_string(r->pid) + ")");
  std::vector<v1::AnchorEntry> entries = entries_of(*r);
  reapers_.add(1);
  weft::go(weft::go_options{.name = "weftd reaper " + r->id}, [this, r] { reap(r); });
  lk.unlock();
  // It joins the anchors: watches hear of it, and the cluster's namespace
  // (etcd) lists it too; never throws.
  started(*r, entries);
}

std::vector<v1::AnchorEntry> worker_host::entries_of(const record& r) const {
  std::vector<v1::AnchorEntry> out;
  for (const std::string& a : r.anchors) {
    v1::AnchorEntry e;
    e.set_path(a + "/" + r.id);
    e.set_worker_id(r.id);
    e.set_pid(r.pid);
    e.set_host(host_);
    e.set_function(r.function);
    e.set_started_unix_ms(r.started_unix_ms);
    e.set_placement(r.placement);
    e.set_runtime(address_);
    out.push_back(std::move(e));
  }
  return out;
}

bool worker_host::ticket_valid(const std::string& ticket) {
  std::size_t dot = ticket.find('.');
  if (dot == std::string::npos) return false;
  detail::lock_scope lk(mu_);
  record* r = find(ticket.substr(0, dot));
  return r != nullptr && !r->claimed && !r->ended && r->token == ticket.substr(dot + 1);
}

bool worker_host::claim(const std::string& ticket, std::uint64_t process_id) {
  std::size_t dot = ticket.find('.');
  if (dot == std::string::npos) return false;
  detail::lock_scope lk(mu_);
  record* r = find(ticket.substr(0, dot));
  if (r == nullptr || r->claimed || r->ended || r->token != ticket.substr(dot + 1)) return false;
  r->claimed = true;
  r->session = process_id;
  sessions_[process_id] = r;
  return true;
}

void worker_host::start(client& c, std::uint64_t id, std::uint64_t process_id, const v1::WorkerStart& m) {
  detail::lock_scope lk(mu_);
  record* r = by_session(process_id);
  if (r == nullptr) {
    c.post(error_frame(id, v1::Error::REFUSED,
                       "WorkerStart: this connection is no worker's (its Hello carried no ticket this weftd issued)"));
    return;
  }
  if (!m.address().empty()) {  // it listens on TCP (WEFT_PEER_LISTEN): the port it got
    try {
      r->peer_address = wire::parse_endpoint(m.address()).text();
    } catch (const std::exception& e) {
      c.post(error_frame(id, v1::Error::REFUSED, std::string("WorkerStart.address: ") + e.what()));
      return;
    }
  }
  if (r->pid == 0) {  // the spawn path posts both once it has the pid (step 2)
    r->early_start = &c;
    r->early_start_id = id;
    return;
  }
  post_spawned(*r);
  post_job(c, id, *r);
}

void worker_host::post_job(client& c, std::uint64_t id, const record& r) {
  wire::frame f;
  f.set_id(id);
  v1::WorkerJob* j = f.mutable_worker_job();
  j->set_function(r.function);
  j->set_signature(r.signature);
  j->set_args(r.args);
  for (const std::string& a : r.anchors) j->add_anchors(a);
  c.post(f);
}

void worker_host::post_spawned(record& r) {
  if (!r.caller) return;  // answered (it failed) or gone (W1)
  wire::frame sp;  // not final: the worker runs and listens (step 2)
  sp.set_id(r.caller_id);
  v1::Spawned* s = sp.mutable_spawned();
  s->set_worker_id(r.id);
  s->set_address(r.peer_address);
  s->set_placement(r.placement);
  s->set_pid(r.pid);
  s->set_host(host_);
  r.caller->post(sp);
}

void worker_host::done(client& c, std::uint64_t id, std::uint64_t process_id, const v1::WorkerDone& m) {
  detail::lock_scope lk(mu_);
  record* r = by_session(process_id);
  if (r == nullptr) {
    c.post(error_frame(id, v1::Error::REFUSED, "WorkerDone: this connection is no worker's"));
    return;
  }
  if (!m.refused().empty()) {
    answer_caller(*r, error_frame(r->caller_id, v1::Error::REFUSED, m.refused()));
  } else {
    wire::frame f;
    f.set_id(r->caller_id);
    *f.mutable_spawn_result() = m.result();
    answer_caller(*r, f);
  }
  r->args.clear();
  c.post(ok_frame(id));
}

void worker_host::kill(client& c, std::uint64_t id, const v1::WorkerKill& m) {
  // The grace period goes with the signal (sigqueue's value): the
  // worker's shutdown hooks get until then (src/os/shutdown.cpp).
  const auto grace =
      m.grace_ms() > 0 ? std::chrono::milliseconds(std::min<std::int64_t>(m.grace_ms(), 3'600'000)) : limits_.grace;
  std::shared_ptr<record> r;
  {
    detail::lock_scope lk(mu_);
    auto it = workers_.find(m.worker_id());
    if (it == workers_.end() || it->second->ended) {
      const bool elsewhere = it == workers_.end();  // perhaps on another host, through this weftd
      lk.unlock();
      wire::frame req;
      *req.mutable_worker_kill() = m;
      if (elsewhere && relay_elsewhere(c, id, req, m.worker_id())) return;
      c.post(error_frame(id, v1::Error::NOT_FOUND, "no live worker " + m.worker_id().substr(0, 40) + " on this host"));
      return;
    }
    r = it->second;
    if (!r->proc) {  // its start has not returned yet: there is no process to signal
      c.post(error_frame(id, v1::Error::REFUSED, "worker " + r->id + " is still starting: try again"));
      return;
    }
    if (m.hard()) {
      r->hard_killed = true;
      r->proc->signal(SIGKILL);
    } else {
      if (r->term_at == std::chrono::steady_clock::time_point{}) {  // a second kill: the first one's clock
        r->term_at = std::chrono::steady_clock::now();
        r->grace = grace;
      }
      r->proc->terminate(static_cast<int>(grace.count()));
    }
    c.post(ok_frame(id));
  }
  log_("worker " + r->id + (m.hard() ? " killed (SIGKILL)" : " asked to stop (SIGTERM)"));
  if (m.hard()) return;
  reapers_.add(1);
  weft::go(weft::go_options{.name = "weftd kill " + r->id}, [this, r, grace] {
    struct done_at_end {
      weft::wait_group& wg;
      ~done_at_end() { wg.done(); }
    } guard{reapers_};
    auto end = std::chrono::steady_clock::now() + grace;
    while (std::chrono::steady_clock::now() < end) {
      {
        detail::lock_scope lk(mu_);
        if (r->ended || stopping_) return;
      }
      weft::this_goroutine::sleep_for(std::chrono::milliseconds(20));
    }
    detail::lock_scope lk(mu_);
    if (r->ended) return;
    r->grace_expired = true;
    r->proc->signal(SIGKILL);
    log_("worker " + r->id + " did not stop within its grace: SIGKILL");
  });
}

void worker_host::wait(client& c, std::uint64_t id, const v1::WorkerWait& m) {
  detail::lock_scope lk(mu_);
  record* r = find(m.worker_id());
  if (r == nullptr) {
    lk.unlock();
    wire::frame req;
    *req.mutable_worker_wait() = m;
    if (relay_elsewhere(c, id, req, m.worker_id())) return;
    c.post(error_frame(id, v1::Error::NOT_FOUND, "no worker " + m.worker_id().substr(0, 40) + " on this host"));
    return;
  }
  if (r->ended) {
    c.post(exit_frame(id, r->status, r->end));
    return;
  }
  r->waiters.emplace_back(&c, id);
}

void worker_host::anchors(client& c, std::uint64_t id, const v1::AnchorList& m) {
  wire::frame f;
  f.set_id(id);
  v1::Anchors* out = f.mutable_anchors();
  std::vector<v1::AnchorEntry> entries;
  bool local = cluster_ == nullptr;
  if (!local) {
    // Every host's workers. etcd out of reach: this host's, and a warning
    // that says so (weft ls prints it).
    try {
      entries = cluster_->anchors(m.selector());
    } catch (const std::exception& e) {
      out->set_warning(wire::utf8_text(std::string("only this host's workers: ") + e.what()));
      local = true;
    }
  }
  if (local) {
    detail::lock_scope lk(mu_);
    for (auto& [wid, r] : workers_) {
      if (r->ended) continue;
      for (v1::AnchorEntry& e : entries_of(*r))
        if (selects(m.selector(), e.path())) entries.push_back(std::move(e));
    }
  }
  std::sort(entries.begin(), entries.end(), [](const auto& a, const auto& b) { return a.path() < b.path(); });
  for (auto& e : entries) *out->add_entries() = std::move(e);
  c.post(f);
}

void worker_host::log(client& c, std::uint64_t id, const v1::WorkerLog& m) {
  std::string path;
  {
    detail::lock_scope lk(mu_);
    record* r = find(m.worker_id());
    if (r == nullptr) {
      lk.unlock();
      wire::frame req;
      *req.mutable_worker_log() = m;
      if (relay_elsewhere(c, id, req, m.worker_id())) return;
      c.post(error_frame(id, v1::Error::NOT_FOUND,
                         "no worker " + m.worker_id().substr(0, 40) + " on this host (or it ended long ago)"));
      return;
    }
    path = r->log_path;
  }
  std::uint64_t max = m.max_bytes() == 0 ? (1u << 20) : std::min<std::uint64_t>(m.max_bytes(), 16u << 20);
  std::ifstream in(path, std::ios::binary | std::ios::ate);
  wire::frame f;
  f.set_id(id);
  std::string* data = f.mutable_worker_log_data()->mutable_data();
  if (in) {
    auto size = static_cast<std::uint64_t>(in.tellg());
    std::uint64_t from = size > max ? size - max : 0;
    in.seekg(static_cast<std::streamoff>(from));
    data->resize(size - from);
    in.read(data->data(), static_cast<std::streamsize>(data->size()));
    data->resize(static_cast<std::size_t>(in.gcount()));
  }
  c.post(f);
}

void worker_host::session_ended(std::uint64_t process_id) {
  detail::lock_scope lk(mu_);
  if (record* r = by_session(process_id)) r->session_over.close();
}

void worker_host::forget_client(client& c) {
  forget_watches(c);
  if (forwarder_) forwarder_->forget_client(c);
  detail::lock_scope lk(mu_);
  for (record* r : running_) {
    if (r->caller == &c) r->caller = nullptr;
    if (r->early_start == &c) r->early_start = nullptr;
    std::erase_if(r->waiters, [&](const auto& w) { return w.first == &c; });
  }
}

void worker_host::stop() {
  if (forwarder_) forwarder_->stop();
  if (forks_) forks_->stop();
  {
    detail::lock_scope lk(mu_);
    if (stopping_) return;
    stopping_ = true;
    // Under the lock: a reaper that returns from wait() meanwhile frees
    // its child only under it. abandon() waits for the reaper's poll to
    // leave, which needs no lock.
    for (auto& [id, r] : workers_)
      if (!r->ended && r->proc) r->proc->abandon();
  }
  reapers_.wait();
  // An ended worker's log lives as long as this weftd (weft logs ID).
  detail::lock_scope lk(mu_);
  for (auto& [id, r] : workers_)
    if (r->ended) std::remove(r->log_path.c_str());
}

std::size_t worker_host::live() {
  detail::lock_scope lk(mu_);
  return running_.size();
}

std::uint64_t worker_host::forked() { return forks_ ? forks_->forked() : 0; }

}  // namespace weft::server
