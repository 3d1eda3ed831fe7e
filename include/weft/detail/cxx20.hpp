// weft/detail/cxx20.hpp: every public header includes this first, so that a
// program compiled as C++17 or older gets one line that says why, instead
// of pages of errors from the C++20 code behind it. Internal.
#pragma once

#if !defined(__cplusplus) || __cplusplus < 202002L
#error "weft needs C++20: compile with -std=c++20 (or later)"
// #error does not stop the compiler, and the headers that follow would only
// add dozens of errors. A missing include is fatal in both g++ and clang, so
// this line ends the compilation here.
#include <weft: compilation stopped here, see the error above>
#endif
