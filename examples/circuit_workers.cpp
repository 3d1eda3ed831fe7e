// examples/circuit_workers.cpp: the circuit on one host. Spawns shard
// workers under the anchor /demo/shard (each is this binary, started again
// by weftd), collects their results; spawns a worker that serves a
// counter, which the caller reaches through cross-references (dialed by
// the worker's address, and handed to another worker that calls it); then
// kills a worker mid-call and shows the caller's error. With no weftd
// named (WEFT_RUNTIME), the first spawn starts the local one.
//
//   circuit_workers            the whole demo
//   circuit_workers hold [HOST]
//                              also holds a /demo/victim worker until it is
//                              killed (scripts/demo_circuit.sh lists it with
//                              weft ls and kills it with weft kill); HOST
//                              pins every spawn to that host of a circuit
//   circuit_workers across HOST...
//                              many hosts (docs/cluster.md): a shard pinned
//                              to each HOST, then a counter served on the
//                              last one and called from here 100 times
#include <chrono>
#include <cstdio>
#include <cstdlib>
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

// Serves a counter as "counter" for `seconds` (or until it is killed).
// Not until a remote channel closes: in a circuit of many hosts the worker
// may run on another host, attached to that host's weftd, whose channels
// are not the caller's (docs/cluster.md).
int serve_counter_for(int seconds) {
  weft::listen("counter", weft::ref(std::make_shared<counter>()));
  weft::daemonize([seconds] { weft::this_goroutine::sleep_for(std::chrono::seconds(seconds)); });
  return 0;
}
WEFT_SPAWNABLE(serve_counter_for);

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

// Which weftd this worker is attached to: its host's.
std::string runtime_address() {
  const char* r = std::getenv("WEFT_RUNTIME");
  return r ? r : "";
}
WEFT_SPAWNABLE(runtime_address);

// The circuit across hosts: one shard on each host named, then 100 calls
// to a counter in a worker on the last. Exit status 1 if a sum is wrong.
int across(const std::vector<std::string>& hosts) {
  const int shards = static_cast<int>(hosts.size()), n = 1000;
  std::vector<weft::spawned<long long>> ws;
  std::vector<weft::spawned<std::string>> where;
  for (int s = 0; s < shards; ++s) {
    ws.push_back(weft::spawn({.host = hosts[s]}, sum_of_squares, s, shards, n));
    where.push_back(weft::spawn({.host = hosts[s]}, runtime_address));
  }
  long long total = 0;
  for (int s = 0; s < shards; ++s) {
    long long part = ws[s].get();
    std::printf("host %s: worker %s (attached to %s) returned %lld\n", hosts[s].c_str(),
                ws[s].worker().id().c_str(), where[s].get().c_str(), part);
    total += part;
  }
  const long long expected = static_cast<long long>(n) * (n + 1) * (2 * n + 1) / 6;
  std::printf("sum of squares 1..%d = %lld (expected %lld)\n", n, total, expected);
  auto server = weft::spawn({.host = hosts.back()}, serve_counter_for, 30);
  server.get();
  weft::xref<counter> c = weft::dial<counter>(server.worker().address(), "counter");
  long long last = 0;
  for (int i = 1; i <= 100; ++i) last = c.call<&counter::add>(i).get();
  std::printf("100 calls to the counter in worker %s on host %s (%s): total %lld (expected 5050)\n",
              server.worker().id().c_str(), hosts.back().c_str(), server.worker().address().c_str(), last);
  server.worker().kill();
  return total == expected && last == 5050 ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc > 2 && std::string(argv[1]) == "across") {
    std::vector<std::string> hosts(argv + 2, argv + argc);
    return weft::run([&] { return across(hosts); });
  }
  const bool hold = argc > 1 && std::string(argv[1]) == "hold";
  const std::string pin = hold && argc > 2 ? argv[2] : "";
  return weft::run([hold, pin]() -> int {
    constexpr int shards = 3, n = 1000;
    std::vector<weft::spawned<long long>> ws;
    for (int s = 0; s < shards; ++s)
      ws.push_back(weft::spawn({.anchors = {"/demo/shard"}, .host = pin}, sum_of_squares, s, shards, n));
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
    auto server = weft::spawn({.anchors = {"/demo/counter"}, .host = pin}, serve_counter_for, 60);
    server.get();
    weft::xref<counter> c = weft::dial<counter>(server.worker().address(), "counter");
    std::vector<weft::spawned<long long>> adders;
    for (int s = 0; s < shards; ++s) adders.push_back(weft::spawn({.host = pin}, add_shard, c, s, shards, n));
    for (auto& a : adders) a.get();
    std::printf("the counter in worker %s, after three workers added to it through an xref: %lld\n",
                server.worker().id().c_str(), c.call<&counter::add>(0).get());
    server.worker().kill();  // graceful: SIGTERM
    server.worker().wait();

    auto victim = weft::spawn({.anchors = {"/demo/victim"}, .host = pin}, wait_for, std::string("demo.never"));
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
