// tests/remote/trace_prog.cpp: a program for the trace logger's check
// (trace_check.sh). Its goroutines have names (one with a quote and a
// newline, which the JSON must escape); a receive parks until a sleeper
// sends; a weft::blocking call; a remote channel round trip. Prints a
// fixed line and exits 3, so the check can see the passthrough.
#include <unistd.h>

#include <chrono>
#include <cstdio>

#include <weft/blocking.hpp>
#include <weft/remote.hpp>
#include <weft/weft.hpp>

int main() {
  return weft::run([]() -> int {
    weft::chan<int> ch;
    weft::wait_group wg;
    wg.add(2);
    weft::go(weft::go_options{.name = "trace sleeper"}, [&] {
      // Long enough that main is parked in ch.recv by then, even under a sanitizer.
      weft::this_goroutine::sleep_for(std::chrono::milliseconds(50));
      ch.send(42);
      // Late enough that main usually parks in wg.wait (a "wait_group.wait" block).
      weft::this_goroutine::sleep_for(std::chrono::milliseconds(10));
      wg.done();
    });
    weft::go(weft::go_options{.name = "odd \"name\"\nline two"}, [&] {
      weft::blocking([] { ::usleep(2000); });
      wg.done();
    });
    int v = ch.recv().value_or(0);  // parks: "chan receive"
    wg.wait();
    weft::remote::chan<int> rc("trace_prog.round", 1);
    rc.send(v);
    int back = rc.recv().value_or(0);
    weft::remote::remove("trace_prog.round");
    std::printf("trace_prog: got %d and %d\n", v, back);
    return 3;
  });
}
