// examples/criu_ticker.cpp: a weft program made to be checkpointed and
// restored whole by CRIU (scripts/criu_move.sh, docs/migration-criu.md).
//
//   criu_ticker [--ticks N] [--mib M] [--procs P] [--every MS]
//                              defaults: 100 ticks (2 s), 1 MiB, 4 Ps, 20 ms
//
// Everything weft's runtime holds in the kernel is in use while it runs:
// P scheduler threads (OS threads), the netpoller's epoll and eventfd, the
// timer heap's deadlines, guard-paged goroutine stacks (mmap). A ticker
// fires every MS milliseconds; each tick passes a token once around a ring
// of 8 goroutines (channel hand-offs that wake parked threads) and adds one
// to a remote variable when the program is attached to a weftd
// (WEFT_RUNTIME), so the connection to the server is in use too. M MiB of
// state hold a pattern whose checksum is verified every 10 ticks: memory
// that came back wrong after a restore fails the run.
//
// Every 10 ticks it prints "tick=T hops=H state=ok remote=R pid=P"; after N
// ticks (0: never) it prints "done ticks=N hops=H state=ok" and exits 0.
// Any inconsistency exits 1 with a line that says what was wrong.
#include <weft/remote.hpp>
#include <weft/weft.hpp>

#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

namespace {

struct config {
  long ticks = 100;  // 0: forever
  long mib = 1;
  int procs = 4;
  long every_ms = 20;
};

config parse(int argc, char** argv) {
  config c;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string flag = argv[i];
    long v = std::atol(argv[i + 1]);
    if (flag == "--ticks") c.ticks = v;
    else if (flag == "--mib") c.mib = v;
    else if (flag == "--procs") c.procs = static_cast<int>(v);
    else if (flag == "--every") c.every_ms = v;
    else {
      std::fprintf(stderr, "criu_ticker: unknown flag %s (want --ticks, --mib, --procs, --every)\n", flag.c_str());
      std::exit(2);
    }
  }
  return c;
}

// The state's byte at i: a pattern that a page lost or misplaced breaks.
std::uint8_t pattern(std::size_t i) { return static_cast<std::uint8_t>((i * 2654435761u) >> 13); }

bool state_intact(const std::vector<std::uint8_t>& state) {
  for (std::size_t i = 0; i < state.size(); i += 509)
    if (state[i] != pattern(i)) return false;
  return true;
}

// A ring of 8 goroutines: a token sent into the first comes back out of the
// last after 8 hand-offs, each of which may wake a parked thread.
weft::chan<long> start_ring(weft::chan<long>& out) {
  weft::chan<long> first;
  weft::chan<long> in = first;
  for (int i = 0; i < 8; ++i) {
    weft::chan<long> next;
    weft::go([in, next]() mutable {
      while (auto v = in.recv()) next.send(*v + 1);
      next.close();
    });
    in = next;
  }
  out = in;
  return first;
}

}  // namespace

int main(int argc, char** argv) {
  config cfg = parse(argc, argv);
  std::setvbuf(stdout, nullptr, _IOLBF, 0);
  return weft::run(
      [&]() -> int {
        std::vector<std::uint8_t> state(static_cast<std::size_t>(cfg.mib) << 20);
        for (std::size_t i = 0; i < state.size(); ++i) state[i] = pattern(i);
        weft::remote::var<std::int64_t> remote_ticks("criu_ticker.ticks", 0);
        bool attached = weft::remote::attached();
        weft::chan<long> ring_out;
        weft::chan<long> ring_in = start_ring(ring_out);
        weft::ticker tick(std::chrono::milliseconds(cfg.every_ms));
        long hops = 0;
        std::int64_t remote = 0;
        for (long t = 1; cfg.ticks == 0 || t <= cfg.ticks; ++t) {
          tick.channel().recv();
          ring_in.send(hops);
          auto back = ring_out.recv();
          if (!back || *back != hops + 8) {
            std::printf("ring broken at tick %ld: sent %ld, got %ld\n", t, hops, back ? *back : -1);
            return 1;
          }
          hops = *back;
          if (attached) remote = remote_ticks.fetch_add(1) + 1;
          if (t % 10 == 0) {
            if (!state_intact(state)) {
              std::printf("state corrupted at tick %ld\n", t);
              return 1;
            }
            std::printf("tick=%ld hops=%ld state=ok remote=%lld pid=%d\n", t, hops, static_cast<long long>(remote),
                        static_cast<int>(getpid()));
          }
        }
        ring_in.close();
        std::printf("done ticks=%ld hops=%ld state=%s\n", cfg.ticks, hops, state_intact(state) ? "ok" : "corrupted");
        return state_intact(state) ? 0 : 1;
      },
      weft::options{.procs = cfg.procs, .runtime = {}});
}
