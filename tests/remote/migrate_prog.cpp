// tests/remote/migrate_prog.cpp: the processes of the migration tests
// (tests/remote/migrate_test.cpp, the cluster suite), attached to one weftd
// through WEFT_RUNTIME.
//
//   migrate_prog consumer [BYTES]
//                           a migratable goroutine that sums the remote
//                           channel "numbers" (prints "id M..." first), with
//                           BYTES of ballast in its state (bench/run-migrate),
//                           and accepts moved goroutines; ends when var
//                           "stop" is set
//   migrate_prog waiter     a migratable goroutine that waits on remote var
//                           "w.value" (prints "id M..." first): each new
//                           value is counted, summed and acknowledged in
//                           "w.ack"; a negative one ends it (results in
//                           w.count, w.sum, w.starts, w.hops, w.done); it
//                           accepts moved goroutines; ends when "stop" is set
//   migrate_prog host       accepts moved goroutines; ends when "stop" is set
//   migrate_prog sink       listens "sink" (an xref whose take() swallows
//                           bytes), prints "ready ADDRESS" (its peer
//                           address), accepts moved goroutines; ends when
//                           "stop" is set
//   migrate_prog talker2 ADDRESS_A ADDRESS_B
//                           two migratable goroutines: "heavy" calls the
//                           sink at A with 16 KiB, "light" the one at B
//                           with 1 KiB, counted in heavy.calls, light.calls
//   migrate_prog talker ADDRESS
//                           a migratable goroutine that calls ADDRESS's
//                           "sink" with 4 KiB at a time over its peer link
//                           (prints "id M..." first; its count in var
//                           talk.calls every 64 calls), until "stop" is set
//   migrate_prog pair       two migratable goroutines (prints "spin M..."
//                           and "doze M..." first): one spins (about half
//                           of a CPU: 2 ms of work, 2 ms of sleep, a safe
//                           point each round), one sleeps 50 ms at a time;
//                           each stores its process's pid in spin.pid or
//                           doze.pid at each start; accepts moved
//                           goroutines; ends when "stop" is set
//   migrate_prog feeder     sends 1, 2, 3, ... on "numbers" until var
//                           "feed.stop" is set; then stores feed.sum and
//                           feed.count and closes the channel
//   migrate_prog get NAME   prints remote var<long> NAME
//   migrate_prog set NAME V
//
// The consumer's goroutine keeps in its state what it needs to go on: the
// sum and count so far, how many times it (re)started, and how many times
// it found itself in a new process; and the variable consumer.seen, which
// it updates every 256 values and at its end. Its end stores result.sum,
// result.count, result.starts and result.hops.
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>

#include <weft/codec.hpp>
#include <weft/go.hpp>
#include <weft/migrate.hpp>
#include <weft/remote.hpp>
#include <weft/run.hpp>
#include <weft/xref.hpp>

#include "circuit/peers.hpp"  // self_address: where a talker dials the sink

