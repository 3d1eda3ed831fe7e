// src/wire/arith.hpp: arithmetic on codec-encoded numbers, for a variable's
// fetch_add in whichever process holds it (the server, or this process when
// not attached): the signature says the C++ type, and the sum wraps at its
// width as C++ unsigned arithmetic does (two's complement for signed).
#pragma once

#include <string>
#include <string_view>

namespace weft::wire {

// True for the signatures fetch_add is defined on (i8..i64, u8..u64, f32, f64).
bool is_arithmetic_signature(std::string_view signature);
// Encodes value + delta (both encoded as `signature`). Throws
// std::invalid_argument for another signature or bytes that are not one.
std::string add_encoded(std::string_view signature, std::string_view value, std::string_view delta);

}  // namespace weft::wire
