// bench/chan_bench.cpp: chan_mpmc of WORKLOADS.md, a contended buffered
// channel: 4 producers and 4 consumers on one chan<int64_t>(1024).
//
// Follows the Go peer (peers/go/sync.go, benchChanMPMC) step for step: the
// clock covers spawning the consumers and producers, every transfer, the
// close, and the consumers' exit. Each consumer keeps its sum and count in
// locals and stores them once, so the only shared state on the hot path is
// the channel itself. M is the definition's, divided by 100 in smoke runs.

#include "bench.hpp"

#include <cstdint>
#include <string>

#include <weft/weft.hpp>

namespace bench {

std::vector<result> bench_chan_mpmc() {
  constexpr int producers = 4, consumers = 4;
  constexpr std::int64_t capacity = 1024;
  const std::int64_t total = cfg().scaled(10'000'000);  // M
  const std::int64_t per_producer = total / producers;
  weft::chan<std::int64_t> ch(capacity);
  weft::wait_group prod, cons;
  std::int64_t sums[consumers] = {}, counts[consumers] = {};

  auto start = steady::now();
  cons.add(consumers);
  for (int c = 0; c < consumers; ++c) {
    spawn([&, c] {  // receive until closed and drained
      std::int64_t sum = 0, n = 0;
      for (std::int64_t v : ch) {
        sum += v;
        ++n;
      }
      sums[c] = sum;
      counts[c] = n;
      cons.done();
    });
  }
  prod.add(producers);
  for (int p = 0; p < producers; ++p) {
    spawn([&, first = p * per_producer] {  // first .. first+per_producer-1, increasing
      for (std::int64_t v = first; v < first + per_producer; ++v) ch.send(v);
      prod.done();
    });
  }
  prod.wait();
  ch.close();
  cons.wait();
  auto elapsed = steady::now() - start;

  std::int64_t sum = 0, n = 0;
  for (int c = 0; c < consumers; ++c) {
    sum += sums[c];
    n += counts[c];
  }
  const std::int64_t want = total * (total - 1) / 2;  // 49,999,995,000,000 at full size
  if (sum != want || n != total)
    throw check_failed("received " + std::to_string(n) + " values summing to " + std::to_string(sum) + ", want " +
                       std::to_string(total) + " summing to " + std::to_string(want));
  return {{"chan_mpmc", ns_per(elapsed, total), "ns/message"}};
}

}  // namespace bench
