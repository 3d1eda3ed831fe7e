// src/server/var_arith.hpp: FETCH_ADD on encoded numbers.
//
// A variable's value is weft::codec bytes; the server knows a type only by
// its signature. For the arithmetic signatures (i8..i64, u8..u64, f32,
// f64) it decodes the old value and the delta with the same weft::codec<T>
// a stub uses, adds them as C++ unsigned arithmetic does at T's width (two's
// complement for signed: i8 127 + 1 is -128), and encodes the sum with that
// codec again. So the bytes are exactly the ones a stub of that type
// would produce, and COMPARE_EXCHANGE and WAIT, which compare bytes, see
// equal numbers as equal.
#pragma once

#include <string>
#include <string_view>

namespace weft::server {

// Whether FETCH_ADD is defined for values of this signature.
bool arithmetic_signature(std::string_view signature) noexcept;

// *sum = old + delta for values of signature. False (with *why) if the
// signature is not arithmetic, or old or delta is not a value of it.
bool add_encoded(std::string_view signature, std::string_view old, std::string_view delta, std::string* sum,
                 std::string* why);

}  // namespace weft::server
