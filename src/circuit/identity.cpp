// src/circuit/identity.cpp: ids, tickets and the runtime directory
// (identity.hpp).
#include "circuit/identity.hpp"

#include "wire/endpoint.hpp"

#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <stdexcept>
#include <system_error>

namespace weft::circuit::detail {

namespace {

std::string hex(std::uint64_t v, int digits) {
  static constexpr char xd[] = "0123456789abcdef";
  std::string s(static_cast<std::size_t>(digits), '0');
  for (int i = digits - 1; i >= 0; --i, v >>= 4) s[static_cast<std::size_t>(i)] = xd[v & 15];
  return s;
}

std::uint64_t random64() {
  std::uint64_t v = 0;
  auto* p = reinterpret_cast<unsigned char*>(&v);
  std::size_t got = 0;
  while (got < sizeof v) {
    ssize_t n = ::getrandom(p + got, sizeof v - got, 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      throw std::system_error(errno, std::generic_category(), "weft: getrandom");
    }
    got += static_cast<std::size_t>(n);
  }
  return v;
}

bool is_hex(const std::string& s) noexcept {
  for (char c : s)
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  return true;
}

}  // namespace

std::string new_worker_id() { return "R" + hex(random64(), 16); }

bool is_worker_id(const std::string& s) noexcept { return s.size() == 17 && s[0] == 'R' && is_hex(s.substr(1)); }

std::optional<worker_ticket> worker_ticket_from_env() {
  const char* env = std::getenv(worker_env);
  if (env == nullptr || *env == '\0') return std::nullopt;
  std::string s(env);
  std::size_t dot = s.find('.');
  worker_ticket t;
  if (dot != std::string::npos) {
    t.id = s.substr(0, dot);
    t.token = s.substr(dot + 1);
  }
  if (!is_worker_id(t.id) || t.token.size() != 32 || !is_hex(t.token))
    throw std::invalid_argument(std::string(worker_env) + "=\"" + s +
                                "\" is not a worker ticket (ID.TOKEN, as weftd sets it when it starts a worker); "
                                "unset it to run the program as itself");
  return t;
}

const std::string& self_id() {
  static const std::string id = [] {
    std::optional<worker_ticket> t = worker_ticket_from_env();
    return t ? t->id : new_worker_id();
  }();
  return id;
}

std::string runtime_dir() {
  std::string dir = wire::user_runtime_dir();
  if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST)
    throw std::system_error(errno, std::generic_category(), "weft: cannot make " + dir);
  return dir;
}

std::string peer_address(const std::string& id) { return "unix:" + runtime_dir() + "/peer/" + id + ".sock"; }

}  // namespace weft::circuit::detail
