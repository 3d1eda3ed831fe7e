// examples/prime_sieve.cpp: Go's concurrent prime sieve, on weft.
//
//   prime_sieve [N]      prints the first N primes (default 1000)
//
// A generator goroutine sends 2, 3, 4, ... on an unbuffered channel. The main
// goroutine takes the first number that comes out of the chain, which is the
// next prime p, and puts a new filter goroutine at the end of the chain: it
// passes on what is not divisible by p. After N primes there are N filters,
// one per prime, each connected to the next by an unbuffered channel, as in
// the sieve of the Go tour (go.dev/doc/play/sieve.go).
//
// Go's version runs forever and leaves its goroutines behind when main
// returns. Here the generator stops at an upper bound of the N-th prime and
// closes its channel; each filter closes its output once its input is closed
// and drained, so the close travels down the chain and every goroutine ends
// before main does. The primes are then checked against a sequential sieve.

#include <weft/weft.hpp>

#include <charconv>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <optional>
#include <vector>

namespace {

using number = std::int64_t;

// Sends 2, 3, ..., limit on out, then closes it.
void generate(weft::chan<number> out, number limit) {
  for (number i = 2; i <= limit; ++i) out.send(i);
  out.close();
}

// Passes the values of in that prime does not divide on to out; closes out
// once in is closed and drained.
void filter(weft::chan<number> in, weft::chan<number> out, number prime) {
  for (number i : in) {
    if (i % prime != 0) out.send(i);
  }
  out.close();
}

// An upper bound of the n-th prime: n (ln n + ln ln n) for n >= 6 (Rosser's
// theorem); the 5th prime is 11.
number nth_prime_bound(number n) {
  if (n < 6) return 11;
  double x = static_cast<double>(n);
  return static_cast<number>(x * (std::log(x) + std::log(std::log(x)))) + 1;
}

// The first n primes, by the sieve of Eratosthenes up to limit.
std::vector<number> sequential_primes(number n, number limit) {
  std::vector<bool> composite(static_cast<std::size_t>(limit) + 1);
  std::vector<number> primes;
  for (number i = 2; i <= limit && static_cast<number>(primes.size()) < n; ++i) {
    if (composite[static_cast<std::size_t>(i)]) continue;
    primes.push_back(i);
    for (number k = i * i; k <= limit; k += i) composite[static_cast<std::size_t>(k)] = true;
  }
  return primes;
}

int sieve(number n) {
  const number limit = nth_prime_bound(n);
  weft::wait_group running;  // every goroutine of the sieve
  number started = 0;
  // Starts f(args...) as a goroutine that `running` waits for.
  auto start = [&](auto f, auto... args) {
    running.add(1);
    ++started;
    weft::go([&running, f, args...] {
      f(args...);
      running.done();
    });
  };

  auto t0 = std::chrono::steady_clock::now();
  weft::chan<number> ch;  // the end of the chain
  start(generate, ch, limit);
  std::vector<number> primes;
  for (number i = 0; i < n; ++i) {
    std::optional<number> prime = ch.recv();
    if (!prime) break;  // not enough numbers below limit: the check fails below
    primes.push_back(*prime);
    weft::chan<number> next;
    start(filter, ch, next, *prime);
    ch = next;
  }
  // Numbers up to limit that pass the last filter (beyond the n-th prime):
  // receiving them lets the close travel down the chain.
  number beyond = 0;
  while (ch.recv()) ++beyond;
  running.wait();
  auto elapsed = std::chrono::steady_clock::now() - t0;

  // The first and last few, so that the demo's output stays readable.
  for (std::size_t i = 0; i < primes.size(); ++i) {
    if (i == 10 && primes.size() > 20) {
      std::printf("    ...\n");
      i = primes.size() - 10;
    }
    std::printf("%7lld%s", static_cast<long long>(primes[i]), (i + 1) % 10 == 0 || i + 1 == primes.size() ? "\n" : "");
  }
  std::vector<number> want = sequential_primes(n, limit);
  if (primes != want) {
    std::printf("FAILED: the sieve found %zu primes that differ from the sequential sieve's %zu\n",
                primes.size(), want.size());
    return 1;
  }
  std::printf("the first %lld primes, checked against a sequential sieve: ok\n", static_cast<long long>(n));
  std::printf("goroutines started: %lld (a generator of 2..%lld and a filter per prime); "
              "%lld numbers came out past the last filter\n",
              static_cast<long long>(started), static_cast<long long>(limit), static_cast<long long>(beyond));
  std::printf("took %.2f ms\n", std::chrono::duration<double, std::milli>(elapsed).count());
  return 0;
}

// Parses a whole decimal argument in [1, max].
bool parse_count(const char* arg, number max, number& out) {
  const char* end = arg + std::strlen(arg);
  auto [ptr, ec] = std::from_chars(arg, end, out);
  return ec == std::errc{} && ptr == end && out >= 1 && out <= max;
}

}  // namespace

int main(int argc, char** argv) {
  number n = 1000;
  if (argc > 2 || (argc == 2 && !parse_count(argv[1], 1'000'000, n))) {
    std::fprintf(stderr, "usage: prime_sieve [N]   (1 <= N <= 1000000; default 1000)\n");
    return 2;
  }
  return weft::run([n] { return sieve(n); });
}
