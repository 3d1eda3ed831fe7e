// bench/bench.hpp: what every workload of weft-bench shares.
//
// weft-bench runs the workloads of the peer benchmark kit (shared/bench/
// WORKLOADS.md) on weft, one workload per process, and prints the kit's result
// line for each measurement:
//
//   bench=NAME impl=weft procs=P value=NUMBER unit=UNIT [extra=key:value,...]
//
// A workload is a function from the run's config to its results; it runs as
// the driver (goroutine 1, inside weft::run) and throws check_failed when its
// result is wrong. The table of workloads by name is in weft_bench.cpp; a new
// workload is a function in a *_bench.cpp file, declared below and listed
// there.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include <weft/go.hpp>

namespace bench {

using steady = std::chrono::steady_clock;

// The stack a goroutine gets when go_options::stack_size is 0: the runtime's
// default_stack_size (src/runtime/stack.hpp), named in every result line.
// (go.hpp's comment still says 256 KiB; the runtime gives 64 KiB.)
inline constexpr std::size_t default_stack = 64 * 1024;

// How this process runs its workload.
struct config {
  std::string bench = "all";
  int procs = 1;          // weft::options::procs; always >= 1 here
  std::size_t stack = 0;  // go_options::stack_size; 0: weft's default
  bool smoke = false;     // -size smoke: N and R divided by 100 (CI)

  // A workload's size constant, scaled down for smoke runs.
  std::int64_t scaled(std::int64_t n) const { return smoke ? n / 100 : n; }
};

// The config of this process (set once by main before the workload runs).
const config& cfg();

// One measurement. extra holds the workload's own "key:value" pairs; keys
// ending in _ns, _us, _ms or _per_s are metrics that compare pairs (and
// bench/median takes medians of; other keys are notes). A measurement that
// failed while its workload's others did not carries the reason in failed:
// it is reported as a FAILED line instead of a result line (exit status 1).
struct result {
  std::string bench;
  double value;
  std::string unit;
  std::vector<std::string> extra = {};
  std::string failed = {};
};

// A workload's result failed its check: reported as FAILED, exit status 1.
struct check_failed : std::runtime_error {
  using std::runtime_error::runtime_error;
};

struct workload {
  const char* name;
  std::vector<result> (*run)();
};

// ---- helpers (bench_util.cpp)

// Starts f(args...) as a goroutine with the configured stack size.
template <class F, class... Args>
void spawn(F&& f, Args&&... args) {
  if (cfg().stack == 0) {
    weft::go(std::forward<F>(f), std::forward<Args>(args)...);
  } else {
    weft::go_options opts;
    opts.stack_size = cfg().stack;
    // as_const: a non-const (or prvalue) go_options would be taken for the
    // function by go(F&&, Args&&...), which binds it better than go's
    // const go_options& overload does.
    weft::go(std::as_const(opts), std::forward<F>(f), std::forward<Args>(args)...);
  }
}

double ns_per(steady::duration d, std::int64_t ops);
double ms(steady::duration d);
// "key:value" with value printed as %.2f.
std::string kv(const char* key, double value);
// User + system CPU time of the whole process so far (getrusage), in ms.
double cpu_ms();
// VmRSS of /proc/self/status, in bytes. Throws std::runtime_error.
std::int64_t vm_rss();
// The result line of r for this process's config.
std::string line(const result& r);

// ---- workloads, in files named after what they load: the Go peer's file
// (peers/go/*.go) or the src/ subsystem (chan, sync, time, net)

// sched_bench.cpp: goroutine creation, switching and parking.
std::vector<result> bench_spawn();
std::vector<result> bench_pingpong();
std::vector<result> bench_skynet();
std::vector<result> bench_parked();

// chan_bench.cpp: a contended buffered channel.
std::vector<result> bench_chan_mpmc();

// sync_bench.cpp: a contended mutex.
std::vector<result> bench_mutex();

// timer_bench.cpp: many goroutines sleeping at once.
std::vector<result> bench_timers();

// thread_bench.cpp: a server goroutine tied to its OS thread (weft/thread.hpp).
std::vector<result> bench_locked_server();

// net_bench.cpp: an echo server and its clients over loopback.
std::vector<result> bench_tcp_echo();

// ---- weft-only workloads: no peer of the kit has them (bench/run runs them
// with weft-bench alone)

// blocking_bench.cpp: weft::blocking, short and 1 ms calls, against plain ones.
std::vector<result> bench_blocking();

}  // namespace bench