namespace {

struct tally {
  weft::remote::chan<long> in;
  weft::remote::var<long> seen;  // a variable handle that moves with it
  long sum = 0;
  long count = 0;
  long starts = 0;
  long hops = 0;
  long pid = 0;
  std::string ballast;  // state that only travels
};
WEFT_FIELDS(tally, in, seen, sum, count, starts, hops, pid, ballast);

void consume(tally& t) {
  ++t.starts;  // a move restarts the function with the state of the safe point
  if (t.pid != static_cast<long>(::getpid())) {
    ++t.hops;
    t.pid = ::getpid();
  }
  while (auto v = t.in.recv()) {  // each wait is a safe point
    t.sum += *v;
    ++t.count;
    if (t.count % 256 == 0) t.seen.store(t.count);
  }
  t.seen.store(t.count);
  weft::remote::var<long>("result.sum", 0).store(t.sum);
  weft::remote::var<long>("result.count", 0).store(t.count);
  weft::remote::var<long>("result.starts", 0).store(t.starts);
  weft::remote::var<long>("result.hops", 0).store(t.hops);
  weft::remote::var<long>("result.done", 0).store(1);
}

// A goroutine whose only safe point is a remote::var's wait.
struct watcher {
  weft::remote::var<long> value;
  weft::remote::var<long> ack;
  long seen = 0;
  long count = 0;
  long sum = 0;
  long starts = 0;
  long hops = 0;
  long pid = 0;
};
WEFT_FIELDS(watcher, value, ack, seen, count, sum, starts, hops, pid);

void watch(watcher& w) {
  ++w.starts;
  if (w.pid != static_cast<long>(::getpid())) {
    ++w.hops;
    w.pid = ::getpid();
  }
  for (;;) {
    const long v = w.value.wait(w.seen);  // a safe point while it waits
    if (v < 0) break;
    w.seen = v;
    ++w.count;
    w.sum += v;
    w.ack.store(v);
  }
  weft::remote::var<long>("w.count", 0).store(w.count);
  weft::remote::var<long>("w.sum", 0).store(w.sum);
  weft::remote::var<long>("w.starts", 0).store(w.starts);
  weft::remote::var<long>("w.hops", 0).store(w.hops);
  weft::remote::var<long>("w.done", 0).store(1);
}

// What a talker sends its bytes to, over a peer link.
struct sink {
  long take(std::string bytes) { return static_cast<long>(bytes.size()); }
};

struct chatter {
  std::string peer;  // the sink's process's peer address
  long calls = 0;
  long size = 4096;  // bytes per call
  std::string counter = "talk.calls";  // the remote variable its calls are counted in
};
WEFT_FIELDS(chatter, peer, calls, size, counter);

void talk(chatter& c) {
  weft::remote::var<long> stop("stop", 0);
  weft::remote::var<long> calls(c.counter, 0);
  const std::string payload(static_cast<std::size_t>(c.size), 'x');
  for (;;) {
    try {
      auto x = weft::dial<sink>(c.peer, "sink");
      while (c.calls % 64 != 0 || stop.load() == 0) {
        x.call<&sink::take>(payload).get();
        if (++c.calls % 64 == 0) calls.store(c.calls);
        weft::this_goroutine::checkpoint();
      }
      return;
    } catch (const weft::remote_error&) {  // the sink went first: the test is ending
      // Or this process is: a talker moved next to its sink lives in the
      // sink's process, whose link to weftd closes as it ends (stop.load()
      // then throws too; it escaped here once, and the process exited 1).
      try {
        if (stop.load() != 0) return;
      } catch (const weft::remote_error&) {
        return;
      }
      weft::this_goroutine::checkpoint();
    }
  }
}

// A goroutine that uses CPU, and one that does not (`--to auto` weighs
// each goroutine's own CPU time).
struct spinner {
  long rounds = 0;
  unsigned long work = 0;
};
WEFT_FIELDS(spinner, rounds, work);

void spin(spinner& s) {
  using clock = std::chrono::steady_clock;
  weft::remote::var<long>("spin.pid", 0).store(::getpid());
  weft::remote::var<long> stop("stop", 0);
  for (;;) {
    const clock::time_point until = clock::now() + std::chrono::milliseconds(2);
    while (clock::now() < until) s.work = s.work * 31 + 7;
    weft::this_goroutine::sleep_for(std::chrono::milliseconds(2));
    weft::this_goroutine::checkpoint();
    if (++s.rounds % 64 == 0 && stop.load() != 0) return;
  }
}

struct dozer {
  long naps = 0;
};
WEFT_FIELDS(dozer, naps);

void doze(dozer& d) {
  weft::remote::var<long>("doze.pid", 0).store(::getpid());
  weft::remote::var<long> stop("stop", 0);
  for (;;) {
    weft::this_goroutine::sleep_for(std::chrono::milliseconds(50));
    weft::this_goroutine::checkpoint();
    if (++d.naps % 4 == 0 && stop.load() != 0) return;
  }
}

void wait_for_stop() {
  weft::remote::var<long> stop("stop", 0);
  while (stop.load() == 0) stop.wait(0);
}

}  // namespace

WEFT_CROSS(sink, take);

