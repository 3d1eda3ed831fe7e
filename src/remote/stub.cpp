// src/remote/stub.cpp: the stub's connection (design in stub.hpp).
#include "remote/stub.hpp"

#include "remote/migration.hpp"

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <fstream>
#include <mutex>
#include <system_error>

#include <weft/errors.hpp>
#include <weft/go.hpp>
#include <weft/run.hpp>

#include "net/adopt.hpp"
#include "platform/futex.hpp"
#include "runtime/park.hpp"
#include "runtime/runtime.hpp"
#include "wire/cluster_key.hpp"
#include "wire/remote_wait.hpp"
#include "wire/version.hpp"
#include "wire/utf8.hpp"

namespace weft::remote::detail {

namespace {

using namespace std::chrono_literals;

constexpr auto attach_timeout = 1s;
constexpr std::int64_t ping_after_ns = 250'000'000;
// The server is lost when it has said nothing for silent_limit_ns and this
// stub, running meanwhile, sent it missed_pings_limit pings (250 ms apart)
// without an answer. Both, because silence alone also measures the stub's
// own stalls: on a loaded machine (1,000 workers on 2 CPUs, issue 16) or a
// process frozen and thawed (CRIU), the server's pings wait in the socket
// while the stub is not scheduled, and 1 s of that ended healthy programs.
// A stub that has not run has not pinged. The bound stays DESIGN.md's 1 s
// for a server that is gone without closing (its host died); a closed
// connection is a loss at once (the reader sees it).
constexpr std::int64_t silent_limit_ns = 1'000'000'000;
constexpr int missed_pings_limit = 3;
// Instrumentation nobody asked about for this long is stopped (control.cpp).
constexpr std::int64_t instrument_idle_ns = 60'000'000'000;

// Written when a run attaches and when its main returns, read by any
// goroutine (a migrated one may still run as main ends): atomic.
std::atomic<stub*> the_stub{nullptr};

std::string read_link(const char* path) {
  char buf[4096];
  ssize_t n = ::readlink(path, buf, sizeof buf - 1);
  return n > 0 ? std::string(buf, static_cast<std::size_t>(n)) : std::string();
}

std::string host_name() {
  char buf[256] = {};
  ::gethostname(buf, sizeof buf - 1);
  return buf;
}

std::vector<std::string> own_argv() {
  std::ifstream in("/proc/self/cmdline", std::ios::binary);
  std::vector<std::string> argv;
  for (std::string a; std::getline(in, a, '\0');) argv.push_back(a);
  return argv;
}

// The message a request carries, for traces: a static string (the
// descriptor pool lives as long as the program).
const char* body_name(const v1::Frame& f) {
  const auto* field = v1::Frame::descriptor()->FindFieldByNumber(static_cast<int>(f.body_case()));
  return field ? field->message_type()->name().c_str() : "?";
}

}  // namespace

remote_errc errc_of(v1::Error::Code c) {
  switch (c) {
    case v1::Error::VERSION:
    case v1::Error::REFUSED:
    case v1::Error::NOT_FOUND: return remote_errc::refused;
    case v1::Error::UNAUTHORIZED: return remote_errc::unauthorized;
    case v1::Error::PROTOCOL:
    case v1::Error::TOO_LARGE: return remote_errc::protocol;
    case v1::Error::TIMEOUT: return remote_errc::timeout;
    case v1::Error::UNKNOWN_OUTCOME: return remote_errc::unknown_outcome;
    default: return remote_errc::lost;
  }
}

stub* current() noexcept { return the_stub.load(std::memory_order_acquire); }
void set_current(stub* s) noexcept { the_stub.store(s, std::memory_order_release); }

void throw_error(const v1::Error& e, const std::string& what) {
  throw remote_error(errc_of(e.code()), what + ": " + e.message());
}

stub::stub(const wire::endpoint& server, const std::string& worker_ticket, int connected_fd, v1::Frame* first)
    : address_(server.text()), attached_ns_(weft::detail::os::nanotime()) {
  auto unreachable = [&](const std::string& why) {
    return remote_error(remote_errc::unreachable, "runtime server " + address_ + ": " + why);
  };
  // Over TLS the cluster key is needed before the first byte (it is the
  // TLS pre-shared key, wire/tls.hpp); else only if the server asks.
  std::string key;
  if (connected_fd < 0 && wire::wants_tls(server)) {
    try {
      key = wire::cluster_key_from_env();
    } catch (const std::exception& e) {
      throw remote_error(
          remote_errc::unauthorized,
          "runtime server " + address_ + " is reached over TLS, which needs the cluster key, and " + e.what());
    }
  }
  const auto deadline = std::chrono::steady_clock::now() + attach_timeout;
  wire::stream c;
  try {
    c = connected_fd >= 0 ? wire::stream(weft::detail::adopt_socket(connected_fd, "weftd (connected at the fork)"))
                          : wire::connect(server, attach_timeout, key);
  } catch (const std::system_error& e) {
    throw unreachable(e.code() == std::errc::timed_out ? "no answer within 1 s" : e.code().message());
  } catch (const remote_error& e) {
    throw remote_error(e.kind(), "runtime server " + address_ + ": " + e.what());
  }
  c.set_deadline(deadline);
  link_ = std::make_unique<wire::link>(std::move(c), "runtime server " + address_);

  v1::Frame hello;
  v1::Hello* h = hello.mutable_hello();
  h->set_magic(wire::magic);
  h->mutable_version()->set_major(wire::version_major);
  h->mutable_version()->set_minor(wire::version_minor);
  h->set_role(v1::Hello::STUB);
  v1::ProcessInfo* p = h->mutable_process();
  p->set_pid(::getpid());
  p->set_procs(weft::detail::sched.procs);
  p->set_host(weft::wire::utf8_text(host_name()));
  p->set_binary_path(read_link("/proc/self/exe"));
  for (const std::string& a : own_argv()) p->add_argv(a);
  h->set_worker(worker_ticket);
  if (first != nullptr && connected_fd >= 0) {
    const std::uint64_t id = next_id_.fetch_add(1, std::memory_order_relaxed);
    first->set_id(id);
    first_ = std::make_shared<pending>();
    weft::detail::lock_scope lk(lock_);
    pending_.emplace(id, first_);
  }
  v1::Frame reply = handshake_exchange(hello, "Hello", first_ ? first : nullptr);
  if (!reply.has_welcome())
    throw remote_error(remote_errc::protocol, "runtime server " + address_ + " answered Hello with something else");
  const v1::Welcome& w = reply.welcome();
  if (w.version().major() != wire::version_major)
    throw remote_error(remote_errc::refused, "runtime server " + address_ + " speaks weft runtime protocol " +
                                                 std::to_string(w.version().major()) + "." +
                                                 std::to_string(w.version().minor()) + ", this program " +
                                                 wire::version_text());
  if (!w.challenge().empty()) prove_key(w.challenge());
  capabilities_.assign(w.capabilities().begin(), w.capabilities().end());
  process_id_ = w.process_id();
  link_->clear_deadline();
  last_heard_.store(weft::detail::os::nanotime(), std::memory_order_relaxed);
}

// One step of the handshake: sends f straight to the socket (the writer
// goroutine is not running yet) and returns the answer, which is not an
// Error. Within the deadline set in the constructor.
v1::Frame stub::handshake_exchange(const v1::Frame& f, const char* what, const v1::Frame* behind) {
  auto unreachable = [&](const std::string& why) {
    return remote_error(remote_errc::unreachable, "runtime server " + address_ + ": " + why);
  };
  std::string out;
  wire::append_frame(f, out);
  if (behind != nullptr) wire::append_frame(*behind, out);
  v1::Frame reply;
  try {
    link_->write_now(out);
    if (!link_->receive(reply)) throw unreachable(std::string("closed the connection after ") + what);
  } catch (const remote_error& e) {
    if (e.kind() == remote_errc::protocol) throw;
    throw unreachable(e.what());
  } catch (const std::system_error& e) {
    throw unreachable(e.code() == std::errc::timed_out ? std::string("no answer to ") + what + " within 1 s"
                                                       : e.code().message());
  }
  if (reply.has_error()) throw_error(reply.error(), "runtime server " + address_ + " refused the handshake");
  return reply;
}

// The server asked for the cluster key (wire/cluster_key.hpp): answer its
// challenge with the key WEFT_KEY_FILE names. Still within the handshake's
// deadline.
void stub::prove_key(const std::string& challenge) {
  std::string key;
  try {
    key = wire::cluster_key_from_env();
  } catch (const std::exception& e) {
    throw remote_error(remote_errc::unauthorized,
                       "runtime server " + address_ + " requires the cluster key, and " + e.what());
  }
  if (key.empty())
    throw remote_error(remote_errc::unauthorized,
                       "runtime server " + address_ +
                           " requires the cluster key: set WEFT_KEY_FILE to the key file its weftd was started with "
                           "(weftd --key FILE)");
  v1::Frame proof;
  proof.mutable_auth_proof()->set_mac(wire::auth_proof(key, challenge));
  v1::Frame reply = handshake_exchange(proof, "the key's proof");
  if (!reply.has_auth_result())
    throw remote_error(remote_errc::protocol,
                       "runtime server " + address_ + " answered AuthProof with something other than AuthResult");
}

stub::~stub() { link_->close(); }

void stub::start() {
  if (has_capability("trace")) {
    // First: the goroutines made below are named in the trace.
    trace_ = std::make_unique<trace_stream>(*link_);
    trace_->start();
  }
  weft::go(weft::go_options{.name = "weft: runtime stub writer"}, [this] { link_->write_loop(); });
  weft::go(weft::go_options{.name = "weft: runtime stub reader"}, [this] { read_loop(); });
  weft::go(weft::go_options{.name = "weft: runtime stub heartbeat"}, [this] { heartbeat_loop(); });
}

void stub::detach(const std::string& reason) noexcept {
  if (detaching_.exchange(true)) return;
  if (trace_) trace_->finish();
  // A TRACE's recorder stops at its next drain; recording stops now, in
  // case weft::run ends before that drain (trace_request.hpp, R2).
  if (trace_requested_.load()) weft::detail::trace_finish();
  try {
    v1::Frame bye;
    bye.mutable_goodbye()->set_reason(weft::wire::utf8_text(reason));
    link_->send(bye);
  } catch (...) {}
  // The Goodbye (and with a trace logger, the last events) must reach the
  // server before the socket closes, or its log says "closed" where it
  // should give the reason: let the writer flush them, for a second at most
  // (a server that stopped reading).
  link_->close_when_flushed();
  link_->wait_closed(1s);
  link_->close();
}

bool stub::has_capability(const std::string& c) const {
  for (const std::string& have : capabilities_)
    if (have == c) return true;
  return false;
}

std::uint64_t stub::start_request(v1::Frame req, std::shared_ptr<pending> p) {
  std::uint64_t id = next_id_.fetch_add(1, std::memory_order_relaxed);
  req.set_id(id);
  if (weft::detail::tracing()) weft::detail::trace_here(weft::detail::ev::remote_call, id, body_name(req));
  {
    weft::detail::lock_scope lk(lock_);
    pending_.emplace(id, std::move(p));
  }
  try {
    link_->send(req);
  } catch (...) {
    take(id, true);
    abandon_if_detaching();
    throw;
  }
  return id;
}

void stub::start_requests(std::vector<v1::Frame>& reqs, const std::vector<std::shared_ptr<pending>>& ps) {
  const std::uint64_t first = next_id_.fetch_add(reqs.size(), std::memory_order_relaxed);
  {
    weft::detail::lock_scope lk(lock_);
    for (std::size_t i = 0; i < reqs.size(); ++i) {
      reqs[i].set_id(first + i);
      pending_.emplace(first + i, ps[i]);
    }
  }
  if (weft::detail::tracing()) {
    for (const v1::Frame& r : reqs) weft::detail::trace_here(weft::detail::ev::remote_call, r.id(), body_name(r));
  }
  try {
    link_->send_all(reqs);
  } catch (...) {
    for (const v1::Frame& r : reqs) take(r.id(), true);
    abandon_if_detaching();
    throw;
  }
}

v1::Frame stub::first_reply() {
  first_->done.acquire();
  return std::move(first_->reply);
}

bool answered_at_once(const v1::Frame& req) noexcept {
  switch (req.body_case()) {
    case v1::Frame::kVarOp:
    case v1::Frame::kChanStat: return true;
    case v1::Frame::kChanSend: return req.chan_send().mode() != v1::OFFER;
    case v1::Frame::kChanRecv: return req.chan_recv().mode() == v1::TRY || req.chan_recv().mode() == v1::OFFER_NOW;
    default: return false;
  }
}

v1::Frame stub::call(v1::Frame req) {
  auto p = std::make_shared<pending>();
  const bool quick = answered_at_once(req);
  start_request(std::move(req), p);
  weft::detail::wait_label_scope remote(wire::wait_runtime_server);
  weft::detail::quick_reply_scope soon(quick);
  p->done.acquire();
  return std::move(p->reply);
}

void stub::send(const v1::Frame& f) {
  try {
    link_->send(f);
  } catch (...) {
    abandon_if_detaching();
    throw;
  }
}

void stub::abandon_if_detaching() {
  if (!detaching_.load() || weft::detail::this_g() == nullptr) return;
  weft::detail::block_forever("weft::run is ending");
}

std::shared_ptr<pending> stub::take(std::uint64_t id, bool final) {
  weft::detail::lock_scope lk(lock_);
  auto it = pending_.find(id);
  if (it == pending_.end()) return nullptr;
  std::shared_ptr<pending> p = it->second;
  if (final) pending_.erase(it);
  return p;
}

void stub::lost(const std::string& why) { weft::detail::fatal("runtime server " + address_ + ": " + why); }

void stub::read_loop() {
  // Each reply readies its caller and the reader reads again at once: the
  // caller runs next on this P, no other thread is woken for it.
  weft::detail::parks_soon_scope handing_over;
  v1::Frame f;
  for (;;) {
    try {
      if (!link_->receive(f)) {
        if (detaching_.load()) return;
        lost("the server closed the connection");
      }
    } catch (const remote_error& e) {
      if (detaching_.load()) return;
      lost(e.what());
    }
    last_heard_.store(weft::detail::os::nanotime(), std::memory_order_relaxed);
    if (f.id() == 0) {
      if (f.has_ping()) {
        v1::Frame pong;
        pong.mutable_pong()->set_nonce(f.ping().nonce());
        try {
          link_->send(pong);
        } catch (const remote_error&) {}
      } else if (f.has_error()) {
        lost(f.error().message());
      } else if (f.has_migrate_out()) {  // migration.hpp: pushes, none parks
        on_migrate_out(*this, f.migrate_out());
      } else if (f.has_migrate_verdict()) {
        on_migrate_verdict(f.migrate_verdict());
      } else if (f.has_migrate_in()) {
        on_migrate_in(*this, f.migrate_in());
      }
      continue;  // Pong, Goodbye (the server's close follows), TraceEvents
    }
    if (f.has_control()) {  // the server's request, under an id of its own
      answer_control(f.id(), f.control());
      continue;
    }
    std::shared_ptr<pending> p = take(f.id(), false);
    if (!p) continue;  // a late reply to a request the stub gave up on
    const std::uint64_t id = f.id();
    if (p->on_reply) {
      if (p->on_reply(f)) {
        take(id, true);
        weft::detail::trace_here(weft::detail::ev::remote_reply, id);
      }
      continue;
    }
    take(id, true);
    weft::detail::trace_here(weft::detail::ev::remote_reply, id);
    p->reply = std::move(f);
    p->done.release();
    f = v1::Frame();
  }
}

void stub::heartbeat_loop() {
  std::uint64_t nonce = 0;
  std::int64_t heard = last_heard_.load(std::memory_order_relaxed);
  std::int64_t last_ping = 0;
  int unanswered = 0;  // pings sent since `heard`
  while (!detaching_.load() && !link_->closed()) {
    weft::this_goroutine::sleep_for(std::chrono::nanoseconds(ping_after_ns / 2));
    if (detaching_.load()) return;
    const std::int64_t now = weft::detail::os::nanotime();
    if (std::int64_t h = last_heard_.load(std::memory_order_relaxed); h != heard) {
      heard = h;
      unanswered = 0;
    }
    const std::int64_t silent = now - heard;
    if (silent > silent_limit_ns && unanswered >= missed_pings_limit)
      lost("no answer for " + std::to_string(silent / 1'000'000'000) + " s (" + std::to_string(unanswered) + " pings)");
    if (weft::detail::gstats_enabled() && now - last_stats_ask_.load(std::memory_order_relaxed) > instrument_idle_ns) {
      weft::detail::gstats_stop_all();
    }
    if (silent > ping_after_ns && now - last_ping >= ping_after_ns) {
      v1::Frame ping;
      ping.mutable_ping()->set_nonce(++nonce);
      try {
        link_->send(ping);
      } catch (const remote_error&) {}
      last_ping = now;
      ++unanswered;
    }
  }
}

}  // namespace weft::remote::detail
