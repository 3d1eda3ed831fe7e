// src/remote/local_objects.cpp: remote channels and variables when no
// runtime server is attached: they live in this process, one object per
// name (DESIGN.md, "Which server"), with the same identity rules as a
// server's: the element type (its codec signature) and, when given, the
// capacity must match the existing object's.
#include <map>
#include <mutex>
#include <stdexcept>
#include <string>

#include <weft/condition_variable.hpp>
#include <weft/detail/remote_core.hpp>
#include <weft/mutex.hpp>

#include "remote/local_objects.hpp"

#include "platform/thread_mutex.hpp"
#include "remote/stub.hpp"
#include "wire/arith.hpp"

namespace weft::remote::detail {

namespace {

struct chan_entry {
  std::string signature;
  weft::detail::chan_core* core;
};

struct registry {
  weft::detail::thread_mutex lock;  // held for map lookups only, never across a park
  std::map<std::string, chan_entry, std::less<>> chans GUARDED_BY(lock);
  std::map<std::string, std::shared_ptr<local_var>, std::less<>> vars GUARDED_BY(lock);
  ~registry() {
    for (auto& [name, e] : chans) weft::detail::chan_release(e.core);
  }
};

registry& reg() {
  static registry r;
  return r;
}

}  // namespace

weft::detail::chan_core* local_chan_open(const std::string& name, const std::string& signature, bool has_capacity,
                                         std::size_t capacity, const weft::detail::elem_ops* ops) {
  registry& r = reg();
  weft::detail::lock_scope lk(r.lock);
  auto it = r.chans.find(name);
  if (it == r.chans.end()) {
    weft::detail::chan_core* core = weft::detail::chan_make(has_capacity ? capacity : 0, ops);
    it = r.chans.emplace(name, chan_entry{signature, core}).first;
  } else {
    const chan_entry& e = it->second;
    if (e.signature != signature)
      throw std::invalid_argument("weft::remote::chan \"" + name + "\" carries " + e.signature + ", not " + signature);
    std::size_t have = weft::detail::chan_capacity(e.core);
    if (has_capacity && have != capacity)
      throw std::invalid_argument("weft::remote::chan \"" + name + "\" has capacity " + std::to_string(have) +
                                  ", not " + std::to_string(capacity));
  }
  weft::detail::chan_retain(it->second.core);
  return it->second.core;
}

std::shared_ptr<local_var> local_var_open(const std::string& name, const std::string& signature, std::string initial) {
  registry& r = reg();
  weft::detail::lock_scope lk(r.lock);
  auto it = r.vars.find(name);
  if (it == r.vars.end()) {
    auto v = std::make_shared<local_var>();
    v->signature = signature;
    v->value = std::move(initial);
    r.vars.emplace(name, v);
    return v;
  }
  if (it->second->signature != signature)
    throw std::invalid_argument("weft::remote::var \"" + name + "\" holds " + it->second->signature + ", not " +
                                signature);
  return it->second;
}

var_result local_var_op(local_var& v, var_opcode op, std::string value, std::string expected) {
  std::unique_lock lk(v.lock);
  var_result r;
  switch (op) {
    case var_opcode::load: r.value = v.value; break;
    case var_opcode::store:
      v.value = std::move(value);
      r.value = v.value;
      break;
    case var_opcode::exchange: r.value = std::exchange(v.value, std::move(value)); break;
    case var_opcode::compare_exchange:
      r.ok = v.value == expected;
      if (r.ok) v.value = std::move(value);
      r.value = v.value;
      break;
    case var_opcode::fetch_add:
      r.value = v.value;
      v.value = wire::add_encoded(v.signature, v.value, value);
      break;
    case var_opcode::wait:
      v.changed.wait(lk, [&] { return v.value != expected; });
      r.value = v.value;
      return r;
  }
  if (op != var_opcode::load) v.changed.notify_all();
  return r;
}

bool local_remove(std::string_view name) {
  registry& r = reg();
  weft::detail::lock_scope lk(r.lock);
  bool any = false;
  if (auto it = r.chans.find(name); it != r.chans.end()) {
    weft::detail::chan_release(it->second.core);
    r.chans.erase(it);
    any = true;
  }
  if (auto it = r.vars.find(name); it != r.vars.end()) {
    r.vars.erase(it);
    any = true;
  }
  return any;
}

}  // namespace weft::remote::detail
