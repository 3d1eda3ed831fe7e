// src/server/log.cpp: the stderr log sink (see log.hpp).
#include "server/log.hpp"

#include <unistd.h>

#include <string>

namespace weft::server {

void log_to_stderr(std::string_view line) noexcept {
  try {
    std::string s = "weftd: ";
    s.append(line);
    s += '\n';
    std::size_t at = 0;
    while (at < s.size()) {
      ssize_t n = ::write(STDERR_FILENO, s.data() + at, s.size() - at);
      if (n <= 0) return;  // nowhere to log to: the server goes on
      at += static_cast<std::size_t>(n);
    }
  } catch (...) {}
}

}  // namespace weft::server
