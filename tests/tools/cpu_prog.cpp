// tests/tools/cpu_prog.cpp: a program for `weft cpu`'s tests
// (weft_cpu_test.cpp): attached through WEFT_RUNTIME, it runs a goroutine
// named "spinner" that burns CPU in cpu_prog_spin_here (the function a
// profile must put at the top), prints "ready" and runs until it is killed.
#include <cstdint>
#include <cstdio>

#include <weft/weft.hpp>

[[gnu::noinline]] std::uint64_t cpu_prog_spin_here(std::uint64_t x) {
  for (;;) {
    for (int i = 0; i < 10000; ++i) {
      x = x * 6364136223846793005ull + 1442695040888963407ull;
      asm volatile("" : "+r"(x));
    }
    weft::this_goroutine::yield();  // the heartbeat and the control answers need a P too
  }
}

int main() {
  return weft::run([] {
    weft::go(weft::go_options{.name = "spinner"}, [] { cpu_prog_spin_here(1); });
    std::printf("ready\n");
    std::fflush(stdout);
    for (;;) weft::this_goroutine::sleep_for(std::chrono::milliseconds(100));
    return 0;
  });
}
