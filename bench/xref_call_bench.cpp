// bench/xref_call_bench.cpp: weft's side of the remote_call workloads
// (shared/bench/WORKLOADS.md, "remote_call"), in weft-remote-bench:
//
//   weft-remote-bench server -bench remote_call|remote_call_pipelined -procs P
//       listens for peers on loopback TCP (WEFT_PEER_LISTEN=tcp:127.0.0.1:0
//       unless set: bench/run-cluster-remote gives its host's address),
//       exposes an echo object as "echo", prints addr=HOST:PORT, serves
//       until SIGTERM.
//   weft-remote-bench client -bench NAME -procs P -addr HOST:PORT
//       dials "echo" (one peer link) and calls echo through the xref:
//       remote_call one call at a time; remote_call_pipelined with 64 calls
//       in flight, as 64 goroutines that each issue the next call when
//       their reply arrives (a sliding window of 64, replies in any order).
// WEFTBENCH_SMALL=1 divides the counts by 10.
#include <pthread.h>
#include <signal.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include <weft/blocking.hpp>
#include <weft/go.hpp>
#include <weft/run.hpp>
#include <weft/wait_group.hpp>
#include <weft/xref.hpp>

#include "circuit/peers.hpp"

#include "ipc_util.hpp"

namespace xref_call_bench {

struct echo_service {
  std::string echo(std::string p) { return p; }
};
WEFT_CROSS(echo_service, echo);

namespace {

using ipc_bench::micros;
using ipc_bench::payload;
using ipc_bench::percentile;

using steady = std::chrono::steady_clock;

[[noreturn]] void fail(const std::string& bench, const std::string& why) {
  std::fprintf(stderr, "bench=%s impl=weft FAILED: %s\n", bench.c_str(), why.c_str());
  std::exit(1);
}

int server(int procs) {
  sigset_t stop;
  sigemptyset(&stop);
  sigaddset(&stop, SIGTERM);
  sigaddset(&stop, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop, nullptr);
  ::setenv("WEFT_PEER_LISTEN", "tcp:127.0.0.1:0", 0);  // unless the caller chose (bench/run-cluster-remote)
  weft::options opts;
  opts.procs = procs;
  return weft::run(
      [&] {
        weft::listen("echo", weft::perm_ref(std::make_shared<echo_service>()));
        std::string a = weft::circuit::detail::self_address();
        std::printf("addr=%s\n", a.substr(a.find(':') + 1).c_str());
        std::fflush(stdout);
        weft::blocking([&] {
          int sig = 0;
          while (sigwait(&stop, &sig) != 0) {
          }
        });
        return 0;
      },
      opts);
}

int client(const std::string& bench, int procs, const std::string& addr) {
  bool small = false;
  if (const char* e = std::getenv("WEFTBENCH_SMALL")) small = std::string_view(e) == "1";
  const int warmup = small ? 100 : 1000;
  const int sequential = small ? 2000 : 20000;
  const int pipelined = small ? 20000 : 200000;
  constexpr int window = 64;
  weft::options opts;
  opts.procs = procs;
  return weft::run(
      [&] {
        auto x = weft::dial<echo_service>("tcp:" + addr, "echo");
        auto call = [&](std::uint64_t i) {
          std::string p = payload(i);
          if (x.call<&echo_service::echo>(p).get() != p) fail(bench, "reply " + std::to_string(i) + " differs");
        };
        for (int i = 0; i < warmup; ++i) call(static_cast<std::uint64_t>(i));
        std::string extra = small ? ",size:small" : "";
        if (bench == "remote_call") {
          std::vector<double> lat;
          lat.reserve(static_cast<std::size_t>(sequential));
          auto start = steady::now();
          for (int i = 0; i < sequential; ++i) {
            auto t = steady::now();
            call(static_cast<std::uint64_t>(i));
            lat.push_back(micros(steady::now() - t));
          }
          double secs = std::chrono::duration<double>(steady::now() - start).count();
          std::printf("bench=remote_call impl=weft procs=%d value=%.2f unit=us extra=p99_us:%.2f,calls_per_s:%.2f%s\n",
                      procs, percentile(lat, 0.50), percentile(lat, 0.99), sequential / secs, extra.c_str());
          return 0;
        }
        std::atomic<int> next{0};
        std::vector<std::vector<double>> lat(window);
        weft::wait_group wg;
        auto start = steady::now();
        for (int w = 0; w < window; ++w) {
          wg.add(1);
          weft::go([&, w] {
            for (int i; (i = next.fetch_add(1)) < pipelined;) {
              auto t = steady::now();
              call(static_cast<std::uint64_t>(i));
              lat[static_cast<std::size_t>(w)].push_back(micros(steady::now() - t));
            }
            wg.done();
          });
        }
        wg.wait();
        double secs = std::chrono::duration<double>(steady::now() - start).count();
        std::vector<double> all;
        for (auto& v : lat) all.insert(all.end(), v.begin(), v.end());
        if (all.size() != static_cast<std::size_t>(pipelined)) fail(bench, "missing replies");
        std::printf("bench=remote_call_pipelined impl=weft procs=%d value=%.2f unit=calls/s extra=p99_us:%.2f,window:%d%s\n",
                    procs, pipelined / secs, percentile(all, 0.99), window, extra.c_str());
        return 0;
      },
      opts);
}

}  // namespace

int run(const std::string& mode, const std::string& bench, int procs, const std::string& addr) {
  try {
    return mode == "server" ? server(procs) : client(bench, procs, addr);
  } catch (const std::exception& e) {
    fail(bench, mode + ": " + e.what());
  }
}

}  // namespace xref_call_bench
