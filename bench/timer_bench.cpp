// bench/timer_bench.cpp: timers of WORKLOADS.md, 100,000 goroutines each
// sleeping 1 ms ten times: a million timer starts and firings, most of them
// due at nearly the same instants.
//
// Follows the Go peer (peers/go/sched.go, benchTimers): CPU time is read, then
// the clock started; the span covers the spawns, every sleep and the final
// wait; then the clock is stopped and CPU read again. value is the wall time
// (ideal: 10 ms, the ten sleeps), extra cpu_ms the process's user + system
// CPU over the same span, idle threads' spinning included. The definition
// names no check; wait() returning means all G goroutines finished, and a
// wall time under 10 ms would mean some sleep ended early, so that fails. G is
// the definition's, divided by 100 in smoke runs; the sleeps are not scaled.

#include "bench.hpp"

#include <chrono>
#include <cstdint>
#include <string>

#include <weft/weft.hpp>

namespace bench {

using namespace std::chrono_literals;

std::vector<result> bench_timers() {
  const std::int64_t goroutines = cfg().scaled(100'000);  // G
  constexpr int sleeps = 10;
  weft::wait_group wg;

  const double cpu0 = cpu_ms();
  auto start = steady::now();
  wg.add(goroutines);
  for (std::int64_t i = 0; i < goroutines; ++i) {
    spawn([&] {
      for (int k = 0; k < sleeps; ++k) weft::this_goroutine::sleep_for(1ms);
      wg.done();
    });
  }
  wg.wait();  // returns only after exactly G done() calls
  auto wall = steady::now() - start;
  const double cpu = cpu_ms() - cpu0;

  if (wall < std::chrono::milliseconds(sleeps))
    throw check_failed("all sleeps done in " + std::to_string(ms(wall)) + " ms, less than " +
                       std::to_string(sleeps) + " x 1 ms");
  return {{"timers", ms(wall), "ms", {kv("cpu_ms", cpu)}}};
}

}  // namespace bench
