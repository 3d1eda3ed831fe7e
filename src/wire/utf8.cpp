// src/wire/utf8.cpp: text for proto3 string fields (see utf8.hpp).
#include "wire/utf8.hpp"

#include <google/protobuf/stubs/common.h>

#include <cstdio>
#include <stdexcept>

namespace weft::wire {

bool is_utf8(std::string_view s) noexcept {
  return google::protobuf::internal::IsStructurallyValidUTF8(s.data(), static_cast<int>(s.size()));
}

std::string utf8_text(std::string s) {
  if (is_utf8(s)) return s;
  std::string out(s.size(), '\0');
  // Writes the coerced bytes to out, or returns s's own buffer when it was
  // valid after all; either way the result is s.size() bytes.
  const char* r = google::protobuf::internal::UTF8CoerceToStructurallyValid(
      google::protobuf::StringPiece(s.data(), s.size()), out.data(), '?');
  if (r == s.data()) return s;
  return out;
}

std::string escaped_bytes(std::string_view s) {
  std::string shown;
  for (unsigned char c : s) {
    if (c >= 0x20 && c < 0x7f) {
      shown += static_cast<char>(c);
    } else {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02x", c);
      shown += buf;
    }
  }
  return shown;
}

void require_utf8(std::string_view s, std::string_view what) {
  if (is_utf8(s)) return;
  // The bytes as \xNN: the message itself is text.
  throw std::invalid_argument("weft: " + std::string(what) + " \"" + escaped_bytes(s) +
                              "\" is not UTF-8: names cross the runtime protocol as UTF-8 text; "
                              "use an ASCII or UTF-8 name");
}

}  // namespace weft::wire
