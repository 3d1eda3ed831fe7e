// examples/replicated_search.cpp: the "Google search" pattern from Go's
// concurrency talks, with select, timers and a scope.
//
//   replicated_search [QUERIES [DEADLINE_MS]]    default 20 queries, 60 ms
//
// Each query goes to three kinds of backend (web, image, video); each kind
// has three replicas whose latency is random (1-100 ms). For every kind the
// first replica to answer wins (select over their channels), and the query
// as a whole gives up at a deadline (select with weft::after): a late kind
// is reported as missing rather than waited for. The replicas of a query run
// in a weft::scope; once the answers are in (or the deadline passed), the
// scope's stop request makes the losers give up at once: their sleep takes
// the scope's stop token. (Each kind's channel has room for all of its
// replicas, so a late answer never blocks on a channel nobody reads.)
//
// Prints each query's answers and time, then how many kinds were missing and
// the slowest query: never much later than the deadline.

#include <weft/weft.hpp>

#include <charconv>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <random>
#include <string>
#include <vector>

namespace {

using namespace std::chrono_literals;
using clk = std::chrono::steady_clock;

constexpr const char* kinds[] = {"web", "image", "video"};
constexpr int replicas = 3;

// One replica: answers after a random latency, unless stopped first.
void replica(std::stop_token stop, weft::chan<std::string> out, std::string kind, int id, int query,
             unsigned seed) {
  std::mt19937 rng(seed);
  auto latency = std::chrono::milliseconds(std::uniform_int_distribution<int>(1, 100)(rng));
  if (!weft::this_goroutine::sleep_for(latency, stop)) return;  // the query is over
  out.send(kind + " result " + std::to_string(query) + " from replica " + std::to_string(id) + " (" +
           std::to_string(latency.count()) + " ms)");
}

struct answer {
  std::vector<std::string> results;
  int missing = 0;
  std::chrono::milliseconds took{};
};

answer search(int query, std::chrono::milliseconds deadline) {
  auto t0 = clk::now();
  answer a;
  weft::scope replicas_scope;
  std::vector<weft::chan<std::string>> first_of_kind;
  for (int k = 0; k < 3; ++k) {
    weft::chan<std::string> out(replicas);  // buffered: a winner never waits for the reader
    for (int r = 0; r < replicas; ++r) {
      replicas_scope.go(replica, out, std::string(kinds[k]), r, query, unsigned(query * 31 + k * 7 + r));
    }
    first_of_kind.push_back(out);
  }
  auto timeout = weft::after(deadline);
  std::vector<bool> done(3, false);
  for (int got = 0; got < 3;) {
    bool expired = false;
    std::vector<weft::select_case> cases;
    for (int k = 0; k < 3; ++k) {
      if (done[static_cast<std::size_t>(k)]) continue;
      cases.emplace_back(weft::on_recv(first_of_kind[static_cast<std::size_t>(k)], [&, k](std::optional<std::string> v) {
        a.results.push_back(std::move(*v));
        done[static_cast<std::size_t>(k)] = true;
      }));
    }
    cases.emplace_back(weft::on_recv(timeout, [&] { expired = true; }));
    weft::select(cases);
    if (expired) break;
    ++got;
  }
  for (bool d : done) a.missing += d ? 0 : 1;
  replicas_scope.request_stop();  // the losers and the late ones give up
  replicas_scope.wait();
  a.took = std::chrono::duration_cast<std::chrono::milliseconds>(clk::now() - t0);
  return a;
}

int parse(const char* s, int fallback) {
  if (s == nullptr) return fallback;
  int v = 0;
  auto [p, ec] = std::from_chars(s, s + std::strlen(s), v);
  if (ec != std::errc() || *p != '\0' || v <= 0) {
    std::fprintf(stderr, "replicated_search: '%s' is not a positive integer\n", s);
    std::exit(2);
  }
  return v;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc > 3) {
    std::fprintf(stderr, "usage: replicated_search [QUERIES [DEADLINE_MS]]\n");
    return 2;
  }
  int queries = parse(argc > 1 ? argv[1] : nullptr, 20);
  auto deadline = std::chrono::milliseconds(parse(argc > 2 ? argv[2] : nullptr, 60));
  return weft::run([&] {
    int missing = 0;
    std::chrono::milliseconds slowest{};
    // The queries run concurrently too; each prints when it is done.
    weft::chan<std::pair<int, answer>> answers(queries);
    for (int q = 0; q < queries; ++q) {
      weft::go([=]() mutable { answers.send({q, search(q, deadline)}); });
    }
    for (int i = 0; i < queries; ++i) {
      auto [q, a] = *answers.recv();
      std::printf("query %2d: %lld ms, %zu of 3 kinds%s\n", q, static_cast<long long>(a.took.count()),
                  a.results.size(), a.missing ? " (deadline passed)" : "");
      for (const auto& r : a.results) std::printf("    %s\n", r.c_str());
      missing += a.missing;
      slowest = std::max(slowest, a.took);
    }
    std::printf("%d queries, deadline %lld ms: %d kinds missing, slowest query %lld ms\n", queries,
                static_cast<long long>(deadline.count()), missing, static_cast<long long>(slowest.count()));
    // The deadline bounds every query: anything much later is a bug.
    if (slowest > deadline + 200ms) {
      std::fprintf(stderr, "replicated_search: a query took %lld ms, past its %lld ms deadline\n",
                   static_cast<long long>(slowest.count()), static_cast<long long>(deadline.count()));
      return 1;
    }
    return 0;
  });
}
