// src/circuit/spawn.cpp: the caller's side of spawn, and weft::worker's
// calls (weft/spawn.hpp; the protocol is docs/protocol.md, "Workers").
//
// A spawn is one request that stays open: Spawn goes out under a fresh id;
// weftd answers Spawned once the worker runs and listens (not final) and SpawnResult
// (or an Error) when the function is over. The replies reach on_reply on
// the stub's reader goroutine, which must not park: it fills the state
// under a spinlock and closes a channel, which never parks and wakes every
// goroutine waiting in worker() or get() at once, however many.
#include <unistd.h>

#include <cstdlib>
#include <optional>

#include <weft/chan.hpp>
#include <weft/spawn.hpp>

#include "circuit/daemon.hpp"
#include "platform/lock_scope.hpp"
#include "platform/spinlock.hpp"
#include "remote/stub.hpp"
#include "wire/utf8.hpp"

extern char** environ;

namespace weft::detail {

namespace v1 = weft::runtime::v1;

struct spawn_state {
  std::string function;
  detail::spinlock lock;
  weft::chan<bool> started{0};  // closed once `who` or `failure` is set
  weft::chan<bool> finished{0};  // closed once the outcome is in
  std::optional<weft::worker> who;
  std::optional<v1::SpawnResult> result;
  std::optional<remote_error> failure;
};

namespace {

std::string working_dir() {
  char buf[4096];
  return ::getcwd(buf, sizeof buf) ? std::string(buf) : std::string("/");
}

// The reader's hook: true once the request is over.
bool on_spawn_reply(spawn_state& s, v1::Frame& f) {
  if (f.has_spawned()) {
    const v1::Spawned& m = f.spawned();
    {
      lock_scope lk(s.lock);
      s.who.emplace(m.worker_id(), m.address(), static_cast<long>(m.pid()));
    }
    s.started.close();
    return false;
  }
  bool first_news = false;
  {
    lock_scope lk(s.lock);
    if (f.has_spawn_result()) {
      s.result = std::move(*f.mutable_spawn_result());
    } else {
      std::string why = f.has_error() ? f.error().message() : std::string("an unexpected reply to Spawn");
      remote_errc kind = f.has_error() ? remote::detail::errc_of(f.error().code()) : remote_errc::protocol;
      s.failure.emplace(kind, "weft::spawn(" + s.function + "): " + why);
    }
    first_news = !s.who.has_value();
  }
  if (first_news) s.started.close();
  s.finished.close();
  return true;
}

}  // namespace

std::shared_ptr<spawn_state> spawn_start(const spawn_options& opts, std::string name, std::string signature,
                                         std::string args) {
  for (const std::string& a : opts.anchors) wire::require_utf8(a, "weft::spawn anchor");
  wire::require_utf8(opts.host, "weft::spawn host");
  for (const auto& [k, v] : opts.labels) {
    wire::require_utf8(k, "weft::spawn label name");
    wire::require_utf8(v, "weft::spawn label value");
  }
  remote::detail::stub& stub = circuit::detail::circuit_stub();
  auto s = std::make_shared<spawn_state>();
  s->function = name;
  v1::Frame req;
  v1::Spawn* m = req.mutable_spawn();
  m->set_function(std::move(name));
  m->set_signature(std::move(signature));
  m->set_args(std::move(args));
  for (const std::string& a : opts.anchors) m->add_anchors(a);
  m->set_host(opts.host);
  for (const auto& [k, v] : opts.labels) (*m->mutable_labels())[k] = v;
  m->set_min_memory(opts.min_memory);
  m->set_min_cpus(opts.min_cpus);
  m->set_cwd(working_dir());
  for (char** e = environ; *e; ++e) m->add_env(*e);
  auto p = std::make_shared<remote::detail::pending>();
  p->on_reply = [s](v1::Frame& f) { return on_spawn_reply(*s, f); };
  stub.start_request(std::move(req), std::move(p));
  return s;
}

const std::string& spawn_result(spawn_state& s) {
  s.finished.recv();
  // Set before `finished` closed, never changed after: no lock needed.
  if (s.failure) throw *s.failure;
  if (s.result->threw()) throw remote_exception(s.result->type_name(), s.result->what());
  return s.result->value();
}

weft::worker spawn_worker(spawn_state& s) {
  s.started.recv();
  if (s.who) return *s.who;
  if (s.failure) throw *s.failure;
  // The outcome came with no Spawned before it: a weftd that broke step 2
  // of its spawn protocol (worker_host.hpp).
  throw remote_error(remote_errc::protocol,
                     "weft::spawn(" + s.function + "): the runtime answered before it named the worker");
}

namespace {

v1::Frame worker_call(v1::Frame req, const std::string& what) {
  v1::Frame r = circuit::detail::circuit_stub().call(std::move(req));
  if (r.has_error()) throw remote_error(remote::detail::errc_of(r.error().code()), what + ": " + r.error().message());
  return r;
}

}  // namespace

void worker_kill(const std::string& id, bool hard) {
  v1::Frame req;
  req.mutable_worker_kill()->set_worker_id(id);
  req.mutable_worker_kill()->set_hard(hard);
  worker_call(std::move(req), "weft::worker(" + id + ").kill");
}

int worker_wait(const std::string& id) {
  v1::Frame req;
  req.mutable_worker_wait()->set_worker_id(id);
  v1::Frame r = worker_call(std::move(req), "weft::worker(" + id + ").wait");
  return r.worker_exit().status();
}

}  // namespace weft::detail
