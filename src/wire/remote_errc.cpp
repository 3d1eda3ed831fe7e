// src/wire/remote_errc.cpp: the names of weft::remote_errc, as logs and
// error messages print them.
#include <weft/errors.hpp>

namespace weft {

const char* to_string(remote_errc e) noexcept {
  switch (e) {
    case remote_errc::unreachable: return "unreachable";
    case remote_errc::timeout: return "timeout";
    case remote_errc::refused: return "refused";
    case remote_errc::unauthorized: return "unauthorized";
    case remote_errc::lost: return "lost";
    case remote_errc::protocol: return "protocol";
    case remote_errc::unknown_outcome: return "unknown_outcome";
  }
  return "unknown";
}

}  // namespace weft
