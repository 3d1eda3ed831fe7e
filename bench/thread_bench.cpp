// bench/thread_bench.cpp: locked_server of WORKLOADS.md, the cost of tying a
// goroutine to an OS thread (weft/thread.hpp), measured as Go proposal #49848
// does: a server goroutine runs callables sent by a client goroutine, one
// request and one reply at a time over unbuffered channels.
//
// Follows the Go peer (peers/go/sync.go, benchLockedServer) and adds weft's
// other thread controls. One run prints, in this order:
//   locked_server                the server calls lock_os_thread (Go's
//                                LockOSThread): every request crosses threads
//   locked_server_baseline       no thread control
//   locked_server_dedicate       the server calls dedicate_os_thread
//   locked_server_thread_locker  server and client lock one thread_locker
//                                (the server first, binding it to its
//                                thread), so both run on that one thread
// value is the client's elapsed ns / R; extra cpu_per_request_ns is the
// process's user + system CPU over the same span / R, which shows a thread
// control that spins or wakes threads. Check: the counter that only the
// server increments == R. A variant that fails (its check, or its thread
// control throwing) gets a FAILED line and the others still run.

#include "bench.hpp"

#include <cstdint>
#include <exception>
#include <string>

#include <weft/chan.hpp>
#include <weft/go.hpp>
#include <weft/thread.hpp>
#include <weft/wait_group.hpp>

namespace bench {

namespace {

enum class control { none, lock, dedicate, locker };

struct variant {
  const char* bench;
  control how;
};

const variant variants[] = {
    {"locked_server", control::lock},
    {"locked_server_baseline", control::none},
    {"locked_server_dedicate", control::dedicate},
    {"locked_server_thread_locker", control::locker},
};

struct empty {};

std::int64_t served = 0;  // only the server touches it until the last reply
void inc() { ++served; }

// The server's side of a thread control (the client's, for the locker).
void take(control how, weft::thread_locker& tl) {
  if (how == control::lock) weft::lock_os_thread();
  if (how == control::dedicate) weft::dedicate_os_thread();
  if (how == control::locker) tl.lock();
}

void release(control how, weft::thread_locker& tl) {
  if (how == control::lock) weft::unlock_os_thread();
  if (how == control::dedicate) weft::undedicate_os_thread();
  if (how == control::locker) tl.unlock();
}

// R requests served under one thread control; the result line of v.
result serve_requests(const variant& v, std::int64_t r) {
  weft::chan<void (*)()> requests;  // unbuffered
  weft::chan<empty> replies;        // unbuffered
  weft::chan<empty> ready;          // closed by the server once it is set up
  weft::thread_locker tl;
  weft::wait_group wg;  // the server and the client, so tl outlives both
  std::string server_failed, client_failed;
  served = 0;

  wg.add(1);
  spawn([&] {  // server
    try {
      take(v.how, tl);
    } catch (const std::exception& e) {
      server_failed = std::string("server: ") + e.what();
      ready.close();
      wg.done();
      return;
    }
    ready.close();
    for (auto f : requests) {
      f();
      replies.send(empty{});
    }
    release(v.how, tl);
    wg.done();
  });
  ready.recv();
  if (!server_failed.empty()) {
    wg.wait();
    throw check_failed(server_failed);
  }

  steady::duration elapsed{};
  double cpu = 0;
  wg.add(1);
  spawn([&] {  // client
    if (v.how == control::locker) {
      try {
        tl.lock();
      } catch (const std::exception& e) {
        client_failed = std::string("client: ") + e.what();
        requests.close();
        wg.done();
        return;
      }
    }
    const double cpu0 = cpu_ms();
    auto start = steady::now();
    for (std::int64_t i = 0; i < r; ++i) {
      requests.send(inc);
      replies.recv();
    }
    elapsed = steady::now() - start;
    cpu = cpu_ms() - cpu0;
    requests.close();
    if (v.how == control::locker) tl.unlock();
    wg.done();
  });
  wg.wait();

  if (!client_failed.empty()) throw check_failed(client_failed);
  if (served != r) throw check_failed("served " + std::to_string(served) + " requests, want " + std::to_string(r));
  return {v.bench, ns_per(elapsed, r), "ns/request", {kv("cpu_per_request_ns", cpu * 1e6 / static_cast<double>(r))}};
}

}  // namespace

std::vector<result> bench_locked_server() {
  const std::int64_t r = cfg().scaled(200'000);
  std::vector<result> out;
  for (const auto& v : variants) {
    try {
      out.push_back(serve_requests(v, r));
    } catch (const std::exception& e) {
      out.push_back({v.bench, 0, "", {}, e.what()});
    }
  }
  return out;
}

}  // namespace bench
