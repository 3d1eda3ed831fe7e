// src/circuit/exception_info.cpp: the thrown type's name from the C++ ABI
// (libstdc++ and libc++ both offer __cxa_current_exception_type), so a
// thrown int or a user's class arrives with its name, not just "unknown".
#include "circuit/exception_info.hpp"
#include "wire/utf8.hpp"

#include <cxxabi.h>

#include <cstdlib>
#include <memory>
#include <typeinfo>

namespace weft::circuit::detail {

namespace {

std::string demangle(const char* mangled) {
  int status = 0;
  std::unique_ptr<char, void (*)(void*)> out(abi::__cxa_demangle(mangled, nullptr, nullptr, &status), std::free);
  return status == 0 && out ? std::string(out.get()) : std::string(mangled);
}

}  // namespace

exception_info current_exception_info() {
  exception_info info;
  const std::type_info* t = abi::__cxa_current_exception_type();
  info.type_name = t ? demangle(t->name()) : "unknown";
  try {
    throw;
  } catch (const std::exception& e) {
    info.what = wire::utf8_text(e.what());
  } catch (...) {}
  return info;
}

exception_info describe(const std::exception_ptr& e) {
  if (!e) return {"unknown", ""};
  try {
    std::rethrow_exception(e);
  } catch (...) {
    return current_exception_info();
  }
}

}  // namespace weft::circuit::detail
