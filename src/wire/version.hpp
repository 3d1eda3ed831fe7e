// src/wire/version.hpp: the protocol version this build speaks
// (docs/protocol.md, "Handshake").
#pragma once

#include <string>

namespace weft::wire {

inline constexpr const char* magic = "weft-runtime";
inline constexpr unsigned version_major = 1;
inline constexpr unsigned version_minor = 0;
inline std::string version_text() { return std::to_string(version_major) + "." + std::to_string(version_minor); }

}  // namespace weft::wire
