// src/trace/pprof.hpp: a CPU profile in pprof's format (proto/pprof/
// profile.proto), gzip-compressed, as `go tool pprof` reads it. Design in
// pprof.cpp.
#pragma once

#include <string>

#include "trace/cpu_profile.hpp"

namespace weft::detail::trace {

// The profile.proto bytes of p: symbolized (function, file, line), one
// pprof Sample per stack_count, labelled with its goroutine. Uncompressed.
std::string encode_pprof(const cpu_profile_data& p);
// data gzip-compressed (a gzip member, as pprof expects). Throws
// std::runtime_error if zlib fails.
std::string gzip_bytes(const std::string& data);

}  // namespace weft::detail::trace
