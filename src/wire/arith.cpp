// src/wire/arith.cpp: fetch_add on encoded numbers (arith.hpp).
#include "wire/arith.hpp"

#include <cstdint>
#include <stdexcept>

#include <weft/codec.hpp>

namespace weft::wire {

namespace {

template <class T>
std::string add_as(std::string_view value, std::string_view delta) {
  T a = weft::decode<T>(value);
  T d = weft::decode<T>(delta);
  T r;
  if constexpr (std::is_integral_v<T>) {
    using U = std::make_unsigned_t<T>;
    r = static_cast<T>(static_cast<U>(static_cast<U>(a) + static_cast<U>(d)));
  } else {
    r = a + d;
  }
  return weft::encode(r);
}

}  // namespace

bool is_arithmetic_signature(std::string_view s) {
  return s == "i8" || s == "i16" || s == "i32" || s == "i64" || s == "u8" || s == "u16" || s == "u32" || s == "u64" ||
         s == "f32" || s == "f64";
}

std::string add_encoded(std::string_view s, std::string_view value, std::string_view delta) {
  try {
    if (s == "i8") return add_as<std::int8_t>(value, delta);
    if (s == "i16") return add_as<std::int16_t>(value, delta);
    if (s == "i32") return add_as<std::int32_t>(value, delta);
    if (s == "i64") return add_as<std::int64_t>(value, delta);
    if (s == "u8") return add_as<std::uint8_t>(value, delta);
    if (s == "u16") return add_as<std::uint16_t>(value, delta);
    if (s == "u32") return add_as<std::uint32_t>(value, delta);
    if (s == "u64") return add_as<std::uint64_t>(value, delta);
    if (s == "f32") return add_as<float>(value, delta);
    if (s == "f64") return add_as<double>(value, delta);
  } catch (const remote_error& e) {
    throw std::invalid_argument(std::string("fetch_add: ") + e.what());
  }
  throw std::invalid_argument("fetch_add on a variable of type " + std::string(s) + ": only numbers add");
}

}  // namespace weft::wire
