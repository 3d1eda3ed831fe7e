// tools/conformance/client.cpp: the suite's connection to the server under
// test, its request vocabulary (ops) and the suite's shared state (design in
// conformance.hpp).
#include "conformance.hpp"

#include <unistd.h>

#include <cctype>
#include <system_error>

#include <weft/errors.hpp>
#include <weft/go.hpp>
#include <weft/select.hpp>
#include <weft/timer.hpp>

#include "wire/cluster_key.hpp"
#include "wire/version.hpp"

namespace weft::conformance {

using clock = std::chrono::steady_clock;

void require(bool ok, const std::string& why) {
  if (!ok) throw failure(why);
}

std::string describe(const v1::Frame& f) {
  if (f.body_case() == v1::Frame::BODY_NOT_SET) return "a frame with no body";
  const auto* field = v1::Frame::GetDescriptor()->FindFieldByNumber(static_cast<int>(f.body_case()));
  std::string s = field ? field->camelcase_name() : "an unknown frame";
  if (!s.empty()) s[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(s[0])));
  if (f.has_error()) s += " " + v1::Error::Code_Name(f.error().code()) + " (" + f.error().message() + ")";
  if (f.has_chan_done()) s += " " + v1::ChanDone::Status_Name(f.chan_done().status());
  if (f.has_file_result()) s += " errno " + std::to_string(f.file_result().errno_value());
  return s;
}

// ---- client

client::client(const config& cfg) : cfg_(cfg) {
  wire::stream c;
  try {
    c = wire::connect(cfg.address, cfg.timeout, cfg.key);
  } catch (const std::system_error& e) {
    throw failure("cannot connect to " + cfg.address.text() + ": " + e.what());
  } catch (const remote_error& e) {
    throw failure("cannot connect to " + cfg.address.text() + ": " + e.what());
  }
  link_ = std::make_unique<wire::link>(std::move(c), "server under test " + cfg.address.text());
  // Each goroutine closes its own copy of the channel that says it is done:
  // the destructor may free this client as soon as it sees the close.
  weft::go(weft::go_options{.name = "conformance writer"}, [this, done = writer_done_]() mutable {
    link_->write_loop();
    done.close();
  });
  weft::go(weft::go_options{.name = "conformance reader"}, [this] { read_loop(); });
}

client::~client() {
  link_->close();
  while (inbox_.recv()) {}  // until the reader has closed it: then it is gone
  writer_done_.recv();
}

void client::read_loop() {
  weft::chan<frame_ptr> inbox = inbox_;  // see the constructor
  v1::Frame f;
  try {
    while (link_->receive(f)) {
      if (f.id() == 0 && f.has_ping()) {
        v1::Frame pong;
        pong.mutable_pong()->set_nonce(f.ping().nonce());
        try {
          link_->send(pong);
        } catch (const remote_error&) {}
        continue;
      }
      inbox.send(std::make_shared<v1::Frame>(std::move(f)));
      f = v1::Frame();
    }
    end_ = "the server closed the connection";
  } catch (const remote_error& e) {
    end_ = e.what();
  }
  inbox.close();
}

const v1::Welcome& client::handshake(unsigned major, unsigned minor, std::vector<std::string> required) {
  v1::Hello h = ops::tool_hello(major, minor);
  for (std::string& r : required) h.add_required_capabilities(std::move(r));
  v1::Frame r = hello(h);
  require(r.has_welcome(), "Hello answered with " + describe(r) + ", not Welcome");
  welcome_ = r.welcome();
  if (!welcome_.challenge().empty()) {
    require(!cfg_.key.empty(), "the server asks for the cluster key: give the suite its key file with --key FILE");
    v1::Frame proof;
    proof.mutable_auth_proof()->set_mac(wire::auth_proof(cfg_.key, welcome_.challenge()));
    send(proof);
    v1::Frame a = expect(0, "the answer to AuthProof");
    require(a.has_auth_result(), "AuthProof with the right key answered " + describe(a) + ", not AuthResult");
  }
  return welcome_;
}

