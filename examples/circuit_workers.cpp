// examples/circuit_workers.cpp: the circuit on one host. Spawns shard
// workers under the anchor /demo/shard (each is this binary, started again
// by weftd), collects their results; spawns a worker that serves a
// counter, which the caller reaches through cross-references (dialed by
// the worker's address, and handed to another worker that calls it); then
// kills a worker mid-call and shows the caller's error. With no weftd
// named (WEFT_RUNTIME), the first spawn starts the local one.
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

// A counter other processes call through xrefs.
struct counter {
  long long add(long long d) { return total += d; }
  long long total = 0;
};
WEFT_CROSS(counter, add);

// Serves a counter as "counter" until the remote channel `stop` is closed.
int serve_counter(std::string stop) {
  weft::listen("counter", weft::ref(std::make_shared<counter>()));
  weft::daemonize([stop] { weft::remote::chan<int>(stop).recv(); });
  return 0;
}
WEFT_SPAWNABLE(serve_counter);

// Adds its shard's sum to the counter it was handed.
long long add_shard(weft::xref<counter> c, int shard, int shards, int n) {
  return c.call<&counter::add>(sum_of_squares(shard, shards, n)).get();
}
WEFT_SPAWNABLE(add_shard);

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

    // A counter in a worker, reached by cross-reference: dialed here at
    // the worker's address, and handed to three more workers that add to it.
    weft::remote::chan<int> stop("demo.counter.stop");
    auto server = weft::spawn({.anchors = {"/demo/counter"}}, serve_counter, std::string("demo.counter.stop"));
    server.get();
    weft::xref<counter> c = weft::dial<counter>(server.worker().address(), "counter");
    std::vector<weft::spawned<long long>> adders;
    for (int s = 0; s < shards; ++s) adders.push_back(weft::spawn({}, add_shard, c, s, shards, n));
    for (auto& a : adders) a.get();
    std::printf("the counter in worker %s, after three workers added to it through an xref: %lld\n",
                server.worker().id().c_str(), c.call<&counter::add>(0).get());
    stop.close();
    server.worker().wait();

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
