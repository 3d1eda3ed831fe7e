// src/wire/utf8.hpp: text for the protocol's proto3 string fields.
//
// A proto3 string must be UTF-8: protobuf's parser (C++, Python) refuses
// the whole frame otherwise, and a link that cannot parse a frame closes
// (link.cpp), which for a stub ends its program. So what weft puts in a
// string field must be UTF-8 whatever the bytes it came from:
//   - texts for people (what an exception says, a goroutine dump, an error
//     that quotes a path) go through utf8_text: bytes that start no valid
//     character become '?';
//   - names that identify something (a remote channel, a variable, an
//     anchor, a host) are refused at the API that takes them, with
//     require_utf8: replacing bytes could make two names one;
//   - what the OS hands over as bytes (paths, argv, the environment) crosses
//     in `bytes` fields (docs/protocol.md).
// Validity is protobuf's own (no overlong forms, no surrogates, nothing
// above U+10FFFF), so what passes here passes the parser.
#pragma once

#include <string>
#include <string_view>

namespace weft::wire {

bool is_utf8(std::string_view s) noexcept;

// s when it is UTF-8 (moved, not copied); else s with each byte that starts
// no valid character replaced by '?'.
std::string utf8_text(std::string s);

// s for a message: printable ASCII as it is, every other byte as \xNN.
std::string escaped_bytes(std::string_view s);

// Throws std::invalid_argument naming `what` ("remote channel name") and
// saying what to do when s is not UTF-8.
void require_utf8(std::string_view s, std::string_view what);

}  // namespace weft::wire
