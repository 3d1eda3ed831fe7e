// src/circuit/cross_registry.cpp: WEFT_CROSS's table (cross_registry.hpp).
#include "circuit/cross_registry.hpp"

#include <cxxabi.h>

#include <cstdlib>
#include <map>
#include <mutex>
#include <utility>

namespace weft::circuit::detail {

namespace {

struct table {
  std::mutex mu;  // registration runs before weft::run: a plain mutex
  std::map<std::pair<std::string, std::string>, cross_method> methods;
};

table& the_table() {
  static table t;
  return t;
}

}  // namespace

const cross_method* find_cross_method(const std::string& type, const std::string& method) {
  table& t = the_table();
  std::lock_guard lk(t.mu);
  auto it = t.methods.find({type, method});
  return it == t.methods.end() ? nullptr : &it->second;
}

}  // namespace weft::circuit::detail

namespace weft::detail {

std::string cross_demangle(const char* mangled) {
  int status = 0;
  std::unique_ptr<char, void (*)(void*)> out(abi::__cxa_demangle(mangled, nullptr, nullptr, &status), std::free);
  return status == 0 && out ? std::string(out.get()) : std::string(mangled);
}

// A header with WEFT_CROSS included by two translation units registers
// twice: the same methods, harmless.
bool register_cross(const std::string& type, std::initializer_list<cross_method_entry> methods) {
  auto& t = circuit::detail::the_table();
  std::lock_guard lk(t.mu);
  for (const cross_method_entry& m : methods) t.methods[{type, m.name}] = {m.signature(), m.invoke};
  return true;
}

}  // namespace weft::detail
