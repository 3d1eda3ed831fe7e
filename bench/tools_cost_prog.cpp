// bench/tools_cost_prog.cpp: weft-tools-cost, the load bench/run-tools-cost
// times the operator tools against (issue 16: `weft ls /...` over 1,000
// workers within 200 ms; `weft stk` of 100,000 goroutines within 1 s).
//
//   weft-tools-cost workers N      spawns N workers under /bench/idle that
//                                  only sleep, prints "ready N", then parks
//   weft-tools-cost goroutines N   parks N goroutines, prints "ready N PID",
//                                  then parks (attached: weft stk pid:PID)
//
// Attached to the weftd WEFT_RUNTIME names. Workers are this binary with
// one P and the smallest footprint a weft program has: 1,000 of them are
// 1,000 processes. Spawns go 32 at a time: weftd starts each process, so
// more at once would only queue there.
#include <cstdio>
#include <cstdlib>
#include <string>

#include <weft/circuit.hpp>
#include <weft/weft.hpp>

namespace {

void park_forever() { weft::chan<int>().recv(); }

[[gnu::noinline]] void parked_goroutine(weft::chan<int> never) {
  never.recv();
  asm volatile("");  // keeps this frame on the stack: weft stk shows it
}

int idle() {
  park_forever();
  return 0;
}
WEFT_SPAWNABLE(idle);

int usage() {
  std::fprintf(stderr, "usage: weft-tools-cost workers N | goroutines N\n");
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  if (weft::is_worker()) return weft::run([] {}, weft::options{.procs = 1, .runtime = {}});
  if (argc != 3) return usage();
  const std::string mode = argv[1];
  const int n = std::atoi(argv[2]);
  if (n <= 0 || (mode != "workers" && mode != "goroutines")) return usage();
  return weft::run([&] {
    if (mode == "goroutines") {
      weft::chan<int> never;
      for (int i = 0; i < n; ++i) weft::go(parked_goroutine, never);
      std::printf("ready %d %ld\n", n, static_cast<long>(::getpid()));
      std::fflush(stdout);
      park_forever();
    }
    weft::chan<int> slots(32);
    weft::wait_group wg;
    int failed = 0;
    weft::mutex mu;
    for (int i = 0; i < n; ++i) {
      slots.send(1);
      wg.add(1);
      weft::go([&] {
        try {
          auto w = weft::spawn({.anchors = {"/bench/idle"}}, idle);
          w.worker();  // started (its Spawned came): listed under the anchor
        } catch (const std::exception& e) {
          std::lock_guard lk(mu);
          if (failed++ == 0) std::fprintf(stderr, "weft-tools-cost: spawn failed: %s\n", e.what());
        }
        slots.recv();
        wg.done();
      });
    }
    wg.wait();
    if (failed > 0) {
      std::fprintf(stderr, "weft-tools-cost: %d of %d spawns failed\n", failed, n);
      std::exit(1);
    }
    std::printf("ready %d\n", n);
    std::fflush(stdout);
    park_forever();
  });
}
