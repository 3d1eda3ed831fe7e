// src/wire/weftd_binary.cpp: finding weftd (weftd_binary.hpp).
#include "wire/weftd_binary.hpp"

#include <unistd.h>

#include <cstdlib>

namespace weft::wire {

namespace {

bool executable(const std::string& p) { return !p.empty() && ::access(p.c_str(), X_OK) == 0; }

std::string dir_of_self() {
  char buf[4096];
  ssize_t n = ::readlink("/proc/self/exe", buf, sizeof buf - 1);
  if (n <= 0) return "";
  std::string p(buf, static_cast<std::size_t>(n));
  return p.substr(0, p.rfind('/'));
}

}  // namespace

std::string find_weftd(const std::string& given) {
  if (!given.empty()) return given;
  if (const char* env = std::getenv("WEFT_WEFTD"); env && *env) return env;
  const std::string self = dir_of_self();
  if (std::string beside = self + "/weftd"; executable(beside)) return beside;
  if (std::string sibling = self + "/../weftd"; executable(sibling)) return sibling;
#ifdef WEFT_BUILD_WEFTD
  if (executable(WEFT_BUILD_WEFTD)) return WEFT_BUILD_WEFTD;
#endif
#ifdef WEFT_INSTALL_WEFTD
  if (executable(WEFT_INSTALL_WEFTD)) return WEFT_INSTALL_WEFTD;
#endif
  return "weftd";
}

}  // namespace weft::wire
