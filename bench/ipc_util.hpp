// bench/ipc_util.hpp: what the process-crossing benchmarks share
// (weft-remote-bench's workloads, weft-spawn-bench): the kit's 64-byte
// payload and its percentiles (../shared/bench/WORKLOADS.md).
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

namespace ipc_bench {

// WORKLOADS.md: bytes 0-7 = i (little-endian), byte j = (i + j) mod 256.
inline std::string payload(std::uint64_t i) {
  std::string p(64, '\0');
  for (int b = 0; b < 8; ++b) p[b] = static_cast<char>((i >> (8 * b)) & 0xff);
  for (int j = 8; j < 64; ++j) p[j] = static_cast<char>((i + j) % 256);
  return p;
}

inline double micros(std::chrono::steady_clock::duration d) {
  return std::chrono::duration<double, std::micro>(d).count();
}

// Nearest rank.
inline double percentile(std::vector<double> v, double q) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  auto rank = static_cast<std::size_t>(q * static_cast<double>(v.size()) + 0.999999);
  return v[std::min(v.size(), std::max<std::size_t>(rank, 1)) - 1];
}

}  // namespace ipc_bench
