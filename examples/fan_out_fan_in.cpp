// examples/fan_out_fan_in.cpp: a pipeline that fans work out to W workers and
// their results back in to one collector.
//
//   fan_out_fan_in [JOBS [WORKERS]]     default 100000 jobs, 8 workers
//
// A producer goroutine sends the numbers 1..JOBS on a buffered `jobs`
// channel and closes it. W worker goroutines each receive from `jobs` until it
// is closed and drained, compute the number's Collatz step count (how many
// steps of n -> n/2 or 3n+1 reach 1) and send {worker, steps} on a buffered
// `results` channel. The workers share a wait_group; one more goroutine waits
// on it and closes `results` once every worker is done. The collector (the
// main goroutine) receives until `results` is closed, summing the steps and
// counting how many jobs each worker took: share memory by communicating.
// The total is then checked against a sequential computation.

#include <weft/weft.hpp>

#include <charconv>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <vector>

namespace {

// Steps of the Collatz map from n (>= 1) down to 1.
std::uint64_t collatz_steps(std::uint64_t n) {
  std::uint64_t steps = 0;
  for (; n != 1; ++steps) n = n % 2 == 0 ? n / 2 : 3 * n + 1;
  return steps;
}

struct result {
  int worker;
  std::uint64_t steps;
};

int fan_out_fan_in(std::int64_t jobs_n, int workers) {
  auto t0 = std::chrono::steady_clock::now();
  weft::chan<std::uint64_t> jobs(256);
  weft::chan<result> results(256);

  weft::go([jobs, jobs_n]() mutable {  // producer
    for (std::int64_t n = 1; n <= jobs_n; ++n) jobs.send(static_cast<std::uint64_t>(n));
    jobs.close();
  });

  weft::wait_group working;
  working.add(workers);
  for (int w = 0; w < workers; ++w) {
    weft::go([jobs, results, w, &working]() mutable {  // fan out
      for (std::uint64_t n : jobs) results.send({w, collatz_steps(n)});
      working.done();
    });
  }
  weft::go([results, &working]() mutable {  // closes results after the last worker
    working.wait();
    results.close();
  });

  std::uint64_t total = 0;  // fan in
  std::vector<std::int64_t> per_worker(static_cast<std::size_t>(workers));
  std::int64_t received = 0;
  for (result r : results) {
    total += r.steps;
    ++per_worker[static_cast<std::size_t>(r.worker)];
    ++received;
  }
  auto elapsed = std::chrono::steady_clock::now() - t0;

  std::printf("%lld jobs (Collatz step counts of 1..%lld) on %d workers, buffered channels of 256\n",
              static_cast<long long>(jobs_n), static_cast<long long>(jobs_n), workers);
  std::printf("jobs per worker:");
  for (std::int64_t c : per_worker) std::printf(" %lld", static_cast<long long>(c));
  std::printf("\ntotal steps: %llu\n", static_cast<unsigned long long>(total));

  auto t1 = std::chrono::steady_clock::now();
  std::uint64_t want = 0;
  for (std::int64_t n = 1; n <= jobs_n; ++n) want += collatz_steps(static_cast<std::uint64_t>(n));
  auto sequential = std::chrono::steady_clock::now() - t1;
  if (received != jobs_n || total != want) {
    std::printf("FAILED: %lld results totalling %llu, want %lld totalling %llu (sequential)\n",
                static_cast<long long>(received), static_cast<unsigned long long>(total),
                static_cast<long long>(jobs_n), static_cast<unsigned long long>(want));
    return 1;
  }
  std::printf("checked against a sequential computation: ok\n");
  std::printf("took %.2f ms (the sequential computation: %.2f ms)\n",
              std::chrono::duration<double, std::milli>(elapsed).count(),
              std::chrono::duration<double, std::milli>(sequential).count());
  return 0;
}

// Parses a whole decimal argument in [1, max].
bool parse_count(const char* arg, std::int64_t max, std::int64_t& out) {
  const char* end = arg + std::strlen(arg);
  auto [ptr, ec] = std::from_chars(arg, end, out);
  return ec == std::errc{} && ptr == end && out >= 1 && out <= max;
}

}  // namespace

int main(int argc, char** argv) {
  std::int64_t jobs = 100'000, workers = 8;
  if (argc > 3 || (argc > 1 && !parse_count(argv[1], 100'000'000, jobs)) ||
      (argc > 2 && !parse_count(argv[2], 10'000, workers))) {
    std::fprintf(stderr, "usage: fan_out_fan_in [JOBS [WORKERS]]   (default 100000 jobs, 8 workers)\n");
    return 2;
  }
  return weft::run([jobs, workers] { return fan_out_fan_in(jobs, static_cast<int>(workers)); });
}