v1::Frame client::hello(const v1::Hello& h) {
  v1::Frame f;
  *f.mutable_hello() = h;
  send(f);
  return expect(0, "the answer to Hello");
}

std::uint64_t client::request(v1::Frame f) {
  f.set_id(next_id_++);
  send(f);
  return f.id();
}

void client::send(const v1::Frame& f) {
  try {
    link_->send(f);
  } catch (const remote_error& e) {
    throw failure(std::string("cannot send: ") + e.what());
  }
}

void client::write_raw(std::string_view bytes) {
  try {
    link_->write_now(bytes);
  } catch (const std::system_error& e) {
    throw failure(std::string("cannot write: ") + e.what());
  }
}

void client::close() noexcept { link_->close(); }

client::frame_ptr client::next_frame(clock::time_point deadline) {
  frame_ptr got;
  auto on_frame = [&](std::optional<frame_ptr> f) {
    inbox_closed_ = !f;
    got = f.value_or(nullptr);
  };
  weft::select(weft::on_recv(inbox_, on_frame), weft::on_recv(weft::after(deadline - clock::now()), [] {}));
  return got;
}

std::optional<v1::Frame> client::take(std::uint64_t id, clock::time_point deadline) {
  for (auto it = stash_.begin(); it != stash_.end(); ++it) {
    if ((*it)->id() == id) {
      v1::Frame f = std::move(**it);
      stash_.erase(it);
      return f;
    }
  }
  while (!inbox_closed_ && clock::now() < deadline) {
    frame_ptr got = next_frame(deadline);
    if (!got) continue;  // the deadline passed, or the connection ended
    if (got->id() == id) return std::move(*got);
    // A connection-level Error answers nothing in particular: it ends the wait.
    if (got->id() == 0 && got->has_error())
      throw failure("the server sent " + describe(*got) + " (id 0) while we waited for request " + std::to_string(id));
    stash_.push_back(std::move(got));
  }
  return std::nullopt;
}

v1::Frame client::expect(std::uint64_t id, const std::string& what) {
  std::optional<v1::Frame> f = take(id, clock::now() + cfg_.timeout);
  if (f) return std::move(*f);
  if (inbox_closed_) throw failure(what + ": no answer, " + end_);
  throw failure(what + ": no answer within " + std::to_string(cfg_.timeout.count()) + " ms");
}

std::optional<v1::Frame> client::poll(std::uint64_t id) { return take(id, clock::now() + cfg_.quiet); }

void client::expect_silence(std::uint64_t id, const std::string& what) {
  std::optional<v1::Frame> f = poll(id);
  if (f) throw failure(what + ": the server answered " + describe(*f) + "; it should still wait");
}

void client::expect_closed(const std::string& what) {
  auto deadline = clock::now() + cfg_.timeout;
  while (!inbox_closed_) {
    if (clock::now() >= deadline) throw failure(what + ": the server did not close the connection");
    frame_ptr got = next_frame(deadline);
    if (got && !got->has_goodbye())
      throw failure(what + ": the server sent " + describe(*got) + " before closing the connection");
  }
}

// ---- ops

