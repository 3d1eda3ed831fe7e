// src/server/session.cpp: handshake, dispatch and cleanup of one client
// (design in session.hpp).
#include "server/session.hpp"

#include "wire/cluster_key.hpp"

#include <algorithm>
#include <mutex>
#include <utility>

namespace weft::server {

namespace {

bool final_reply(const wire::frame& f) {
  return f.has_chan_done() || f.has_error() || f.has_var_value() || f.has_control_reply() || f.has_migrate_report();
}

bool known_mode(v1::Mode m) { return m == v1::WAIT || m == v1::TRY || m == v1::OFFER || m == v1::OFFER_NOW; }

// The name of a frame's body, for messages.
std::string body_name(const wire::frame& f) {
  const auto* field = wire::frame::descriptor()->FindFieldByNumber(static_cast<int>(f.body_case()));
  return field ? field->message_type()->name() : "an empty frame";
}

}  // namespace

session::session(server_state& st, outlet& out, std::string peer)
    : st_(st),
      out_(out),
      process_id_(st.next_process_id.fetch_add(1, std::memory_order_relaxed)),
      name_("client " + std::to_string(process_id_) + (peer.empty() ? "" : " (" + peer + ")")),
      peer_(std::move(peer)) {}

session::~session() { end(); }

void session::post(const wire::frame& f) noexcept {
  if (f.id() != 0 && final_reply(f)) {
    detail::lock_scope lk(pending_lock_);
    pending_.erase(f.id());
  }
  out_.send(f);
}

void session::note_bad(std::string_view what) {
  if (bad_++ == 0) st_.log(name_ + ": " + std::string(what));
}

void session::refuse(std::uint64_t id, v1::Error::Code code, std::string why) {
  note_bad(std::string(code_name(code)) + ": " + why);
  post(error_frame(id, code, std::move(why)));
}

session::verdict session::broken(std::string why) {
  closing_ = true;
  note_bad("PROTOCOL: " + why + "; closing");
  post(error_frame(0, v1::Error::PROTOCOL, std::move(why)));
  return verdict::close;
}

void session::bad_stream(std::string_view why) {
  if (why.substr(0, 6) == "weft: ") why.remove_prefix(6);  // wire::link's prefix, noise in weftd's lines
  std::string w(why);
  if (!welcomed()) w = "not a weft client: " + w;
  broken(std::move(w));
}

session::verdict session::handle(const wire::frame& f) {
  if (ended_ || closing_) return verdict::close;
  verdict v = welcomed() ? dispatch(f) : handshake(f);
  return closing_ ? verdict::close : v;
}

session::verdict session::handshake(const wire::frame& f) {
  if (!challenge_.empty()) return authenticate(f);
  wire::frame answer = answer_hello(f, st_.opts.self, process_id_);
  if (!answer.has_welcome()) {
    note_bad(std::string("handshake refused: ") + code_name(answer.error().code()) + ": " + answer.error().message());
    post(answer);
    return verdict::close;
  }
  hello_ = f.hello();
  if (!hello_.worker().empty() && (hello_.role() != v1::Hello::STUB || !st_.workers.ticket_valid(hello_.worker()))) {
    closing_ = true;
    note_bad("handshake refused: UNAUTHORIZED: a worker ticket this weftd did not issue, or one already used");
    post(error_frame(0, v1::Error::UNAUTHORIZED,
                     "Hello.worker: this weftd issued no such worker ticket, or it is in use (a worker attaches "
                     "once, to the weftd that started it)"));
    return verdict::close;
  }
  if (hello_.role() == v1::Hello::DAEMON && st_.opts.cluster_key.empty()) {
    closing_ = true;
    note_bad("handshake refused: REFUSED: a DAEMON client, and this weftd has no cluster key");
    post(error_frame(0, v1::Error::REFUSED,
                     "this weftd takes spawns from other hosts' weftds only with a cluster key (weftd --key FILE)"));
    return verdict::close;
  }
  // A forked worker's connection (trust_worker): weftd made both ends.
  const bool made_here = !trusted_ticket_.empty() && hello_.worker() == trusted_ticket_;
  if (!st_.opts.cluster_key.empty() && !made_here) {
    challenge_ = wire::new_challenge();
    answer.mutable_welcome()->set_challenge(challenge_);
    post(answer);
    return verdict::go_on;  // the AuthProof comes next
  }
  attached();
  post(answer);
  return verdict::go_on;
}

// The frame after a Welcome that carried a challenge.
session::verdict session::authenticate(const wire::frame& f) {
  if (f.has_goodbye()) {
    // A client without the key leaves politely (the weft command does).
    closing_ = true;
    note_bad("handshake refused: UNAUTHORIZED: no proof of the cluster key (the client has none) from " +
             describe_hello(hello_));
    return verdict::close;
  }
  if (!f.has_auth_proof()) {
    closing_ = true;
    note_bad("handshake refused: PROTOCOL: " + body_name(f) + " instead of AuthProof");
    post(error_frame(0, v1::Error::PROTOCOL,
                     "this server requires the cluster key: after a Welcome with a challenge the client must send "
                     "AuthProof (docs/protocol.md, \"Handshake\"), not " +
                         body_name(f)));
    return verdict::close;
  }
  if (!wire::proof_matches(st_.opts.cluster_key, challenge_, f.auth_proof().mac())) {
    closing_ = true;
    note_bad("handshake refused: UNAUTHORIZED: wrong cluster key from " + describe_hello(hello_));
    post(error_frame(0, v1::Error::UNAUTHORIZED,
                     "wrong cluster key: the client's key is not the one this server was started with (weftd --key)"));
    return verdict::close;
  }
  challenge_.clear();
  attached();
  wire::frame ok;
  ok.mutable_auth_result();
  post(ok);
  return verdict::go_on;
}

// The handshake is complete: the client may send requests.
void session::attached() {
  role_.store(hello_.role(), std::memory_order_relaxed);
  welcomed_.store(true, std::memory_order_release);
  const bool made_here = !trusted_ticket_.empty() && hello_.worker() == trusted_ticket_;
  st_.log(name_ + " attached: " + describe_hello(hello_) +
          (made_here                      ? " (connected by weftd at the fork)"
           : st_.opts.cluster_key.empty() ? ""
                                          : " (key proven)"));
  // The ticket is claimed first, so that the control host lists a worker
  // under its id from the moment it is listed at all.
  std::string worker_id;
  if (!hello_.worker().empty()) {
    if (st_.workers.claim(hello_.worker(), process_id_)) {
      worker_id = hello_.worker().substr(0, hello_.worker().find('.'));
    } else {
      note_bad("worker ticket " + hello_.worker().substr(0, 17) + " was claimed by another connection first");
    }
  }
  if (hello_.role() == v1::Hello::STUB) st_.control.attach(process_id_, *this, hello_.process(), worker_id);
  if (st_.opts.trace && hello_.role() == v1::Hello::STUB) {
    traced_ = true;
    st_.opts.trace->attach(process_id_, hello_.process().pid(), hello_.process().binary_path());
  }
}

session::verdict session::dispatch(const wire::frame& f) {
  const std::uint64_t id = f.id();
  switch (f.body_case()) {
    case wire::frame::kPing: {
      wire::frame pong;
      pong.mutable_pong()->set_nonce(f.ping().nonce());
      post(pong);
      return verdict::go_on;
    }
    case wire::frame::kPong: return verdict::go_on;
    case wire::frame::kTraceEvents:  // one-way: without a trace logger, nobody asked, so ignored
      if (st_.opts.trace) st_.opts.trace->record(process_id_, f.trace_events());
      return verdict::go_on;
    case wire::frame::kGoodbye:
      goodbye_ = f.goodbye().reason().substr(0, 200);
      if (goodbye_.empty()) goodbye_ = "(no reason)";
      return verdict::close;
    case wire::frame::kCancel: cancel(id); return verdict::go_on;
    case wire::frame::kOfferReply: return offer_reply(id, f.offer_reply());
    case wire::frame::kError:
      if (id == 0) {
        // The client reports a connection-level error and closes.
        st_.log(name_ + " reported " + code_name(f.error().code()) + ": " + f.error().message().substr(0, 200));
        return verdict::close;
      }
      return answer(f);
    case wire::frame::kControlReply: return answer(f);
    case wire::frame::kMigrateEnd:
    case wire::frame::kMigrateState:
    case wire::frame::kMigrateInResult: return migrate_one_way(f);
    case wire::frame::BODY_NOT_SET:
      // A message of a later minor version, or none: one-way ones are
      // ignored (docs/protocol.md), requests answered.
      if (id != 0) refuse(id, v1::Error::REFUSED, "this server does not know that request (it speaks protocol 1.0)");
      return verdict::go_on;
    default: break;
  }
  // Everything else is a request (a client sends no replies here).
  switch (f.body_case()) {
    case wire::frame::kChanOpen:
    case wire::frame::kChanSend:
    case wire::frame::kChanRecv:
    case wire::frame::kChanClose:
    case wire::frame::kChanStat:
    case wire::frame::kRemove:
    case wire::frame::kVarOpen:
    case wire::frame::kVarOp:
    case wire::frame::kFileOpen:
    case wire::frame::kFileOp:
    case wire::frame::kOsQuery:
    case wire::frame::kControl:
    case wire::frame::kSpawn:
    case wire::frame::kWorkerStart:
    case wire::frame::kWorkerDone:
    case wire::frame::kWorkerKill:
    case wire::frame::kWorkerWait:
    case wire::frame::kAnchorList:
    case wire::frame::kAnchorWatch:
    case wire::frame::kWorkerLog:
    case wire::frame::kBinaryPut:
    case wire::frame::kMigrateBegin:
    case wire::frame::kMigrateHost:
    case wire::frame::kMigrate: break;
    case wire::frame::kHello: return broken("Hello after the handshake");
    case wire::frame::kAuthProof:
      return broken(st_.opts.cluster_key.empty() ? "AuthProof, but this server sent no challenge"
                                                 : "AuthProof after the handshake");
    default: return broken(body_name(f) + " is not a message a client sends");
  }
  if (id == 0) return broken(body_name(f) + " without a request id");
  switch (f.body_case()) {
    case wire::frame::kChanOpen: chan_open(id, f.chan_open()); break;
    case wire::frame::kChanSend: chan_send(id, f.chan_send()); break;
    case wire::frame::kChanRecv: chan_recv(id, f.chan_recv()); break;
    case wire::frame::kChanClose:
      if (hosted_chan* ch = chan_of(id, f.chan_close().handle())) ch->close(*this, id);
      break;
    case wire::frame::kChanStat:
      if (hosted_chan* ch = chan_of(id, f.chan_stat().handle())) {
        wire::frame r;
        r.set_id(id);
        *r.mutable_chan_stats() = ch->stat();
        post(r);
      }
      break;
    case wire::frame::kRemove: remove(id, f.remove()); break;
    case wire::frame::kVarOpen: var_open(id, f.var_open()); break;
    case wire::frame::kVarOp: var_op(id, f.var_op()); break;
    case wire::frame::kFileOpen:
      if (os_host* o = os(id)) o->open(*this, id, f.file_open());
      break;
    case wire::frame::kFileOp:
      if (os_host* o = os(id)) o->op(*this, id, f.file_op());
      break;
    case wire::frame::kOsQuery:
      if (os_host* o = os(id)) o->query(*this, id, f.os_query());
      break;
    case wire::frame::kSpawn: {
      const v1::Hello::Role role = role_.load(std::memory_order_relaxed);
      st_.workers.spawn(*this, id, f.spawn(), role == v1::Hello::STUB ? &hello_.process() : nullptr,
                        role == v1::Hello::DAEMON);
      break;
    }
    case wire::frame::kWorkerStart: st_.workers.start(*this, id, process_id_, f.worker_start()); break;
    case wire::frame::kBinaryPut: binary_put(id, f.binary_put()); break;
    case wire::frame::kWorkerDone: st_.workers.done(*this, id, process_id_, f.worker_done()); break;
    case wire::frame::kWorkerKill: st_.workers.kill(*this, id, f.worker_kill()); break;
    case wire::frame::kWorkerWait: st_.workers.wait(*this, id, f.worker_wait()); break;
    case wire::frame::kAnchorList: st_.workers.anchors(*this, id, f.anchor_list()); break;
    case wire::frame::kWorkerLog: st_.workers.log(*this, id, f.worker_log()); break;
    case wire::frame::kAnchorWatch:
      // Pending until its final Error: Cancel finds it, and max_pending
      // bounds a client's watches.
      if (begin(id, target{.watch = true})) st_.workers.watch(*this, id, f.anchor_watch());
      break;
    case wire::frame::kMigrateBegin:
    case wire::frame::kMigrateHost:
    case wire::frame::kMigrate: migrate(id, f); break;
    default: control(id, f.control()); break;  // kControl
  }
  return verdict::go_on;
}

// Migration's requests (server/migrate_host.hpp): a stub's goroutines and
// its acceptance, a tool's moves.
void session::migrate(std::uint64_t id, const wire::frame& f) {
  const v1::Hello::Role role = role_.load(std::memory_order_relaxed);
  if (f.has_migrate()) {
    if (role != v1::Hello::TOOL)
      return refuse(id, v1::Error::REFUSED,
                    std::string("only a TOOL client may send Migrate; this connection's Hello said role ") +
                        v1::Hello::Role_Name(role));
    if (!begin(id, target{})) return;
    migrating_ = true;
    st_.log(name_ + " asks to move " +
            (f.migrate().goroutine_size() ? std::to_string(f.migrate().goroutine_size()) + " goroutine(s)"
                                          : "the goroutines of pid " + std::to_string(f.migrate().pid())) +
            " to " + (f.migrate().to().empty() ? "auto" : f.migrate().to()));
    return st_.migrations.request(*this, process_id_, id, f.migrate());
  }
  if (role != v1::Hello::STUB)
    return refuse(id, v1::Error::REFUSED, body_name(f) + " comes from a program's runtime stub (role STUB) only");
  if (f.has_migrate_begin())
    return st_.migrations.begin(*this, process_id_, hello_.process(), peer_, id, f.migrate_begin());
  st_.migrations.accept(*this, process_id_, hello_.process(), peer_, id);
}

session::verdict session::migrate_one_way(const wire::frame& f) {
  if (role_.load(std::memory_order_relaxed) != v1::Hello::STUB)
    return broken(body_name(f) + " comes from a program's runtime stub (role STUB) only");
  if (f.has_migrate_end()) {
    st_.migrations.end(process_id_, f.migrate_end());
  } else if (f.has_migrate_state()) {
    st_.migrations.state(process_id_, f.migrate_state());
  } else {
    st_.migrations.in_result(process_id_, f.migrate_in_result());
  }
  return verdict::go_on;
}

void session::binary_put(std::uint64_t id, const v1::BinaryPut& m) {
  if (role_.load(std::memory_order_relaxed) != v1::Hello::DAEMON)
    return refuse(id, v1::Error::REFUSED, "BinaryPut comes from another host's weftd (a DAEMON client) only");
  try {
    if (m.offset() == 0) {
      upload_.reset();  // a new binary replaces one left unfinished
      upload_ = std::make_unique<binary_cache::upload>(st_.workers.binaries().begin(m.sha256(), m.size()));
      upload_sha_ = m.sha256();
      upload_next_ = 0;
    } else if (!upload_ || upload_sha_ != m.sha256() || upload_next_ != m.offset()) {
      upload_.reset();
      return refuse(
          id, v1::Error::REFUSED,
          "BinaryPut at offset " + std::to_string(m.offset()) + ": pieces of one binary come in order from offset 0");
    }
    upload_->write(m.data());
    upload_next_ += m.data().size();
    if (upload_next_ >= m.size()) {
      std::unique_ptr<binary_cache::upload> done = std::move(upload_);
      done->commit();
      st_.log(name_ + ": binary " + m.sha256().substr(0, 12) + " (" + std::to_string(m.size()) +
              " bytes) received and verified");
    }
  } catch (const std::exception& e) {
    upload_.reset();  // nothing of it is kept (I1)
    return refuse(id, v1::Error::REFUSED, std::string("binary ") + m.sha256().substr(0, 12) + ": " + e.what());
  }
  post(ok_frame(id));
}

// Handles and pending requests.

std::uint64_t session::handle_for(object o) {
  const void* key = o.chan ? static_cast<const void*>(o.chan.get()) : static_cast<const void*>(o.var.get());
  auto it = handle_of_.find(key);
  if (it != handle_of_.end()) return it->second;
  std::uint64_t h = next_handle_++;
  handle_of_.emplace(key, h);
  handles_.emplace(h, std::move(o));
  return h;
}

// The OS resources of this client, made at its first OS request; null
// (after refusing the request) when this server does not offer them.
os_host* session::os(std::uint64_t id) {
  if (os_) return os_.get();
  const auto& caps = st_.opts.self.capabilities;
  if (std::find(caps.begin(), caps.end(), "os") == caps.end()) {
    refuse(id, v1::Error::REFUSED, "this server does not offer \"os\" (its host's files and environment)");
    return nullptr;
  }
  os_ = std::make_unique<os_host>(st_.opts.os_limits);
  return os_.get();
}

hosted_chan* session::chan_of(std::uint64_t id, std::uint64_t handle) {
  auto it = handles_.find(handle);
  if (it == handles_.end() || !it->second.chan) {
    refuse(id, v1::Error::NOT_FOUND, "no channel has handle " + std::to_string(handle) + " on this connection");
    return nullptr;
  }
  return it->second.chan.get();
}

hosted_var* session::var_of(std::uint64_t id, std::uint64_t handle) {
  auto it = handles_.find(handle);
  if (it == handles_.end() || !it->second.var) {
    refuse(id, v1::Error::NOT_FOUND, "no variable has handle " + std::to_string(handle) + " on this connection");
    return nullptr;
  }
  return it->second.var.get();
}

// Records a request that may wait, before the host sees it (the host may
// post its final reply at once, and post() then erases the entry).
bool session::begin(std::uint64_t id, target t) {
  bool dup, full;
  {
    detail::lock_scope lk(pending_lock_);
    dup = pending_.count(id) != 0;
    full = pending_.size() >= st_.opts.max_pending;
    if (!dup && !full) pending_.emplace(id, t);
  }
  if (dup) {
    // Its replies would be ambiguous: the client is broken.
    broken("request id " + std::to_string(id) + " is already outstanding");
    return false;
  }
  if (full) {
    refuse(id, v1::Error::REFUSED,
           "more than " + std::to_string(st_.opts.max_pending) + " requests outstanding on one connection");
    return false;
  }
  return true;
}

bool session::forget(std::uint64_t id) {
  detail::lock_scope lk(pending_lock_);
  return pending_.erase(id) != 0;
}

session::target session::pending_target(std::uint64_t id) {
  detail::lock_scope lk(pending_lock_);
  auto it = pending_.find(id);
  return it == pending_.end() ? target{} : it->second;
}

// Requests.

void session::chan_open(std::uint64_t id, const v1::ChanOpen& m) {
  chan_host::opened o = st_.chans.open(m.name(), m.signature(), m.has_capacity(), m.capacity());
  if (!o.chan) {
    // A mismatch is the program's error, not bad input: not logged.
    post(error_frame(id, o.code, std::move(o.error)));
    return;
  }
  wire::frame r;
  r.set_id(id);
  v1::ChanOpened* c = r.mutable_chan_opened();
  c->set_capacity(o.chan->capacity());
  c->set_created(o.created);
  c->set_handle(handle_for(object{std::move(o.chan), nullptr}));
  post(r);
}

void session::chan_send(std::uint64_t id, const v1::ChanSend& m) {
  hosted_chan* ch = chan_of(id, m.handle());
  if (!ch) return;
  if (!known_mode(m.mode()))
    return refuse(id, v1::Error::REFUSED, "mode " + std::to_string(m.mode()) + " is not WAIT, TRY, OFFER or OFFER_NOW");
  if (!begin(id, target{ch, nullptr})) return;
  ch->send(*this, id, m.value(), m.mode());
}

void session::chan_recv(std::uint64_t id, const v1::ChanRecv& m) {
  hosted_chan* ch = chan_of(id, m.handle());
  if (!ch) return;
  if (!known_mode(m.mode()))
    return refuse(id, v1::Error::REFUSED, "mode " + std::to_string(m.mode()) + " is not WAIT, TRY, OFFER or OFFER_NOW");
  if (!begin(id, target{ch, nullptr})) return;
  ch->recv(*this, id, m.mode());
}

session::verdict session::offer_reply(std::uint64_t id, const v1::OfferReply& m) {
  target t = pending_target(id);
  if (!t.chan || !t.chan->offer_reply(*this, id, m.accept()))
    return broken("OfferReply for request " + std::to_string(id) + ", which has no Offer outstanding");
  forget(id);
  return verdict::go_on;
}

void session::cancel(std::uint64_t id) {
  // An unknown id is a request whose reply crossed the Cancel: nothing to do.
  target t = pending_target(id);
  if (t.chan) t.chan->cancel(*this, id);
  if (t.var) t.var->cancel(*this, id);
  if (t.watch) st_.workers.cancel_watch(*this, id);
}

void session::remove(std::uint64_t id, const v1::Remove& m) {
  bool chan = st_.chans.remove(m.name());
  bool var = st_.vars.remove(m.name());
  if (chan || var) {
    post(ok_frame(id));
  } else {
    post(error_frame(id, v1::Error::NOT_FOUND, "no channel or variable is named '" + m.name().substr(0, 200) + "'"));
  }
}

void session::var_open(std::uint64_t id, const v1::VarOpen& m) {
  var_host::opened o = st_.vars.open(m.name(), m.signature(), m.initial());
  if (!o.var) {
    post(error_frame(id, o.code, std::move(o.error)));
    return;
  }
  wire::frame r;
  r.set_id(id);
  v1::VarOpened* v = r.mutable_var_opened();
  v->set_value(std::move(o.value));
  v->set_created(o.created);
  v->set_handle(handle_for(object{nullptr, std::move(o.var)}));
  post(r);
}

void session::var_op(std::uint64_t id, const v1::VarOp& m) {
  hosted_var* v = var_of(id, m.handle());
  if (!v) return;
  if (!begin(id, target{nullptr, v})) return;
  v->apply(*this, id, m, &st_.values);
}

void session::control(std::uint64_t id, const v1::Control& m) {
  const v1::Hello::Role role = role_.load(std::memory_order_relaxed);
  if (role != v1::Hello::TOOL) {
    return refuse(id, v1::Error::REFUSED,
                  std::string("only a TOOL client may send Control; this connection's Hello said role ") +
                      v1::Hello::Role_Name(role));
  }
  // Registered like any request: a duplicate id breaks the protocol, and
  // max_pending bounds a tool's outstanding ones too.
  if (!begin(id, target{})) return;
  controlled_ = true;
  if (m.action() == v1::Control::EXIT)
    st_.log(name_ + " asks " +
            (m.pid() ? "pid " + std::to_string(m.pid()) : "process_id " + std::to_string(m.process_id())) +
            " to exit with status " + std::to_string(m.code()));
  st_.control.request(*this, process_id_, id, m);
}

// A ControlReply or an Error with a request id: the answer to a request
// this server forwarded to this stub, or a broken client.
session::verdict session::answer(const wire::frame& f) {
  if (role_.load(std::memory_order_relaxed) == v1::Hello::STUB && st_.control.answer(process_id_, f))
    return verdict::go_on;
  return broken(body_name(f) + " for request " + std::to_string(f.id()) + ", but this server sent no such request");
}

void session::tick(std::chrono::steady_clock::time_point now) {
  if (welcomed() && role_.load(std::memory_order_relaxed) == v1::Hello::STUB) st_.control.expire(process_id_, now);
}

void session::end(std::string_view why) {
  if (ended_) return;
  ended_ = true;
  // Its requests end now (a tool waiting on this stub gets an Error); a
  // tool's own requests get no more replies.
  if (welcomed() && role_.load(std::memory_order_relaxed) == v1::Hello::STUB) st_.control.detach(process_id_);
  if (controlled_) st_.control.forget_tool(process_id_);
  if (migrating_) st_.migrations.forget_tool(process_id_);
  if (welcomed() && role_.load(std::memory_order_relaxed) == v1::Hello::STUB) st_.migrations.detach(process_id_);
  st_.workers.forget_client(*this);
  st_.workers.session_ended(process_id_);  // every frame it sent is handled (a worker's reaper waits: W6)
  // Every waiter and reservation of this client is in an object it
  // opened: dropping it from each frees them all (chan_host.hpp, I7).
  for (auto& [h, o] : handles_) {
    if (o.chan) o.chan->drop(*this);
    if (o.var) o.var->drop(*this);
  }
  {
    detail::lock_scope lk(pending_lock_);
    pending_.clear();
  }
  if (os_) os_->end();  // its calls in flight post to this session: wait for them
  handles_.clear();
  handle_of_.clear();
  if (traced_) st_.opts.trace->detach(process_id_);  // its summary
  // A client that never got in has one line at most: its bad input's, or
  // the watcher's reason for dropping it (a probe that connects and
  // closes, as wire::listen's stale-socket check does, gets none).
  // A client that got a challenge and left without a proof had no key:
  // a refusal as much as a wrong key, and logged as one.
  if (!challenge_.empty() && bad_ == 0) {
    note_bad("handshake refused: UNAUTHORIZED: no proof of the cluster key (the client has none) from " +
             describe_hello(hello_));
    return;
  }
  if (!welcomed() && (bad_ > 0 || why == "closed")) return;
  std::string line = name_ + (welcomed() ? " detached: " : " dropped: ");
  line += goodbye_.empty() ? std::string(why) : "said goodbye: " + goodbye_;
  if (bad_ > 1) line += " (" + std::to_string(bad_ - 1) + " more bad inputs not logged)";
  st_.log(line);
}

}  // namespace weft::server
