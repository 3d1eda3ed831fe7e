// bench/remote_bench.cpp: weft-remote-bench, weft's side of the kit's ipc
// workloads (shared/bench/WORKLOADS.md, "remote_chan", "remote_counter" and
// "The weft side of the ipc workloads"):
//
//   weft-remote-bench server -bench NAME -procs P
//       a runtime server (weftd's src/server/, in this process) on a free
//       loopback TCP port; prints addr=ADDRESS once clients can connect and
//       serves until SIGTERM. The channels and variables are made by the
//       clients' first open (empty, 0), as the workload asks.
//   weft-remote-bench client -bench NAME -procs P -addr ADDRESS -role ROLE
//       one client process, attached to ADDRESS (options.runtime): push is
//       a send on a buffered weft::remote::chan (it returns once the server
//       holds the value), pop a receive, fetch-add a weft::remote::var's.
//
// NAME is remote_chan, remote_chan_stream or remote_counter; remote_call
// and remote_call_pipelined are xref calls (xref_call_bench.cpp). Only the
// reporting role (a; 0) prints its result line. WEFTBENCH_SMALL=1 divides
// every count by 10 (a smoke run; the line says size:small).
//
// The 10 s bound on every blocking operation is one watchdog goroutine per
// client that ends the process (exit 1) when no operation has completed for
// 10 s, rather than a timer per operation: a per-operation timer would be
// measured with the operation.
#include <pthread.h>
#include <signal.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include <weft/blocking.hpp>
#include <weft/go.hpp>
#include <weft/remote.hpp>
#include <weft/run.hpp>

#include "server/server.hpp"

#include "ipc_util.hpp"

