// bench/spawn_bench.cpp: weft-spawn-bench, weft's side of the kit's
// spawn_process workload (shared/bench/WORKLOADS.md): one weft::spawn
// after another, each a fresh worker process of this binary that returns
// payload(i), timed from the call to the worker's exit.
//
//   weft-spawn-bench -bench spawn_process -procs P [-host NAME]
//
// -host pins every spawn to that host of a circuit (bench/run-cluster-spawn:
// another host's, whose weftd gets the binary at the first spawn); extra
// first_ms is that first spawn, which includes the transfer when the
// host's cache lacked the binary.
//
// Prints the kit's line: bench=spawn_process impl=weft procs=P value=P50_MS
// unit=ms extra=p99_ms:X,result_p50_ms:Y. The weftd: the one this program
// is attached to (weft remote runs it with a private one, as bench/run-ipc
// does), else the local one, started if none runs. WEFTBENCH_SMALL=1: 1
// warm-up and 20 rounds. The worker gets procs P through
// WEFT_BENCH_PROCS, which it inherits.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include <weft/circuit.hpp>
#include <weft/run.hpp>

#include "ipc_util.hpp"

namespace {

using ipc_bench::payload;
using ipc_bench::percentile;

using steady = std::chrono::steady_clock;

WEFT_SPAWNABLE(payload);

double millis(steady::duration d) { return std::chrono::duration<double, std::milli>(d).count(); }

int usage(const char* why) {
  std::fprintf(stderr, "weft-spawn-bench: %s\nusage: weft-spawn-bench -bench spawn_process -procs P\n", why);
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  weft::options opts;
  if (weft::is_worker()) {
    if (const char* p = std::getenv("WEFT_BENCH_PROCS")) opts.procs = std::max(1, std::atoi(p));
    return weft::run([] {}, opts);
  }
  std::string bench, host;
  int procs = 1;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string k = argv[i];
    if (k == "-bench") {
      bench = argv[i + 1];
    } else if (k == "-procs") {
      procs = std::atoi(argv[i + 1]);
    } else if (k == "-host") {
      host = argv[i + 1];
    } else {
      return usage(("unknown option " + k).c_str());
    }
  }
  if (bench != "spawn_process") return usage("the only workload is spawn_process");
  if (procs < 1) return usage("-procs must be at least 1");
  opts.procs = procs;
  ::setenv("WEFT_BENCH_PROCS", std::to_string(procs).c_str(), 1);
  const char* small_env = std::getenv("WEFTBENCH_SMALL");
  const bool small = small_env && std::string(small_env) == "1";
  const int warmup = small ? 1 : 10, rounds = small ? 20 : 200;
  return weft::run(
      [&]() -> int {
        std::vector<double> total, result;
        double first_ms = 0;
        for (int i = 0; i < warmup + rounds; ++i) {
          const int arg = i < warmup ? i : i - warmup;
          auto t0 = steady::now();
          weft::spawned<std::string> w = weft::spawn({.host = host}, payload, static_cast<std::uint64_t>(arg));
          std::string got = w.get();
          auto t1 = steady::now();
          if (got != payload(static_cast<std::uint64_t>(arg))) {
            std::printf("bench=spawn_process impl=weft procs=%d FAILED: round %d: wrong payload\n", procs, i);
            return 1;
          }
          int status = w.worker().wait();
          auto t2 = steady::now();
          if (status != 0) {
            std::printf("bench=spawn_process impl=weft procs=%d FAILED: round %d: the worker exited with %d\n",
                        procs, i, status);
            return 1;
          }
          if (i == 0) first_ms = millis(t2 - t0);
          if (i >= warmup) {
            total.push_back(millis(t2 - t0));
            result.push_back(millis(t1 - t0));
          }
        }
        std::printf(
            "bench=spawn_process impl=weft procs=%d value=%.2f unit=ms extra=p99_ms:%.2f,result_p50_ms:%.2f,first_ms:%.2f%s\n",
            procs, percentile(total, 0.5), percentile(total, 0.99), percentile(result, 0.5), first_ms,
            small ? ",size:small" : "");
        return 0;
      },
      opts);
}