namespace {

int usage() {
  std::fprintf(stderr,
               "usage: migrate_prog consumer|waiter|host|sink|talker ADDRESS|talker2 A B|pair|feeder|get NAME|set NAME V\n");
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) return usage();
  const std::string mode = argv[1];
  return weft::run([&]() -> int {
    if (!weft::remote::attached()) {
      std::fprintf(stderr, "migrate_prog: set WEFT_RUNTIME (it needs a weftd)\n");
      return 2;
    }
    if (mode == "consumer") {
      weft::accept_migrations();
      tally t;
      t.in = weft::remote::chan<long>("numbers", 16);
      t.seen = weft::remote::var<long>("consumer.seen", 0);
      if (argc > 2) t.ballast.assign(static_cast<std::size_t>(std::atol(argv[2])), 'b');
      std::string id = weft::go_migratable<consume>(std::move(t));
      std::printf("id %s\n", id.c_str());
      std::fflush(stdout);
      wait_for_stop();
      return 0;
    }
    if (mode == "waiter") {
      weft::accept_migrations();
      watcher w;
      w.value = weft::remote::var<long>("w.value", 0);
      w.ack = weft::remote::var<long>("w.ack", 0);
      std::string id = weft::go_migratable<watch>(std::move(w));
      std::printf("id %s\n", id.c_str());
      std::fflush(stdout);
      wait_for_stop();
      return 0;
    }
    if (mode == "host") {
      weft::accept_migrations();
      std::printf("ready\n");
      std::fflush(stdout);
      wait_for_stop();
      return 0;
    }
    if (mode == "sink") {
      weft::accept_migrations();
      weft::listen("sink", weft::perm_ref(std::make_shared<sink>()));
      std::printf("ready %s\n", weft::circuit::detail::self_address().c_str());
      std::fflush(stdout);
      wait_for_stop();
      return 0;
    }
    if (mode == "talker" && argc == 3) {
      weft::accept_migrations();
      std::string id = weft::go_migratable<talk>(chatter{.peer = argv[2], .calls = 0});
      std::printf("id %s\n", id.c_str());
      std::fflush(stdout);
      wait_for_stop();
      return 0;
    }
    if (mode == "talker2" && argc == 4) {
      // Two goroutines, each calling a sink of its own: the first sends 16
      // times the bytes, so its sink is the process's busiest peer.
      weft::accept_migrations();
      const std::string heavy = weft::go_migratable<talk>(
          chatter{.peer = argv[2], .calls = 0, .size = 16384, .counter = "heavy.calls"});
      const std::string light =
          weft::go_migratable<talk>(chatter{.peer = argv[3], .calls = 0, .size = 1024, .counter = "light.calls"});
      std::printf("heavy %s\nlight %s\n", heavy.c_str(), light.c_str());
      std::fflush(stdout);
      wait_for_stop();
      return 0;
    }
    if (mode == "pair") {
      weft::accept_migrations();
      const std::string s = weft::go_migratable<spin>(spinner{});
      const std::string d = weft::go_migratable<doze>(dozer{});
      std::printf("spin %s\ndoze %s\n", s.c_str(), d.c_str());
      std::fflush(stdout);
      wait_for_stop();
      return 0;
    }
    if (mode == "feeder") {
      weft::remote::chan<long> out("numbers", 16);
      weft::remote::var<long> stop("feed.stop", 0);
      long sum = 0, count = 0;
      for (long i = 1;; ++i) {
        if (i % 64 == 0 && stop.load() != 0) break;
        out.send(i);
        sum += i;
        ++count;
      }
      weft::remote::var<long>("feed.sum", 0).store(sum);
      weft::remote::var<long>("feed.count", 0).store(count);
      out.close();
      return 0;
    }
    if (mode == "get" && argc == 3) {
      std::printf("%ld\n", weft::remote::var<long>(argv[2], 0).load());
      return 0;
    }
    if (mode == "set" && argc == 4) {
      weft::remote::var<long>(argv[2], 0).store(std::atol(argv[3]));
      return 0;
    }
    return usage();
  });
}
