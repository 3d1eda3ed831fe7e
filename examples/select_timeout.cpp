// examples/select_timeout.cpp: select as Go programs use it: a reply or a
// timeout, a send that must not block, merging channels until all are
// closed (nil channels switch cases off; the dynamic form takes a list built
// at run time), and a stop token that ends a service. docs/select.md walks
// through it.
//
//   select_timeout
//
// Prints what each step decided; exits 1 if something came out otherwise
// than it must.

#include <weft/weft.hpp>

#include <chrono>
#include <cstdio>
#include <optional>
#include <string>
#include <vector>

namespace {

using namespace std::chrono_literals;
using ms = std::chrono::milliseconds;

// A request carries its own reply channel, as in Go.
struct request {
  std::string text;
  ms delay;                        // how long the service takes to answer it
  weft::chan<std::string> reply;   // capacity 1: answering never blocks
};

// Answers each request after its delay, in a goroutine of its own, until
// `requests` is closed. A stop request cuts the answers still sleeping short.
void service(std::stop_token stop, weft::chan<request> requests) {
  weft::scope answering;  // joined before service returns
  for (request r : requests) {
    answering.go([stop](request q) {
      if (!weft::this_goroutine::sleep_for(q.delay, stop)) return;  // stopped: no answer
      q.reply.send("re: " + q.text);  // never blocks, even if the asker gave up
    }, std::move(r));
  }
}

// Go: select { case a := <-reply: ...; case <-time.After(timeout): ... }
std::optional<std::string> ask(weft::chan<request> requests, std::string text, ms delay, ms timeout) {
  weft::chan<std::string> reply(1);
  requests.send(request{std::move(text), delay, reply});
  auto expired = weft::after(timeout);
  std::optional<std::string> answer;
  weft::select(weft::on_recv(reply, [&](std::optional<std::string> a) { answer = std::move(a); }),
               weft::on_recv(expired, [] {}));
  return answer;  // nullopt: timed out
}

// Sends 1..n on out, then closes it.
void count_to(weft::chan<int> out, int from, int to, int step) {
  for (int i = from; i <= to; i += step) out.send(i);
  out.close();
}

}  // namespace

int main() {
  return weft::run([] {
    bool ok = true;
    auto t0 = std::chrono::steady_clock::now();

    // 1. A reply or a timeout.
    weft::scope services;
    weft::chan<request> requests;
    services.go(service, requests);
    auto fast = ask(requests, "ping", 5ms, 2000ms);
    std::printf("ask \"ping\" (answered in 5 ms, wait up to 2000 ms): %s\n", fast ? fast->c_str() : "timed out");
    auto slow = ask(requests, "slow", 5000ms, 50ms);
    std::printf("ask \"slow\" (answered in 5000 ms, wait up to 50 ms): %s\n", slow ? slow->c_str() : "timed out");
    ok = ok && fast == "re: ping" && !slow;

    // 2. A send that must not block: on_default makes select non-blocking.
    weft::chan<int> queue(2);
    int queued = 0, dropped = 0;
    for (int i = 1; i <= 5; ++i) {
      weft::select(weft::on_send(queue, i, [&] { ++queued; }), weft::on_default([&] { ++dropped; }));
    }
    std::printf("5 non-blocking sends into a queue of 2: %d queued, %d dropped\n", queued, dropped);
    ok = ok && queued == 2 && dropped == 3;

    // 3. Merging two channels until both are closed. A closed channel's
    // case would be ready forever; setting the handle to nil turns it off.
    weft::chan<int> odds(4), evens(4);
    weft::go(count_to, odds, 1, 99, 2);
    weft::go(count_to, evens, 2, 100, 2);
    long sum = 0;
    int n_odd = 0, n_even = 0;
    while (odds != nullptr || evens != nullptr) {
      weft::select(weft::on_recv(odds, [&](std::optional<int> v) {
                     if (!v) { odds = nullptr; return; }
                     sum += *v;
                     ++n_odd;
                   }),
                   weft::on_recv(evens, [&](std::optional<int> v) {
                     if (!v) { evens = nullptr; return; }
                     sum += *v;
                     ++n_even;
                   }));
    }
    std::printf("merged two producers: %d odd and %d even numbers, sum %ld\n", n_odd, n_even, sum);
    ok = ok && sum == 5050 && n_odd == 50 && n_even == 50;

    // 4. The same over a list of channels only known at run time (Go's
    // reflect.Select): a closed channel's case leaves the list.
    std::vector<weft::chan<int>> producers;
    for (int k = 0; k < 5; ++k) {
      producers.emplace_back(0);
      weft::go(count_to, producers.back(), 1 + 20 * k, 20 * (k + 1), 1);
    }
    sum = 0;
    bool closed = false;
    std::vector<weft::select_case> cases;
    for (auto& p : producers) {
      cases.emplace_back(weft::on_recv(p, [&](std::optional<int> v) {
        if (v) sum += *v; else closed = true;
      }));
    }
    while (!cases.empty()) {
      std::size_t i = weft::select(cases);
      if (closed) cases.erase(cases.begin() + static_cast<std::ptrdiff_t>(i));
      closed = false;
    }
    std::printf("merged %zu producers through the dynamic form: sum %ld\n", producers.size(), sum);
    ok = ok && sum == 5050;

    // 5. Shutting the service down: its goroutine ends when the request
    // channel is closed; the stop request wakes the answer still asleep
    // (the "slow" one, due in 5 s) at once, and wait() joins them all.
    requests.close();
    services.request_stop();
    services.wait();
    auto took = std::chrono::steady_clock::now() - t0;
    std::printf("service shut down without waiting for the slow answer: %s\n", took < 3s ? "yes" : "no");
    ok = ok && took < 3s;
    return ok ? 0 : 1;
  });
}
