// examples/echo_server.cpp: an echo server and a load of clients in one
// program, over loopback, on weft::net.
//
//   echo_server [CLIENTS [ROUNDS [SIZE]]]    default 100 clients, 500 rounds, 32 bytes
//
// The server is Go's classic shape: one goroutine accepts, and each
// connection gets a goroutine of its own that reads and writes back until
// the client closes. Every read and write parks only its goroutine (the
// netpoller wakes it when the socket is ready), so the server holds one
// cheap goroutine per connection instead of a thread or a callback chain.
// The clients are goroutines too: each dials, then makes ROUNDS request /
// response round trips of SIZE bytes, timing each and checking that the
// reply is its own request, byte for byte.
//
// Prints round trips per second and the p50/p99 latency. Exits 1 if any
// reply differs or a connection fails.

#include <weft/net.hpp>
#include <weft/weft.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <system_error>
#include <vector>

namespace {

using clk = std::chrono::steady_clock;

int arg(int argc, char** argv, int i, int fallback) {
  if (argc <= i) return fallback;
  int v = std::atoi(argv[i]);
  if (v <= 0) {
    std::fprintf(stderr, "usage: echo_server [CLIENTS [ROUNDS [SIZE]]] (positive numbers)\n");
    std::exit(2);
  }
  return v;
}

// The server side of one connection: echoes until the client closes.
void serve(weft::net::conn c) {
  char buf[4096];
  try {
    while (std::size_t n = c.read(std::as_writable_bytes(std::span(buf))))
      c.write(std::as_bytes(std::span(buf, n)));
  } catch (const std::system_error& e) {
    std::fprintf(stderr, "server: %s\n", e.what());
  }
}

// One client: its round-trip latencies; counts a mismatch or failure in bad.
std::vector<clk::duration> client(const std::string& where, int id, int rounds, int size, std::atomic<int>& bad) {
  std::vector<clk::duration> lat;
  lat.reserve(static_cast<std::size_t>(rounds));
  try {
    weft::net::conn c = weft::net::dial("tcp", where);
    std::string request(static_cast<std::size_t>(size), '\0'), reply(request.size(), '\0');
    for (int r = 0; r < rounds; ++r) {
      for (std::size_t i = 0; i < request.size(); ++i) request[i] = static_cast<char>(id * 31 + r * 7 + int(i));
      auto t0 = clk::now();
      c.write(request);
      std::size_t got = c.read_full(std::as_writable_bytes(std::span(reply.data(), reply.size())));
      lat.push_back(clk::now() - t0);
      if (got != reply.size() || reply != request) {
        std::fprintf(stderr, "client %d: round %d: the reply differs from the request\n", id, r);
        ++bad;
        return lat;
      }
    }
  } catch (const std::system_error& e) {
    std::fprintf(stderr, "client %d: %s\n", id, e.what());
    ++bad;
  }
  return lat;
}

double us(clk::duration d) { return std::chrono::duration<double, std::micro>(d).count(); }

}  // namespace

int main(int argc, char** argv) {
  const int clients = arg(argc, argv, 1, 100);
  const int rounds = arg(argc, argv, 2, 500);
  const int size = arg(argc, argv, 3, 32);
  return weft::run([&] {
    weft::net::listener ln = weft::net::listen("tcp", "127.0.0.1:0");
    std::printf("echo server on %s: %d clients x %d round trips of %d bytes\n", ln.address().c_str(), clients,
                rounds, size);
    weft::wait_group server;
    server.add(1);
    weft::go([&] {
      for (;;) {
        weft::net::conn c;
        try {
          c = ln.accept();
        } catch (const std::system_error&) {
          break;  // the listener was closed: we are done
        }
        server.add(1);
        weft::go([&server](weft::net::conn cc) {
          serve(std::move(cc));
          server.done();
        }, std::move(c));
      }
      server.done();
    });

    std::vector<std::vector<clk::duration>> lat(static_cast<std::size_t>(clients));
    std::atomic<int> bad{0};
    weft::wait_group wg;
    wg.add(clients);
    auto start = clk::now();
    for (int i = 0; i < clients; ++i) {
      weft::go([&, i] {
        lat[static_cast<std::size_t>(i)] = client(ln.address(), i, rounds, size, bad);
        wg.done();
      });
    }
    wg.wait();
    auto elapsed = clk::now() - start;
    ln.close();
    server.wait();

    std::vector<clk::duration> all;
    for (auto& l : lat) all.insert(all.end(), l.begin(), l.end());
    std::sort(all.begin(), all.end());
    auto pct = [&](double p) {
      auto rank = static_cast<std::size_t>(std::ceil(p / 100 * static_cast<double>(all.size())));
      return all.empty() ? clk::duration{} : all[std::max<std::size_t>(rank, 1) - 1];
    };
    double seconds = std::chrono::duration<double>(elapsed).count();
    std::printf("%zu round trips in %.2f s: %.0f requests/s, latency p50 %.1f us, p99 %.1f us\n", all.size(),
                seconds, static_cast<double>(all.size()) / seconds, us(pct(50)), us(pct(99)));
    if (bad.load() != 0 || all.size() != static_cast<std::size_t>(clients) * static_cast<std::size_t>(rounds)) {
      std::printf("FAILED: %d client(s) saw a wrong reply or an error\n", bad.load());
      return 1;
    }
    return 0;
  });
}
