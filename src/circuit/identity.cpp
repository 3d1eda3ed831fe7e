// src/circuit/identity.cpp: ids, tickets and the runtime directory
// (identity.hpp).
#include "circuit/identity.hpp"

#include "remote/stub.hpp"
#include "wire/endpoint.hpp"
#include "wire/tls.hpp"
#include "wire/worker_id.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <stdexcept>
#include <system_error>

namespace weft::circuit::detail {

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
  if (!wire::is_worker_id(t.id) || t.token.size() != 32 || !wire::is_lower_hex(t.token))
    throw std::invalid_argument(std::string(worker_env) + "=\"" + s +
                                "\" is not a worker ticket (ID.TOKEN, as weftd sets it when it starts a worker); "
                                "unset it to run the program as itself");
  return t;
}

const std::string& self_id() {
  static const std::string id = [] {
    std::optional<worker_ticket> t = worker_ticket_from_env();
    return t ? t->id : wire::new_worker_id();
  }();
  return id;
}

std::string runtime_dir() {
  std::string dir = wire::user_runtime_dir();
  if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST)
    throw std::system_error(errno, std::generic_category(), "weft: cannot make " + dir);
  return dir;
}

std::string peer_address(const std::string& id) {
  static const std::string dir = [] {
    std::string d = wire::user_scratch_dir();
    wire::make_private_dir(d);
    return d;
  }();
  return wire::endpoint{"unix", dir + "/peer/" + id + ".sock", peers_use_tls()}.text();
}

bool peers_use_tls() {
  if (wire::tls_from_env()) return true;
  if (const remote::detail::stub* s = remote::detail::current()) return s->address().starts_with("tls:");
  const char* env = std::getenv("WEFT_RUNTIME");
  return env != nullptr && std::string_view(env).starts_with("tls:");
}

}  // namespace weft::circuit::detail
