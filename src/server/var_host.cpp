// src/server/var_host.cpp: hosted variables (design and invariants V1-V3 in
// var_host.hpp).
#include "server/var_host.hpp"

#include <algorithm>
#include <mutex>
#include <utility>

#include "server/var_arith.hpp"

namespace weft::server {

namespace {

wire::frame value_frame(std::uint64_t id, std::string value, bool ok = false) {
  wire::frame f;
  f.set_id(id);
  v1::VarValue* v = f.mutable_var_value();
  v->set_value(std::move(value));
  v->set_ok(ok);
  return f;
}

// Takes bytes into the budget, or says why not.
bool hold(budget* b, const std::string& bytes, held* out, std::string* why) {
  if (!b->take(bytes.size())) {
    *why = "weftd is holding " + std::to_string(b->used()) + " bytes of values, its limit is " +
           std::to_string(b->limit()) + ": a value of " + std::to_string(bytes.size()) + " bytes does not fit";
    return false;
  }
  *out = held(bytes, b);
  return true;
}

}  // namespace

// Replaces the value and wakes the waiters it now differs from (V1).
void hosted_var::set(held v) {
  value_ = std::move(v);
  std::erase_if(waiters_, [&](const waiter& w) REQUIRES(mu_) {
    if (w.expected.bytes() == value_.bytes()) return false;
    w.c->post(value_frame(w.id, value_.bytes()));
    return true;
  });
}

void hosted_var::apply(client& c, std::uint64_t id, const v1::VarOp& op, budget* b) {
  wire::frame reply;
  {
    detail::lock_scope lk(mu_);
    reply = answer(c, id, op, b);
  }
  // Posted after the lock: a post may write to the socket itself (wire::link
  // writes through when nothing is queued), and the other clients of a busy
  // variable should not queue behind that system call. Their replies may
  // leave in another order than the operations ran; each has its id.
  if (reply.body_case() != wire::frame::BODY_NOT_SET) c.post(std::move(reply));
}

wire::frame hosted_var::answer(client& c, std::uint64_t id, const v1::VarOp& op, budget* b) {
  if (removed_) return error_frame(id, v1::Error::NOT_FOUND, "variable '" + name_ + "' was removed");
  auto refuse = [&](std::string why) { return error_frame(id, v1::Error::REFUSED, std::move(why)); };
  held next;
  std::string why;
  switch (op.op()) {
    case v1::VarOp::LOAD: return value_frame(id, value_.bytes());
    case v1::VarOp::STORE:
      if (!hold(b, op.value(), &next, &why)) return refuse(std::move(why));
      set(std::move(next));
      return value_frame(id, value_.bytes());
    case v1::VarOp::EXCHANGE: {
      if (!hold(b, op.value(), &next, &why)) return refuse(std::move(why));
      std::string old = value_.bytes();
      set(std::move(next));
      return value_frame(id, std::move(old));
    }
    case v1::VarOp::COMPARE_EXCHANGE: {
      const bool equal = value_.bytes() == op.expected();
      if (equal) {
        if (!hold(b, op.value(), &next, &why)) return refuse(std::move(why));
        set(std::move(next));
      }
      return value_frame(id, value_.bytes(), equal);
    }
    case v1::VarOp::FETCH_ADD: {
      std::string sum;
      if (!add_encoded(signature_, value_.bytes(), op.value(), &sum, &why))
        return refuse("variable '" + name_ + "': " + why);
      if (!hold(b, sum, &next, &why)) return refuse(std::move(why));
      std::string old = value_.bytes();
      set(std::move(next));
      return value_frame(id, std::move(old));
    }
    case v1::VarOp::WAIT:
      if (value_.bytes() != op.expected()) return value_frame(id, value_.bytes());
      if (!hold(b, op.expected(), &next, &why)) return refuse(std::move(why));
      waiters_.push_back(waiter{&c, id, std::move(next)});
      return wire::frame();  // answered by the change that makes it differ (V1)
    default:
      return refuse("VarOp " + std::to_string(static_cast<int>(op.op())) +
                    " is not one of LOAD, STORE, EXCHANGE, COMPARE_EXCHANGE, FETCH_ADD, WAIT");
  }
}

std::string hosted_var::load() {
  detail::lock_scope lk(mu_);
  return value_.bytes();
}

void hosted_var::cancel(client& c, std::uint64_t id) {
  detail::lock_scope lk(mu_);
  auto it = std::find_if(waiters_.begin(), waiters_.end(), [&](const waiter& w) { return w.c == &c && w.id == id; });
  if (it == waiters_.end()) return;  // its reply is on its way
  waiters_.erase(it);
  c.post(error_frame(id, v1::Error::CANCELLED, "cancelled"));
}

void hosted_var::drop(client& c) {
  detail::lock_scope lk(mu_);
  std::erase_if(waiters_, [&](const waiter& w) { return w.c == &c; });
}

void hosted_var::remove() {
  detail::lock_scope lk(mu_);
  if (removed_) return;
  removed_ = true;
  for (const waiter& w : waiters_)
    w.c->post(error_frame(w.id, v1::Error::NOT_FOUND, "variable '" + name_ + "' was removed"));
  waiters_.clear();
}

var_host::opened var_host::open(const std::string& name, const std::string& signature, const std::string& initial) {
  opened r;
  auto refuse = [&](std::string why) {
    r.code = v1::Error::REFUSED;
    r.error = std::move(why);
    return r;
  };
  if (name.empty()) return refuse("a variable needs a name");
  if (name.size() > limits_.max_name)
    return refuse("a variable name of " + std::to_string(name.size()) + " bytes is above the limit of " +
                  std::to_string(limits_.max_name));
  if (signature.empty()) return refuse("variable '" + name + "': no signature (weft::codec's name of its type)");
  detail::lock_scope lk(mu_);
  auto it = vars_.find(name);
  if (it != vars_.end()) {
    if (it->second->signature() != signature)
      return refuse("variable '" + name + "' holds " + it->second->signature() + ", not " + signature);
    r.var = it->second;
    lk.unlock();  // one lock at a time: the variable's own next
    r.value = r.var->load();
    return r;
  }
  if (initial.empty()) return refuse("variable '" + name + "' is new and has no initial value");
  if (vars_.size() >= limits_.max_vars)
    return refuse("weftd hosts " + std::to_string(vars_.size()) + " variables, its limit");
  held v;
  std::string why;
  if (!hold(budget_, initial, &v, &why)) return refuse(std::move(why));
  r.var = std::make_shared<hosted_var>(name, signature, std::move(v));
  r.created = true;
  r.value = initial;
  vars_.emplace(name, r.var);
  return r;
}

bool var_host::remove(const std::string& name) {
  std::shared_ptr<hosted_var> v;
  {
    detail::lock_scope lk(mu_);
    auto it = vars_.find(name);
    if (it == vars_.end()) return false;
    v = std::move(it->second);
    vars_.erase(it);
  }
  v->remove();
  return true;
}

}  // namespace weft::server
