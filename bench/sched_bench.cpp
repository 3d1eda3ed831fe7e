// bench/sched_bench.cpp: the scheduler workloads of WORKLOADS.md: goroutine
// creation (spawn, skynet), switching (pingpong) and parking (parked). Each
// follows the Go peer (peers/go/sched.go) step for step; sizes are the
// definition's, divided by 100 in smoke runs.

#include "bench.hpp"

#include <atomic>
#include <cstdint>
#include <string>

#include <weft/chan.hpp>
#include <weft/go.hpp>
#include <weft/wait_group.hpp>

namespace bench {

using namespace std::chrono_literals;

// spawn: N goroutines whose whole body is wg.done().
std::vector<result> bench_spawn() {
  const std::int64_t n = cfg().scaled(1'000'000);
  weft::wait_group wg;
  auto start = steady::now();
  wg.add(n);
  for (std::int64_t i = 0; i < n; ++i) spawn([&wg] { wg.done(); });
  wg.wait();  // returns only after exactly N done() calls
  return {{"spawn", ns_per(steady::now() - start, n), "ns/goroutine"}};
}

// pingpong: A sends i on ping, B echoes it on pong; A times R round trips.
std::vector<result> bench_pingpong() {
  const std::int64_t rounds = cfg().scaled(1'000'000);
  weft::chan<std::int64_t> ping, pong;  // unbuffered
  steady::duration elapsed{};
  std::string bad;
  weft::wait_group wg;
  wg.add(2);
  spawn([&] {  // B: echo until ping is closed
    for (std::int64_t v : ping) pong.send(v);
    wg.done();
  });
  spawn([&] {  // A: the timed side
    auto start = steady::now();
    for (std::int64_t i = 0; i < rounds; ++i) {
      ping.send(i);
      auto v = pong.recv();
      if (v != i) {
        bad = "round trip " + std::to_string(i) + " came back as " + (v ? std::to_string(*v) : "closed");
        break;
      }
    }
    elapsed = steady::now() - start;
    ping.close();
    wg.done();
  });
  wg.wait();
  if (!bad.empty()) throw check_failed(bad);
  return {{"pingpong", ns_per(elapsed, rounds), "ns/roundtrip"}};
}

// skynet: node(c, num, size) sends num if size == 1; otherwise it spawns 10
// children over an unbuffered channel of its own, adds their 10 values and
// sends the sum on c.
namespace {
void skynet_node(weft::chan<std::int64_t> c, std::int64_t num, std::int64_t size) {
  constexpr std::int64_t div = 10;
  if (size == 1) {
    c.send(num);
    return;
  }
  weft::chan<std::int64_t> rc;
  for (std::int64_t i = 0; i < div; ++i) spawn(skynet_node, rc, num + i * (size / div), size / div);
  std::int64_t sum = 0;
  for (std::int64_t i = 0; i < div; ++i) sum += rc.recv().value();
  c.send(sum);
}
}  // namespace

std::vector<result> bench_skynet() {
  const std::int64_t size = cfg().scaled(1'000'000);  // a power of 10
  const std::int64_t want = size * (size - 1) / 2;    // 0 + 1 + ... + size-1: 499,999,500,000
  weft::chan<std::int64_t> c;
  auto start = steady::now();
  spawn(skynet_node, c, std::int64_t{0}, size);
  std::int64_t sum = c.recv().value();
  auto elapsed = steady::now() - start;
  if (sum != want) throw check_failed("sum " + std::to_string(sum) + ", want " + std::to_string(want));
  return {{"skynet", ms(elapsed), "ms"}};
}

// parked: N goroutines block receiving on one shared gate channel, never sent
// on; RSS growth per goroutine once all are parked; then closing the gate
// releases them all.
std::vector<result> bench_parked() {
  const std::int64_t n = cfg().scaled(1'000'000);
  weft::chan<int> gate;  // unbuffered, never sent on
  weft::wait_group started, exited;
  std::atomic<std::int64_t> woke{0};
  const std::int64_t rss0 = vm_rss();
  auto start = steady::now();
  started.add(n);
  exited.add(n);
  for (std::int64_t i = 0; i < n; ++i) {
    spawn([&] {
      started.done();
      if (!gate.recv()) woke.fetch_add(1, std::memory_order_relaxed);  // parks until closed
      exited.done();
    });
  }
  started.wait();
  const double start_ms = ms(steady::now() - start);
  weft::this_goroutine::sleep_for(100ms);  // let the last ones reach the receive
  const std::int64_t rss1 = vm_rss();
  auto release = steady::now();
  gate.close();
  exited.wait();
  const double release_ms = ms(steady::now() - release);
  if (woke.load() != n)
    throw check_failed(std::to_string(woke.load()) + " goroutines woke by close, want " + std::to_string(n));
  return {{"parked", static_cast<double>(rss1 - rss0) / static_cast<double>(n), "bytes/goroutine",
           {kv("start_ms", start_ms), kv("release_ms", release_ms)}}};
}

}  // namespace bench
