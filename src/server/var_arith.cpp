// src/server/var_arith.cpp: FETCH_ADD on encoded numbers (see
// var_arith.hpp).
#include "server/var_arith.hpp"

#include <cstdint>
#include <type_traits>

#include <weft/codec.hpp>

namespace weft::server {

namespace {

template <class T>
T wrapping_add(T a, T b) {
  if constexpr (std::is_integral_v<T>) {
    // Unsigned arithmetic wraps; converting back to a signed T is modular
    // since C++20.
    using U = std::make_unsigned_t<T>;
    return static_cast<T>(static_cast<U>(static_cast<U>(a) + static_cast<U>(b)));
  } else {
    return a + b;
  }
}

template <class T>
bool add_as(std::string_view old, std::string_view delta, std::string* sum, std::string* why) {
  T a, b;
  try {
    a = codec<T>::decode(old);
  } catch (const std::exception& e) {
    *why = std::string("the variable's value is not a ") + codec<T>::signature() + ": " + e.what();
    return false;
  }
  try {
    b = codec<T>::decode(delta);
  } catch (const std::exception& e) {
    *why = std::string("the delta is not a ") + codec<T>::signature() + ": " + e.what();
    return false;
  }
  sum->clear();
  codec<T>::encode(wrapping_add(a, b), *sum);
  return true;
}

using adder = bool (*)(std::string_view, std::string_view, std::string*, std::string*);

adder adder_for(std::string_view signature) noexcept {
  if (signature == "i8") return &add_as<std::int8_t>;
  if (signature == "i16") return &add_as<std::int16_t>;
  if (signature == "i32") return &add_as<std::int32_t>;
  if (signature == "i64") return &add_as<std::int64_t>;
  if (signature == "u8") return &add_as<std::uint8_t>;
  if (signature == "u16") return &add_as<std::uint16_t>;
  if (signature == "u32") return &add_as<std::uint32_t>;
  if (signature == "u64") return &add_as<std::uint64_t>;
  if (signature == "f32") return &add_as<float>;
  if (signature == "f64") return &add_as<double>;
  return nullptr;
}

}  // namespace

bool arithmetic_signature(std::string_view signature) noexcept { return adder_for(signature) != nullptr; }

bool add_encoded(std::string_view signature, std::string_view old, std::string_view delta, std::string* sum,
                 std::string* why) {
  adder add = adder_for(signature);
  if (!add) {
    *why = "FETCH_ADD needs an arithmetic type (i8..i64, u8..u64, f32, f64), not " + std::string(signature);
    return false;
  }
  return add(old, delta, sum, why);
}

}  // namespace weft::server
