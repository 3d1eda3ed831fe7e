// bench/sync_bench.cpp: mutex of WORKLOADS.md, one weft::mutex contended by
// 8 goroutines, each incrementing a plain shared counter K times under it.
//
// Follows the Go peer (peers/go/sync.go, benchMutex): the clock covers the
// spawns, all G·K lock/increment/unlock steps and the final wait. The counter
// is deliberately not atomic: the mutex is what keeps it exact, so the check
// (counter == G·K) also checks mutual exclusion. K is the definition's,
// divided by 100 in smoke runs.

#include "bench.hpp"

#include <cstdint>
#include <string>

#include <weft/weft.hpp>

namespace bench {

std::vector<result> bench_mutex() {
  constexpr int goroutines = 8;                                // G
  const std::int64_t per_goroutine = cfg().scaled(1'250'000);  // K
  const std::int64_t total = goroutines * per_goroutine;
  weft::mutex mu;
  std::int64_t counter = 0;  // guarded by mu
  weft::wait_group wg;

  auto start = steady::now();
  wg.add(goroutines);
  for (int g = 0; g < goroutines; ++g) {
    spawn([&] {
      for (std::int64_t i = 0; i < per_goroutine; ++i) {
        mu.lock();
        ++counter;
        mu.unlock();
      }
      wg.done();
    });
  }
  wg.wait();
  auto elapsed = steady::now() - start;

  if (counter != total)
    throw check_failed("counter " + std::to_string(counter) + ", want " + std::to_string(total));
  return {{"mutex", ns_per(elapsed, total), "ns/op"}};
}

}  // namespace bench
