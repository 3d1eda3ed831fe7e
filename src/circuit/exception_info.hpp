// src/circuit/exception_info.hpp: an exception as it crosses to another
// worker (DESIGN.md, "Errors": remote_exception's type_name and what).
#pragma once

#include <exception>
#include <string>

namespace weft::circuit::detail {

struct exception_info {
  std::string type_name;  // demangled and qualified: "std::out_of_range"
  // Verbatim when UTF-8 (it crosses in a proto3 string), else with each
  // byte that starts no character made '?'; empty for a value that is not
  // a std::exception.
  std::string what;
};

// The exception being handled. REQUIRES: inside a catch block.
exception_info current_exception_info();
// The name of the type `e` holds (demangled), or "unknown" if none.
exception_info describe(const std::exception_ptr& e);

}  // namespace weft::circuit::detail