namespace {

using steady = std::chrono::steady_clock;
using payload_t = std::string;

// Capacity of the ping and pong channels: push returns when the server holds
// the value, so A may run ahead of B by this many messages.
constexpr std::size_t kQueueCapacity = 1024;
// remote_chan_stream: values in one send_all or recv_some (Redis's pipeline window).
constexpr std::size_t kWindow = 64;

struct sizes {
  int warmup = 1000;
  int round_trips = 20000;
  int stream = 200000;
  int clients = 4;
  int ops = 50000;
  bool small = false;
};

sizes workload_sizes() {
  sizes s;
  const char* e = std::getenv("WEFTBENCH_SMALL");
  if (e != nullptr && std::string_view(e) == "1") {
    s.small = true;
    s.warmup /= 10;
    s.round_trips /= 10;
    s.stream /= 10;
    s.ops /= 10;
  }
  return s;
}

struct args {
  std::string mode, bench, addr, role;
  int procs = 1;
};

[[noreturn]] void fail(const std::string& why) {
  std::fprintf(stderr, "weft-remote-bench: %s\n", why.c_str());
  std::exit(1);
}

args parse(int argc, char** argv) {
  args a;
  if (argc > 1) a.mode = argv[1];
  for (int i = 2; i + 1 < argc; i += 2) {
    std::string_view k = argv[i];
    std::string v = argv[i + 1];
    if (k == "-bench") a.bench = v;
    else if (k == "-addr") a.addr = v;
    else if (k == "-role") a.role = v;
    else if (k == "-procs") a.procs = std::max(1, std::atoi(v.c_str()));
    else fail("unknown flag " + std::string(k));
  }
  bool known = a.bench == "remote_chan" || a.bench == "remote_chan_stream" || a.bench == "remote_counter" ||
               a.bench == "remote_call" || a.bench == "remote_call_pipelined";
  if ((a.mode != "server" && a.mode != "client") || !known || (a.mode == "client" && a.addr.empty())) {
    fail(
        "usage: weft-remote-bench server -bench NAME -procs P\n"
        "       weft-remote-bench client -bench NAME -procs P -addr ADDRESS -role ROLE\n"
        "NAME: remote_chan, remote_chan_stream, remote_counter, remote_call or remote_call_pipelined");
  }
  return a;
}

using ipc_bench::micros;
using ipc_bench::payload;
using ipc_bench::percentile;

// ---- the 10 s bound

std::atomic<std::uint64_t> progress{0};

void start_watchdog(const std::string& what) {
  weft::go([what] {
    std::uint64_t seen = progress.load();
    auto since = steady::now();
    for (;;) {
      weft::this_goroutine::sleep_for(std::chrono::milliseconds(500));
      std::uint64_t now = progress.load();
      if (now != seen) {
        seen = now;
        since = steady::now();
      } else if (steady::now() - since > std::chrono::seconds(10)) {
        fail(what + ": no operation completed for 10 s (a lost value, or the server is gone)");
      }
    }
  });
}

payload_t pop(weft::remote::chan<payload_t>& q) {
  std::optional<payload_t> v = q.recv();
  if (!v) fail("channel " + q.name() + " was closed");
  progress.fetch_add(1, std::memory_order_relaxed);
  return std::move(*v);
}

void push(weft::remote::chan<payload_t>& q, payload_t v) {
  q.send(std::move(v));
  progress.fetch_add(1, std::memory_order_relaxed);
}

// what() builds the message only when the check fails: a string made at
// every operation was a heap allocation per call that the peers do not pay.
template <class What>
void check(bool ok, What&& what) {
  if (!ok) fail("check failed: " + std::string(what()));
}

void print_line(const args& a, const sizes& s, double value, const char* unit, std::string extra) {
  if (s.small) extra += ",size:small";
  std::printf("bench=%s impl=weft procs=%d value=%.2f unit=%s extra=%s\n", a.bench.c_str(), a.procs, value, unit,
              extra.c_str());
  std::fflush(stdout);
}

// ---- remote_chan and remote_chan_stream

void chan_client(const args& a, const sizes& s) {
  weft::remote::chan<payload_t> ping("ping", kQueueCapacity), pong("pong", kQueueCapacity);
  if (a.role == "b") {
    for (int n : {s.warmup, a.bench == "remote_chan" ? s.round_trips : 0}) {
      for (int i = 0; i < n; ++i) {
        payload_t v = pop(ping);
        check(v == payload(i), [&] { return "b: ping value " + std::to_string(i); });
        push(pong, std::move(v));
      }
    }
    if (a.bench == "remote_chan_stream") {
      // Pipelined receives, as Redis's BLPOP window: never more than are left.
      for (int k = 0; k < s.stream;) {
        std::vector<payload_t> some = ping.recv_some(std::min<std::size_t>(kWindow, static_cast<std::size_t>(s.stream - k)));
        check(!some.empty(), [&] { return "b: ping closed at stream value " + std::to_string(k); });
        for (const payload_t& v : some) {
          check(v == payload(k), [&] { return "b: stream value " + std::to_string(k); });
          ++k;
        }
      }
      push(pong, payload(s.stream));
    }
    return;
  }
  for (int i = 0; i < s.warmup; ++i) {
    push(ping, payload(i));
    check(pop(pong) == payload(i), [&] { return "a: warm-up reply " + std::to_string(i); });
  }
  std::string queue = ",queue:cap" + std::to_string(kQueueCapacity);
  if (a.bench == "remote_chan") {
    std::vector<double> lat;
    lat.reserve(s.round_trips);
    auto start = steady::now();
    for (int i = 0; i < s.round_trips; ++i) {
      auto t0 = steady::now();
      push(ping, payload(i));
      payload_t v = pop(pong);
      lat.push_back(micros(steady::now() - t0));
      check(v == payload(i), [&] { return "a: reply " + std::to_string(i); });
    }
    double secs = std::chrono::duration<double>(steady::now() - start).count();
    char extra[160];
    std::snprintf(extra, sizeof extra, "p99_us:%.2f,round_trips_per_s:%.2f", percentile(lat, 0.99),
                  s.round_trips / secs);
    print_line(a, s, percentile(lat, 0.50), "us", extra + queue);
    return;
  }
  // Pipelined pushes (send_all), kWindow at a time, as Redis's window.
  auto start = steady::now();
  for (int k = 0; k < s.stream;) {
    std::vector<payload_t> batch;
    for (int end = std::min(s.stream, k + static_cast<int>(kWindow)); k < end; ++k) batch.push_back(payload(k));
    ping.send_all(std::move(batch));
  }
  check(pop(pong) == payload(s.stream), [&] { return "a: the end marker"; });
  double secs = std::chrono::duration<double>(steady::now() - start).count();
  print_line(a, s, s.stream / secs, "messages/s", "window:" + std::to_string(kWindow) + queue);
}

// ---- remote_counter

void counter_client(const args& a, const sizes& s) {
  int role = std::atoi(a.role.c_str());
  if (a.role.size() != 1 || role < 0 || role >= s.clients) fail("remote_counter: -role must be 0 to 3");
  weft::remote::var<std::int64_t> counter("counter", 0), warmup("warmup", 0);
  weft::remote::chan<payload_t> ready("ready", 8), go_("go", 8), done("done", 8);
  for (int i = 0; i < s.warmup; ++i) {
    warmup.fetch_add(1);
    progress.fetch_add(1, std::memory_order_relaxed);
  }
  std::vector<double> lat;
  lat.reserve(s.ops);
  auto run = [&] {
    std::int64_t last = -1;
    for (int i = 0; i < s.ops; ++i) {
      auto t0 = steady::now();
      std::int64_t v = counter.fetch_add(1);
      lat.push_back(micros(steady::now() - t0));
      progress.fetch_add(1, std::memory_order_relaxed);
      check(v > last && v >= 0 && v < std::int64_t{s.clients} * s.ops, [&] { return "fetch_add returned " + std::to_string(v); });
      last = v;
    }
  };
  if (role != 0) {
    push(ready, a.role);
    pop(go_);
    run();
    push(done, a.role);
    return;
  }
  for (int k = 1; k < s.clients; ++k) pop(ready);
  auto start = steady::now();
  for (int k = 1; k < s.clients; ++k) push(go_, "go");
  run();
  for (int k = 1; k < s.clients; ++k) pop(done);
  double secs = std::chrono::duration<double>(steady::now() - start).count();
  std::int64_t total = counter.load(), warm = warmup.load();
  check(total == std::int64_t{s.clients} * s.ops, [&] { return "counter is " + std::to_string(total); });
  check(warm == std::int64_t{s.clients} * s.warmup, [&] { return "warmup is " + std::to_string(warm); });
  char extra[160];
  std::snprintf(extra, sizeof extra, "p50_us:%.2f,p99_us:%.2f,clients:%d", percentile(lat, 0.50),
                percentile(lat, 0.99), s.clients);
  print_line(a, s, s.clients * static_cast<double>(s.ops) / secs, "ops/s", extra);
}

int client(const args& a) {
  weft::options opts;
  opts.procs = a.procs;
  opts.runtime = a.addr;
  return weft::run(
      [&] {
        if (!weft::remote::attached()) fail("not attached to " + a.addr);
        start_watchdog(a.bench + " role " + a.role);
        sizes s = workload_sizes();
        if (a.bench == "remote_counter") counter_client(a, s);
        else chan_client(a, s);
        return 0;
      },
      opts);
}

int server(const args& a) {
  // SIGTERM is taken by sigwait on one goroutine; blocked before weft::run
  // starts its threads, it stays blocked in all of them.
  sigset_t stop;
  sigemptyset(&stop);
  sigaddset(&stop, SIGTERM);
  sigaddset(&stop, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop, nullptr);
  ::unsetenv("WEFT_RUNTIME");
  weft::server::options sopts;
  sopts.endpoint = weft::wire::parse_endpoint("tcp:127.0.0.1:0");
  sopts.state.log = nullptr;
  weft::options opts;
  opts.procs = a.procs;
  return weft::run(
      [&] {
        weft::server::server srv(sopts);
        srv.listen();
        weft::go([&srv] { srv.serve(); });
        std::printf("addr=%s\n", srv.address().c_str());
        std::fflush(stdout);
        weft::blocking([&] {
          int sig = 0;
          while (sigwait(&stop, &sig) != 0) {}
        });
        srv.stop();
        return 0;
      },
      opts);
}

}  // namespace

namespace xref_call_bench {
int run(const std::string& mode, const std::string& bench, int procs, const std::string& addr);
}

int main(int argc, char** argv) {
  args a = parse(argc, argv);
  if (a.bench == "remote_call" || a.bench == "remote_call_pipelined")
    return xref_call_bench::run(a.mode, a.bench, a.procs, a.addr);
  try {
    return a.mode == "server" ? server(a) : client(a);
  } catch (const std::exception& e) {
    fail(a.mode + " " + a.bench + ": " + e.what());
  }
}
