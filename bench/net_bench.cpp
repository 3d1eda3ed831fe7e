// bench/net_bench.cpp: tcp_echo of WORKLOADS.md: an echo server and its
// clients in one process over loopback, C = 200 connections making K = 200
// round trips of 64-byte messages each.
//
// Follows the Go peer (peers/go/net.go, benchTCPEcho) step for step. Setup,
// not timed: listen on 127.0.0.1:0, an accept-loop goroutine starting one
// echo goroutine per connection (read exactly 64 bytes, write them back,
// until end of stream), then the driver dials the C connections one after
// another (connect_ms). Timed: one client goroutine per connection doing its
// K write/read round trips, each latency from just before the write to the
// full reply; the clock stops when all clients are done. Then everything is
// closed and the server goroutines joined. weft::net sets TCP_NODELAY on
// both ends, as Go does. Smoke runs use C = 20 and K = 20: 100x fewer round
// trips.

#include "bench.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <string>
#include <system_error>

#include <weft/net.hpp>
#include <weft/weft.hpp>

namespace bench {
namespace {

constexpr std::size_t message_size = 64;
using message = std::array<std::byte, message_size>;

// Bytes 0-7 the connection index, 8-15 the round (little-endian u64), then
// byte i = (index + round + i) mod 256.
void fill_message(message& m, std::uint64_t index, std::uint64_t round) {
  for (int b = 0; b < 8; ++b) {
    m[static_cast<std::size_t>(b)] = static_cast<std::byte>(index >> (8 * b));
    m[static_cast<std::size_t>(8 + b)] = static_cast<std::byte>(round >> (8 * b));
  }
  for (std::size_t i = 16; i < message_size; ++i) m[i] = static_cast<std::byte>((index + round + i) % 256);
}

// Writes back every 64-byte message until the peer closes.
void echo(weft::net::conn c) {
  message buf;
  try {
    while (c.read_full(buf) == message_size) c.write(buf);
  } catch (const std::system_error&) {
    // a reset peer ends the connection, as an error ends Go's echo
  }
}

// The round trips of one connection: the latencies, or why it failed.
std::string echo_client(weft::net::conn& c, std::uint64_t index, std::int64_t rounds,
                        std::vector<steady::duration>& lat) {
  message msg, reply;
  lat.reserve(static_cast<std::size_t>(rounds));
  try {
    for (std::int64_t r = 0; r < rounds; ++r) {
      fill_message(msg, index, static_cast<std::uint64_t>(r));
      auto t0 = steady::now();
      c.write(msg);
      if (c.read_full(reply) != message_size) return "round trip " + std::to_string(r) + ": end of stream";
      lat.push_back(steady::now() - t0);
      if (msg != reply) return "round trip " + std::to_string(r) + ": echo differs from message";
    }
  } catch (const std::system_error& e) {
    return e.what();
  }
  return "";
}

// By nearest rank: the ceil(p/100 * n)-th smallest of sorted.
steady::duration percentile(const std::vector<steady::duration>& sorted, double p) {
  auto rank = static_cast<std::size_t>(std::ceil(p / 100 * static_cast<double>(sorted.size())));
  return sorted[std::max<std::size_t>(rank, 1) - 1];
}

double us(steady::duration d) { return std::chrono::duration<double, std::micro>(d).count(); }

}  // namespace

std::vector<result> bench_tcp_echo() {
  const int conns = cfg().smoke ? 20 : 200;             // C
  const std::int64_t rounds = cfg().smoke ? 20 : 200;   // K
  weft::net::listener ln = weft::net::listen("tcp", "127.0.0.1:0");
  weft::wait_group handlers;
  handlers.add(1);
  spawn([&] {  // accept loop: one echo goroutine per connection
    for (;;) {
      weft::net::conn c;
      try {
        c = ln.accept();
      } catch (const std::system_error&) {
        break;  // listener closed
      }
      handlers.add(1);
      spawn([&handlers](weft::net::conn cc) {
        echo(std::move(cc));
        handlers.done();
      }, std::move(c));
    }
    handlers.done();
  });

  // Connection setup is not part of the timed region.
  auto connect_start = steady::now();
  std::vector<weft::net::conn> cs;
  cs.reserve(static_cast<std::size_t>(conns));
  for (int i = 0; i < conns; ++i) cs.push_back(weft::net::dial("tcp", ln.address()));
  auto connect_time = steady::now() - connect_start;

  std::vector<std::vector<steady::duration>> latencies(static_cast<std::size_t>(conns));
  std::vector<std::string> errs(static_cast<std::size_t>(conns));
  weft::wait_group clients;
  auto start = steady::now();
  clients.add(conns);
  for (int i = 0; i < conns; ++i) {
    spawn([&, i] {
      auto k = static_cast<std::size_t>(i);
      errs[k] = echo_client(cs[k], static_cast<std::uint64_t>(i), rounds, latencies[k]);
      clients.done();
    });
  }
  clients.wait();
  auto elapsed = steady::now() - start;
  for (auto& c : cs) c.close();
  ln.close();
  handlers.wait();

  std::vector<steady::duration> all;
  for (std::size_t i = 0; i < errs.size(); ++i) {
    if (!errs[i].empty()) throw check_failed("connection " + std::to_string(i) + ": " + errs[i]);
    all.insert(all.end(), latencies[i].begin(), latencies[i].end());
  }
  const auto want = static_cast<std::size_t>(conns * rounds);
  if (all.size() != want)
    throw check_failed(std::to_string(all.size()) + " round trips, want " + std::to_string(want));
  std::sort(all.begin(), all.end());
  double seconds = std::chrono::duration<double>(elapsed).count();
  return {{"tcp_echo", static_cast<double>(all.size()) / seconds, "rt/s",
           {kv("p50_us", us(percentile(all, 50))), kv("p99_us", us(percentile(all, 99))),
            kv("connect_ms", ms(connect_time))}}};
}

}  // namespace bench
