// src/wire/worker_id.hpp: a circuit worker's id ("R" + 16 lowercase hex
// digits, DESIGN.md "Workers") and the secrets beside it, made and checked
// in one place for weftd (which names the workers it starts), the circuit
// (a process that names itself) and the weft command (which checks what
// users type).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace weft::wire {

// `bytes` bytes from the system's generator, as 2 * bytes lowercase hex
// digits. Throws std::system_error if the generator fails.
std::string random_hex(std::size_t bytes);
// A fresh id: "R" + 16 lowercase hex digits (64 random bits: unique without
// asking anyone, across hosts too).
std::string new_worker_id();
// Whether s has an id's shape.
bool is_worker_id(std::string_view s) noexcept;
// Whether s is lowercase hex digits only.
bool is_lower_hex(std::string_view s) noexcept;

}  // namespace weft::wire