namespace ops {

v1::Hello tool_hello(unsigned major, unsigned minor) {
  v1::Hello h;
  h.set_magic(wire::magic);
  h.mutable_version()->set_major(major);
  h.mutable_version()->set_minor(minor);
  h.set_role(v1::Hello::TOOL);
  return h;
}

std::string i64(std::int64_t v) { return weft::encode(v); }
std::string str(const std::string& v) { return weft::encode(v); }

std::int64_t as_i64(const std::string& bytes, const std::string& what) {
  try {
    return weft::decode<std::int64_t>(bytes);
  } catch (const remote_error& e) {
    throw failure(what + ": " + e.what());
  }
}

v1::Frame try_open_chan(client& c, const std::string& name, const std::string& sig,
                        std::optional<std::uint64_t> capacity) {
  v1::Frame req;
  v1::ChanOpen* o = req.mutable_chan_open();
  o->set_name(name);
  o->set_signature(sig);
  o->set_has_capacity(capacity.has_value());
  o->set_capacity(capacity.value_or(0));
  return c.expect(c.request(std::move(req)), "ChanOpen \"" + name + "\"");
}

v1::ChanOpened open_chan(client& c, const std::string& name, const std::string& sig,
                         std::optional<std::uint64_t> capacity) {
  v1::Frame r = try_open_chan(c, name, sig, capacity);
  require(r.has_chan_opened(), "ChanOpen \"" + name + "\" answered with " + describe(r));
  return r.chan_opened();
}

std::uint64_t start_send(client& c, std::uint64_t handle, const std::string& value, v1::Mode mode) {
  v1::Frame req;
  v1::ChanSend* s = req.mutable_chan_send();
  s->set_handle(handle);
  s->set_value(value);
  s->set_mode(mode);
  return c.request(std::move(req));
}

std::uint64_t start_recv(client& c, std::uint64_t handle, v1::Mode mode) {
  v1::Frame req;
  v1::ChanRecv* r = req.mutable_chan_recv();
  r->set_handle(handle);
  r->set_mode(mode);
  return c.request(std::move(req));
}

std::string expect_done(client& c, std::uint64_t id, v1::ChanDone::Status status, const std::string& what) {
  v1::Frame r = c.expect(id, what);
  require(r.has_chan_done() && r.chan_done().status() == status,
          what + ": answered " + describe(r) + ", want ChanDone " + v1::ChanDone::Status_Name(status));
  return r.chan_done().value();
}

void expect_send_closed(client& c, std::uint64_t id, const std::string& what) {
  v1::Frame r = c.expect(id, what);
  bool closed = (r.has_chan_done() && r.chan_done().status() == v1::ChanDone::CLOSED) ||
                (r.has_error() && r.error().code() == v1::Error::CLOSED);
  require(closed, what + ": answered " + describe(r) + ", want ChanDone CLOSED (or Error CLOSED)");
}

std::string expect_offer(client& c, std::uint64_t id, const std::string& what) {
  v1::Frame r = c.expect(id, what);
  require(r.has_offer(), what + ": answered " + describe(r) + ", want Offer");
  return r.offer().value();
}

void answer_offer(client& c, std::uint64_t id, bool accept) {
  v1::Frame f;
  f.set_id(id);
  f.mutable_offer_reply()->set_accept(accept);
  c.send(f);
}

void cancel(client& c, std::uint64_t id) {
  v1::Frame f;
  f.set_id(id);
  f.mutable_cancel();
  c.send(f);
}

std::string expect_error(client& c, std::uint64_t id, v1::Error::Code code, const std::string& what) {
  v1::Frame r = c.expect(id, what);
  require(r.has_error() && r.error().code() == code,
          what + ": answered " + describe(r) + ", want Error " + v1::Error::Code_Name(code));
  return r.error().message();
}

void expect_ok(client& c, v1::Frame req, const std::string& what) {
  v1::Frame r = c.expect(c.request(std::move(req)), what);
  require(r.has_ok(), what + ": answered " + describe(r) + ", want Ok");
}

v1::ChanStats stat(client& c, std::uint64_t handle) {
  v1::Frame req;
  req.mutable_chan_stat()->set_handle(handle);
  v1::Frame r = c.expect(c.request(std::move(req)), "ChanStat");
  require(r.has_chan_stats(), "ChanStat answered " + describe(r) + ", want ChanStats");
  return r.chan_stats();
}

void close_chan(client& c, std::uint64_t handle) {
  v1::Frame req;
  req.mutable_chan_close()->set_handle(handle);
  expect_ok(c, std::move(req), "ChanClose");
}

void send_value(client& c, std::uint64_t handle, const std::string& value) {
  expect_done(c, start_send(c, handle, value, v1::WAIT), v1::ChanDone::DONE, "a WAIT send that has room");
}

std::string recv_value(client& c, std::uint64_t handle) {
  return expect_done(c, start_recv(c, handle, v1::WAIT), v1::ChanDone::DONE, "a WAIT receive that has a value");
}

v1::VarOpened open_var(client& c, const std::string& name, const std::string& sig, const std::string& initial) {
  v1::Frame req;
  v1::VarOpen* o = req.mutable_var_open();
  o->set_name(name);
  o->set_signature(sig);
  o->set_initial(initial);
  v1::Frame r = c.expect(c.request(std::move(req)), "VarOpen \"" + name + "\"");
  require(r.has_var_opened(), "VarOpen \"" + name + "\" answered with " + describe(r));
  return r.var_opened();
}

std::uint64_t start_var_op(client& c, std::uint64_t handle, v1::VarOp::Op op, const std::string& value,
                           const std::string& expected) {
  v1::Frame req;
  v1::VarOp* o = req.mutable_var_op();
  o->set_handle(handle);
  o->set_op(op);
  o->set_value(value);
  o->set_expected(expected);
  return c.request(std::move(req));
}

v1::VarValue expect_var_value(client& c, std::uint64_t id, const std::string& what) {
  v1::Frame r = c.expect(id, what);
  require(r.has_var_value(), what + ": answered " + describe(r) + ", want VarValue");
  return r.var_value();
}

v1::VarValue var_op(client& c, std::uint64_t handle, v1::VarOp::Op op, const std::string& value,
                    const std::string& expected) {
  return expect_var_value(c, start_var_op(c, handle, op, value, expected), "VarOp " + v1::VarOp::Op_Name(op));
}

}  // namespace ops

