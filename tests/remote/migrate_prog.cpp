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
//   migrate_prog host       accepts moved goroutines; ends when "stop" is set
//   migrate_prog feeder     sends 1, 2, 3, ... on "numbers" until var
//                           "feed.stop" is set; then stores feed.sum and
//                           feed.count and closes the channel
//   migrate_prog get NAME   prints remote var<long> NAME
//   migrate_prog set NAME V
//
// The consumer's goroutine keeps in its state what it needs to go on: the
// sum and count so far, how many times it (re)started, and how many times
// it found itself in a new process. Its end stores result.sum,
// result.count, result.starts and result.hops.
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <string>

#include <weft/codec.hpp>
#include <weft/migrate.hpp>
#include <weft/remote.hpp>
#include <weft/run.hpp>

namespace {

struct tally {
  weft::remote::chan<long> in;
  long sum = 0;
  long count = 0;
  long starts = 0;
  long hops = 0;
  long pid = 0;
  std::string ballast;  // state that only travels
};
WEFT_FIELDS(tally, in, sum, count, starts, hops, pid, ballast);

void consume(tally& t) {
  ++t.starts;  // a move restarts the function with the state of the safe point
  if (t.pid != static_cast<long>(::getpid())) {
    ++t.hops;
    t.pid = ::getpid();
  }
  while (auto v = t.in.recv()) {  // each wait is a safe point
    t.sum += *v;
    ++t.count;
  }
  weft::remote::var<long>("result.sum", 0).store(t.sum);
  weft::remote::var<long>("result.count", 0).store(t.count);
  weft::remote::var<long>("result.starts", 0).store(t.starts);
  weft::remote::var<long>("result.hops", 0).store(t.hops);
  weft::remote::var<long>("result.done", 0).store(1);
}

void wait_for_stop() {
  weft::remote::var<long> stop("stop", 0);
  while (stop.load() == 0) stop.wait(0);
}

int usage() {
  std::fprintf(stderr, "usage: migrate_prog consumer|host|feeder|get NAME|set NAME V\n");
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
      if (argc > 2) t.ballast.assign(static_cast<std::size_t>(std::atol(argv[2])), 'b');
      std::string id = weft::go_migratable<consume>(std::move(t));
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
