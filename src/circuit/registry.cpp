// src/circuit/registry.cpp: WEFT_SPAWNABLE's table (registry.hpp).
#include "circuit/registry.hpp"

#include <map>
#include <mutex>

#include <weft/errors.hpp>

namespace weft::circuit::detail {

namespace {

struct table {
  std::mutex mu;  // registration runs before weft::run: a plain mutex
  std::map<std::string, spawnable> by_name;
  std::map<weft::detail::any_function, std::string> name_of;
};

table& the_table() {
  static table t;
  return t;
}

}  // namespace

const spawnable* find_spawnable(const std::string& name) {
  table& t = the_table();
  std::lock_guard lk(t.mu);
  auto it = t.by_name.find(name);
  return it == t.by_name.end() ? nullptr : &it->second;
}

}  // namespace weft::circuit::detail

namespace weft::detail {

bool register_spawnable(const char* name, any_function fn, std::string (*signature)(), spawn_invoker invoke) {
  auto& t = circuit::detail::the_table();
  std::lock_guard lk(t.mu);
  auto [it, fresh] = t.by_name.try_emplace(name);
  it->second.name = name;
  if (fresh) {
    it->second.signature = signature();
    it->second.invoke = invoke;
  } else if (t.name_of.count(fn) == 0) {
    it->second.ambiguous = true;
  }
  t.name_of.emplace(fn, name);
  return true;
}

std::string spawnable_name(any_function fn) {
  auto& t = circuit::detail::the_table();
  std::lock_guard lk(t.mu);
  auto it = t.name_of.find(fn);
  if (it == t.name_of.end())
    throw misuse_error(
        "weft::spawn: the function is not spawnable; register it with WEFT_SPAWNABLE(name) at "
        "namespace scope");
  if (t.by_name[it->second].ambiguous)
    throw misuse_error("weft::spawn: two functions are registered as \"" + it->second +
                       "\"; register them by their qualified names (WEFT_SPAWNABLE(ns::" + it->second + "))");
  return it->second;
}

}  // namespace weft::detail