// ---- suite

suite::suite(config cfg) : cfg_(std::move(cfg)) {}

std::unique_ptr<client> suite::connect() {
  auto c = std::make_unique<client>(cfg_);
  c->handshake();
  return c;
}

std::string suite::unique(const std::string& stem) {
  return "weft-conformance." + std::to_string(::getpid()) + "." + std::to_string(++next_) + "." + stem;
}

std::string suite::name(const std::string& stem) {
  names_.push_back(unique(stem));
  return names_.back();
}

void suite::finish() noexcept {
  if (bystander_) names_.push_back(bystander_name_);
  bystander_.reset();
  clean_up();
}

void suite::clean_up() noexcept {
  if (names_.empty()) return;
  try {
    std::unique_ptr<client> c = connect();
    std::vector<std::uint64_t> ids;
    for (const std::string& n : names_) {
      v1::Frame req;
      req.mutable_remove()->set_name(n);
      ids.push_back(c->request(std::move(req)));
    }
    for (std::uint64_t id : ids) c->expect(id, "Remove");
  } catch (const std::exception&) {  // the server may be gone: the check said so already
  }
  names_.clear();
}

client& suite::bystander() {
  if (!bystander_) {
    bystander_ = connect();
    bystander_name_ = unique("bystander");
    bystander_chan_ = ops::open_chan(*bystander_, bystander_name_, "i64", 1).handle();
  }
  return *bystander_;
}

void suite::require_bystander_ok() {
  client& b = bystander();
  v1::Frame ping;
  ping.mutable_ping()->set_nonce(0xb15);
  b.send(ping);
  v1::Frame r = b.expect(0, "the second connection's Ping");
  require(r.has_pong() && r.pong().nonce() == 0xb15, "the second connection's Ping answered " + describe(r));
  ops::send_value(b, bystander_chan_, ops::i64(7));
  require(ops::recv_value(b, bystander_chan_) == ops::i64(7), "the second connection's channel lost its value");
}

}  // namespace weft::conformance
