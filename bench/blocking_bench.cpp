// bench/blocking_bench.cpp: what weft::blocking costs, and what it buys.
//
// A weft-only workload (no peer of the kit has it): "measure the cost of a
// short weft::blocking call and of a 1 ms one against a plain function call".
// One -bench blocking run prints three lines:
//
//   blocking_short       ns per weft::blocking call of a trivial function, N
//                        calls from one goroutine; extra plain_ns (the same
//                        function called directly) and ratio. The function
//                        is noinline with an asm barrier, so neither loop can
//                        be folded away; both sum its results (checked).
//   blocking_1ms         us per 1 ms nanosleep through weft::blocking, N
//                        calls; extra plain_us (plain nanosleep) and
//                        overhead_us (the difference: the P's hand-off by
//                        sysmon and taking a P back).
//   blocking_1ms_others  what the blocking call leaves to the others: the
//                        round trips per second of a ping-pong between two
//                        goroutines while the driver makes N 1 ms sleeps,
//                        through weft::blocking (value) and plainly. At
//                        procs=1 a plain sleep holds the only P, so the
//                        ping-pong stalls; weft::blocking lets sysmon hand the
//                        P off, if sysmon looks twice during one call (it
//                        backs off from 20 us to 10 ms between looks when it
//                        finds nothing to do). The extras end in _per_s / _us
//                        so that bench/median takes their medians (ratio
//                        above is a note: median keeps the first run's);
//                        call_*_us are the driver's mean time per call.
//
// The 1 ms sleeps are not scaled down by the size: smoke runs make fewer.

#include "bench.hpp"

#include <time.h>

#include <atomic>
#include <cerrno>
#include <cstdint>
#include <string>

#include <weft/blocking.hpp>
#include <weft/chan.hpp>
#include <weft/go.hpp>
#include <weft/wait_group.hpp>

namespace bench {

namespace {

// Returns 1 through an asm barrier: the compiler cannot know the result, so
// it can neither fold the calls nor hoist them out of a loop.
[[gnu::noinline]] int opaque_trivial_fn() {
  int v = 1;
  asm volatile("" : "+r"(v));
  return v;
}

// Sleeps 1 ms in the kernel (restarting after a signal).
void sleep_1ms() {
  timespec left{0, 1'000'000};
  while (nanosleep(&left, &left) != 0 && errno == EINTR) {
  }
}

double us_per(steady::duration d, std::int64_t ops) { return ns_per(d, ops) / 1e3; }

// `calls` sleep_1ms calls, through weft::blocking or plainly.
steady::duration sleep_calls(std::int64_t calls, bool through_blocking) {
  auto start = steady::now();
  for (std::int64_t i = 0; i < calls; ++i) {
    if (through_blocking) {
      weft::blocking(sleep_1ms);
    } else {
      sleep_1ms();
    }
  }
  return steady::now() - start;
}

// The mean time of one sleep_1ms, through weft::blocking or plainly.
double sleep_us(std::int64_t calls, bool through_blocking) {
  double us = us_per(sleep_calls(calls, through_blocking), calls);
  if (us < 1000) throw check_failed("a 1 ms sleep took " + std::to_string(us) + " us");
  return us;
}

struct others_run {
  double rt_per_s;  // ping-pong round trips per second during the sleeps
  double call_us;   // the caller's mean time per call
};

// Goroutines A and B ping-pong over unbuffered channels while the caller
// makes `calls` 1 ms sleeps; the round trips counted are those between its
// first call and its last return. The caller sleeps at once, without waiting
// for the ping-pong to start.
others_run pingpong_during(std::int64_t calls, bool through_blocking) {
  weft::chan<std::int64_t> ping, pong;
  std::atomic<std::int64_t> rounds{0};  // written by A only
  std::atomic<bool> stop{false};
  std::string bad;
  weft::wait_group wg;
  wg.add(2);
  spawn([&] {  // B: echo until ping is closed
    for (std::int64_t v : ping) pong.send(v);
    wg.done();
  });
  spawn([&] {  // A: round trips until the caller is done
    for (std::int64_t i = 0; !stop.load(std::memory_order_relaxed); ++i) {
      ping.send(i);
      if (pong.recv() != i) {
        bad = "round trip " + std::to_string(i) + " came back wrong";
        break;
      }
      rounds.store(i + 1, std::memory_order_relaxed);
    }
    ping.close();
    wg.done();
  });
  const std::int64_t r0 = rounds.load(std::memory_order_relaxed);
  auto elapsed = sleep_calls(calls, through_blocking);
  const std::int64_t r1 = rounds.load(std::memory_order_relaxed);
  stop.store(true, std::memory_order_relaxed);
  wg.wait();
  if (!bad.empty()) throw check_failed(bad);
  return {static_cast<double>(r1 - r0) / std::chrono::duration<double>(elapsed).count(), us_per(elapsed, calls)};
}

}  // namespace

std::vector<result> bench_blocking() {
  std::vector<result> out;

  // blocking_short: a trivial call, directly and through weft::blocking.
  const std::int64_t n = cfg().scaled(10'000'000);
  std::int64_t sum = 0;
  auto start = steady::now();
  for (std::int64_t i = 0; i < n; ++i) sum += opaque_trivial_fn();
  const double plain_ns = ns_per(steady::now() - start, n);
  start = steady::now();
  for (std::int64_t i = 0; i < n; ++i) sum += weft::blocking([] { return opaque_trivial_fn(); });
  const double blocking_ns = ns_per(steady::now() - start, n);
  if (sum != 2 * n) throw check_failed("sum " + std::to_string(sum) + ", want " + std::to_string(2 * n));
  out.push_back({"blocking_short", blocking_ns, "ns/call", {kv("plain_ns", plain_ns), kv("ratio", blocking_ns / plain_ns)}});

  // blocking_1ms: a 1 ms sleep, directly and through weft::blocking.
  const std::int64_t sleeps = cfg().scaled(1000);
  const double plain_us = sleep_us(sleeps, false);
  const double blocking_us = sleep_us(sleeps, true);
  out.push_back({"blocking_1ms", blocking_us, "us/call", {kv("plain_us", plain_us), kv("overhead_us", blocking_us - plain_us)}});

  // blocking_1ms_others: a ping-pong beside the sleeps.
  const others_run with = pingpong_during(sleeps, true);
  const others_run without = pingpong_during(sleeps, false);
  out.push_back({"blocking_1ms_others", with.rt_per_s, "rt/s",
                 {kv("pingpong_blocking_rt_per_s", with.rt_per_s), kv("pingpong_plain_rt_per_s", without.rt_per_s),
                  kv("call_blocking_us", with.call_us), kv("call_plain_us", without.call_us)}});
  return out;
}

}  // namespace bench
