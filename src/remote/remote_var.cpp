// src/remote/remote_var.cpp: remote variables (docs/protocol.md, "Remote
// variables"), or in-process ones when no server is attached; and the
// small public calls of weft/remote.hpp.
//
// A migratable goroutine's wait is a safe point (migration.hpp, G3), as a
// remote channel's recv and send are: the WAIT request goes out under an
// id whose final reply the goroutine waits for beside its interrupt. A move
// asked meanwhile cancels the request (Cancel); its final reply is then
// either CANCELLED, and the goroutine reaches its safe point having taken
// nothing, or the value that crossed the Cancel, which the wait returns
// (a wait changes nothing on the server, so either is exact).
#include <stdexcept>

#include <weft/chan.hpp>

#include <weft/detail/remote_core.hpp>
#include <weft/remote.hpp>

#include "remote/local_objects.hpp"
#include "remote/migration.hpp"
#include "remote/stub.hpp"
#include "wire/remote_wait.hpp"
#include "wire/utf8.hpp"

namespace weft::remote::detail {

class var_link {
 public:
  std::string name;
  stub* s = nullptr;  // null: in this process
  std::uint64_t handle = 0;
  std::shared_ptr<local_var> local;
};

namespace {

v1::VarOp::Op wire_op(var_opcode op) {
  switch (op) {
    case var_opcode::load: return v1::VarOp::LOAD;
    case var_opcode::store: return v1::VarOp::STORE;
    case var_opcode::exchange: return v1::VarOp::EXCHANGE;
    case var_opcode::compare_exchange: return v1::VarOp::COMPARE_EXCHANGE;
    case var_opcode::fetch_add: return v1::VarOp::FETCH_ADD;
    case var_opcode::wait: return v1::VarOp::WAIT;
  }
  return v1::VarOp::OP_UNSPECIFIED;
}

v1::Frame op_request(var_link& v, var_opcode op, std::string value, std::string expected) {
  v1::Frame req;
  v1::VarOp* o = req.mutable_var_op();
  o->set_handle(v.handle);
  o->set_op(wire_op(op));
  o->set_value(std::move(value));
  o->set_expected(std::move(expected));
  return req;
}

// A WAIT in a migratable goroutine: its final reply, or, when a move was
// asked while it waited and the Cancel won, the reached safe point and the
// wait again.
v1::Frame migratable_wait(migration_ctx& m, var_link& v, const std::string& expected) {
  for (;;) {
    m.safe_point();
    const std::stop_token interrupt = m.interrupt_token();
    // The reader hands the final reply over through a one-slot channel:
    // try_send never parks, and the channel orders the frame's write
    // before the goroutine's read.
    auto reply = std::make_shared<v1::Frame>();
    weft::chan<bool> done(1);
    auto p = std::make_shared<pending>();
    p->on_reply = [reply, done](v1::Frame& f) mutable {
      *reply = std::move(f);
      done.try_send(true);
      return true;  // a VarOp has one reply
    };
    const std::uint64_t id = v.s->start_request(op_request(v, var_opcode::wait, {}, expected), p);
    weft::detail::wait_label_scope remote(wire::wait_runtime_server);
    if (!done.recv(interrupt)) {
      v1::Frame cancel;
      cancel.set_id(id);
      cancel.mutable_cancel();
      v.s->send(cancel);
      done.recv();  // the server answers every request: CANCELLED, or the value
    }
    if (reply->has_error() && reply->error().code() == v1::Error::CANCELLED) continue;
    return std::move(*reply);
  }
}

}  // namespace

std::shared_ptr<var_link> var_open(const std::string& name, const std::string& signature, std::string initial) {
  weft::wire::require_utf8(name, "weft::remote::var name");  // attached or not
  auto v = std::make_shared<var_link>();
  v->name = name;
  stub* s = current();
  if (s == nullptr) {
    v->local = local_var_open(name, signature, std::move(initial));
    return v;
  }
  if (!s->has_capability("var"))
    throw remote_error(remote_errc::refused,
                       "runtime server " + s->address() + " hosts no variables (it lacks the \"var\" capability)");
  v1::Frame req;
  v1::VarOpen* o = req.mutable_var_open();
  o->set_name(name);
  o->set_signature(signature);
  o->set_initial(std::move(initial));
  v1::Frame r = s->call(std::move(req));
  if (r.has_error()) {
    if (r.error().code() == v1::Error::REFUSED)
      throw std::invalid_argument("weft::remote::var \"" + name + "\": " + r.error().message());
    throw_error(r.error(), "opening remote variable \"" + name + "\" on runtime server " + s->address());
  }
  if (!r.has_var_opened())
    throw remote_error(remote_errc::protocol,
                       "runtime server " + s->address() + " answered VarOpen with something else");
  v->s = s;
  v->handle = r.var_opened().handle();
  return v;
}

var_result var_op(var_link& v, var_opcode op, std::string value, std::string expected) {
  if (v.local) return local_var_op(*v.local, op, std::move(value), std::move(expected));
  migration_ctx* m = op == var_opcode::wait ? current_migration() : nullptr;
  v1::Frame r = m != nullptr ? migratable_wait(*m, v, expected)
                             : v.s->call(op_request(v, op, std::move(value), std::move(expected)));
  if (r.has_error()) {
    if (op == var_opcode::fetch_add && r.error().code() == v1::Error::REFUSED)
      throw std::invalid_argument("weft::remote::var \"" + v.name + "\": " + r.error().message());
    throw_error(r.error(), "remote variable \"" + v.name + "\" on runtime server " + v.s->address());
  }
  if (!r.has_var_value())
    throw remote_error(remote_errc::protocol,
                       "runtime server " + v.s->address() + " answered VarOp with something else");
  return var_result{std::move(*r.mutable_var_value()->mutable_value()), r.var_value().ok()};
}

}  // namespace weft::remote::detail

namespace weft::remote {

bool attached() noexcept { return detail::current() != nullptr; }

void remove(std::string_view name) {
  weft::wire::require_utf8(name, "weft::remote::remove name");
  detail::stub* s = detail::current();
  if (s == nullptr) {
    detail::local_remove(name);
    return;
  }
  detail::v1::Frame req;
  req.mutable_remove()->set_name(std::string(name));
  detail::v1::Frame r = s->call(std::move(req));
  if (r.has_error() && r.error().code() != detail::v1::Error::NOT_FOUND)
    detail::throw_error(r.error(), "removing \"" + std::string(name) + "\" on runtime server " + s->address());
}

}  // namespace weft::remote
