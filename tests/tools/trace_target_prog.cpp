// tests/tools/trace_target_prog.cpp: a program for weft trace's tests
// (weft_trace_test.cpp): attached through WEFT_RUNTIME, two goroutines
// named "pinger" and "ponger" pass a ball back and forth on two channels,
// forever; prints "ready" once they have started.
//
//   trace_target_prog          a round every millisecond (a trace of a few
//                              thousand events a second)
//   trace_target_prog flood    as fast as they can (a trace that reaches
//                              its size cap)
#include <chrono>
#include <cstdio>
#include <cstring>

#include <weft/weft.hpp>

int main(int argc, char** argv) {
  const bool flood = argc > 1 && std::strcmp(argv[1], "flood") == 0;
  return weft::run([flood] {
    weft::chan<int> ping, pong;
    weft::go(weft::go_options{.name = "pinger"}, [&] {
      for (int i = 0;; ++i) {
        ping.send(i);
        (void)pong.recv();
        if (!flood) weft::this_goroutine::sleep_for(std::chrono::milliseconds(1));
      }
    });
    weft::go(weft::go_options{.name = "ponger"}, [&] {
      for (;;) pong.send(ping.recv().value_or(0));
    });
    std::printf("ready\n");
    std::fflush(stdout);
    for (;;) weft::this_goroutine::sleep_for(std::chrono::seconds(1));
    return 0;
  });
}
