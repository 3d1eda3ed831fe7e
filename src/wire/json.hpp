// src/wire/json.hpp: JSON string literals, for what weft writes as JSON
// (traces, the stub's Control answers): below both the stub and the server.
#pragma once

#include <string>
#include <string_view>

namespace weft::wire {

// s as a JSON string literal, quotes included: quotes, backslashes and
// control characters escaped; bytes that are not UTF-8 replaced by U+FFFD,
// so a goroutine's name cannot break the file.
std::string json_string(std::string_view s);
// The same, appended to out.
void append_json_string(std::string& out, std::string_view s);

}  // namespace weft::wire
