// src/trace/cpu_profile.hpp: CPU profiles: where every M spent its CPU
// time over a while, sampled at 100 Hz. Design in cpu_profile.cpp; the
// pprof encoding is pprof.hpp's.
#pragma once

#include <chrono>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

#include <weft/go.hpp>

namespace weft::detail::trace {

// One distinct stack, on one goroutine, and how many samples found it.
struct stack_count {
  std::vector<std::uintptr_t> pcs;  // innermost first; pcs[0] is the interrupted instruction
  goroutine_id goid = 0;  // 0: not on a goroutine (the scheduler's own loop)
  std::string goroutine_name;  // its go_options::name (cut at 63 bytes), "" if none
  std::int64_t count = 0;  // periods of CPU: samples, each weighted by the expiries it stands for
};

struct cpu_profile_data {
  std::vector<stack_count> stacks;
  std::int64_t period_ns = 0;  // CPU time one sample stands for
  std::int64_t start_unix_ns = 0;
  std::int64_t duration_ns = 0;  // wall time recorded
  std::uint64_t dropped = 0;  // samples lost to a full buffer
};

constexpr std::int64_t cpu_profile_hz = 100;

// A CPU profile is already running in this process, or the OS refused its
// timers: what() says which.
struct cpu_profile_error : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// Samples every M for `duration`, then returns the samples aggregated by
// stack and goroutine. One at a time per process: throws cpu_profile_error
// ("a CPU profile is already running") while another records. REQUIRES: on
// a goroutine (it sleeps, draining the samples every 100 ms).
cpu_profile_data record_cpu_profile(std::chrono::nanoseconds duration);

}  // namespace weft::detail::trace
