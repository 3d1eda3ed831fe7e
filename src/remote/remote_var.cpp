// src/remote/remote_var.cpp: remote variables (docs/protocol.md, "Remote
// variables"), or in-process ones when no server is attached; and the
// small public calls of weft/remote.hpp.
#include <stdexcept>

#include <weft/detail/remote_core.hpp>
#include <weft/remote.hpp>

#include "remote/local_objects.hpp"
#include "remote/stub.hpp"

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

}  // namespace

std::shared_ptr<var_link> var_open(const std::string& name, const std::string& signature, std::string initial) {
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
  v1::Frame req;
  v1::VarOp* o = req.mutable_var_op();
  o->set_handle(v.handle);
  o->set_op(wire_op(op));
  o->set_value(std::move(value));
  o->set_expected(std::move(expected));
  v1::Frame r = v.s->call(std::move(req));
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
