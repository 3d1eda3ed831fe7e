// src/server/log.hpp: weftd's log: one line per event, to stderr, each
// prefixed "weftd: ". Tests replace the sink to read what was logged.
#pragma once

#include <functional>
#include <string_view>

namespace weft::server {

using log_sink = std::function<void(std::string_view line)>;

// Writes "weftd: LINE\n" to stderr with one write(2), so lines of
// concurrent sessions never interleave.
void log_to_stderr(std::string_view line) noexcept;

}  // namespace weft::server
