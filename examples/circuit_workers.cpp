// examples/circuit_workers.cpp: the circuit on one host. Spawns shard
// workers under the anchor /demo/shard (each is this binary, started again
// by weftd), collects their results, then kills one mid-call and shows the
// caller's error. With no weftd named (WEFT_RUNTIME), the first spawn
// starts the local one.
//
//   circuit_workers            the whole demo
//   circuit_workers hold       also spawns /demo/hold workers and waits for
//                              them (scripts/demo_circuit.sh lists them with
//                              weft ls and kills one with weft kill)
#include <cstdio>
#include <numeric>
#include <string>
#include <vector>

#include <weft/circuit.hpp>
#include <weft/remote.hpp>
#include <weft/weft.hpp>

namespace {

// A shard's work: the sum of the squares of its slice of 1..n.
long long sum_of_squares(int shard, int shards, int n) {
  long long sum = 0;
  for (long long i = 1 + shard; i <= n; i += shards) sum += i * i;
  return sum;
}
WEFT_SPAWNABLE(sum_of_squares);

// Waits for a value on the remote channel `name` (one that never comes, in
// this demo: the worker is killed first).
int wait_for(std::string name) {
  weft::remote::chan<int> c(name);
  return c.recv().value_or(-1);
}
WEFT_SPAWNABLE(wait_for);

}  // namespace

int main(int argc, char** argv) {
  const bool hold = argc > 1 && std::string(argv[1]) == "hold";
  return weft::run([hold]() -> int {
    constexpr int shards = 3, n = 1000;
    std::vector<weft::spawned<long long>> ws;
    for (int s = 0; s < shards; ++s)
      ws.push_back(weft::spawn({.anchors = {"/demo/shard"}}, sum_of_squares, s, shards, n));
    long long total = 0;
    for (int s = 0; s < shards; ++s) {
      long long part = ws[s].get();
      std::printf("shard %d: worker %s (pid %ld) returned %lld\n", s, ws[s].worker().id().c_str(),
                  ws[s].worker().pid(), part);
      total += part;
    }
    std::printf("sum of squares 1..%d = %lld (expected %lld)\n", n, total,
                static_cast<long long>(n) * (n + 1) * (2 * n + 1) / 6);

    auto victim = weft::spawn({.anchors = {"/demo/victim"}}, wait_for, std::string("demo.never"));
    if (hold) {
      std::printf("holding worker %s under /demo/victim until it is killed\n", victim.worker().id().c_str());
      std::fflush(stdout);
    } else {
      std::printf("killing worker %s in the middle of its call\n", victim.worker().id().c_str());
      victim.worker().kill_hard();
    }
    try {
      victim.get();
      std::printf("unexpected: the call returned\n");
      return 1;
    } catch (const weft::remote_error& e) {
      std::printf("the caller sees remote_error (kind %s): %s\n", weft::to_string(e.kind()), e.what());
    }
    return 0;
  });
}
