// tests/tools/control_prog.cpp: a program for the weft command's control
// tests (weft_control_test.cpp): attached through WEFT_RUNTIME, it starts N
// goroutines named "NAME-I", each parked in control_prog_parked_here (a
// function a dump must show), prints "ready N" and runs until it is
// killed.
//
//   control_prog [N [NAME]]   (default 3 and "parked-worker")
#include <cstdio>
#include <cstdlib>
#include <string>

#include <weft/weft.hpp>

[[gnu::noinline]] void control_prog_parked_here(weft::chan<int> never) {
  never.recv();
  asm volatile("");  // not a tail call: this frame stays on the stack
}

int main(int argc, char** argv) {
  const int n = argc > 1 ? std::atoi(argv[1]) : 3;
  const std::string name = argc > 2 ? argv[2] : "parked-worker";
  return weft::run([n, name] {
    weft::chan<int> never;
    for (int i = 0; i < n; ++i)
      weft::go(weft::go_options{.name = name + "-" + std::to_string(i)}, control_prog_parked_here, never);
    std::printf("ready %d\n", n);
    std::fflush(stdout);
    for (;;) weft::this_goroutine::sleep_for(std::chrono::milliseconds(100));
    return 0;
  });
}
