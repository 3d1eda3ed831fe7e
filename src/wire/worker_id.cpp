// src/wire/worker_id.cpp: worker ids (worker_id.hpp).
#include "wire/worker_id.hpp"

#include <sys/random.h>

#include <cerrno>
#include <system_error>

namespace weft::wire {

std::string random_hex(std::size_t bytes) {
  std::string raw(bytes, '\0');
  std::size_t got = 0;
  while (got < bytes) {
    ssize_t n = ::getrandom(raw.data() + got, bytes - got, 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      throw std::system_error(errno, std::generic_category(), "weft: getrandom");
    }
    got += static_cast<std::size_t>(n);
  }
  static constexpr char xd[] = "0123456789abcdef";
  std::string out;
  out.reserve(2 * bytes);
  for (unsigned char c : raw) {
    out += xd[c >> 4];
    out += xd[c & 15];
  }
  return out;
}

std::string new_worker_id() { return "R" + random_hex(8); }

bool is_lower_hex(std::string_view s) noexcept {
  for (char c : s)
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  return true;
}

bool is_worker_id(std::string_view s) noexcept { return s.size() == 17 && s[0] == 'R' && is_lower_hex(s.substr(1)); }

}  // namespace weft::wire
