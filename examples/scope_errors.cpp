// examples/scope_errors.cpp: weft::scope, structured concurrency: the first
// failure stops the others and is rethrown, results come back without a
// lock, a scope that is never waited for still joins (and rethrows in its
// destructor), a counting_semaphore bounds how many run at once (Go's
// errgroup.SetLimit), request_stop ends a scope without an error, and a
// watcher gives a scope a deadline (context.WithTimeout).
// docs/scope.md walks through it.
//
//   scope_errors
//
// Prints what each scope did; exits 1 if something came out otherwise than
// it must.

#include <weft/weft.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

using namespace std::chrono_literals;

// A download that takes `latency` unless stopped first; page 3 does not exist.
std::string fetch(std::stop_token stop, int page, std::chrono::milliseconds latency) {
  if (page == 3) {
    weft::this_goroutine::sleep_for(10ms);
    throw std::runtime_error("page 3: not found");
  }
  if (!weft::this_goroutine::sleep_for(latency, stop))
    throw std::runtime_error("page " + std::to_string(page) + ": cancelled");
  return "<page " + std::to_string(page) + ">";
}

// Waits for s like s.wait(), but requests stop on it if it has not
// finished within d. A watcher goroutine waits for the deadline or the end,
// whichever comes first; its own scope joins it before wait_within returns.
void wait_within(weft::scope& s, std::chrono::nanoseconds d) {
  weft::chan<int> over;
  weft::scope watch;
  watch.go([&] {
    weft::timer deadline(d);
    weft::select(weft::on_recv(deadline.channel(), [&] { s.request_stop(); }), weft::on_recv(over, [] {}));
  });
  struct closer {
    weft::chan<int>& c;
    ~closer() { c.close(); }  // s is done (or threw): the watcher leaves
  } close_over{over};
  s.wait();
}

}  // namespace

int main() {
  return weft::run([] {
    bool ok = true;

    // 1. Six fetches; page 3 fails after 10 ms while the others would take
    // 5 s. Its exception requests stop on the scope: the others' sleeps end
    // at once and they throw "cancelled", which the scope drops (it keeps
    // the first). wait() joins all six and rethrows page 3's.
    {
      auto t0 = std::chrono::steady_clock::now();
      weft::scope s;
      for (int page = 1; page <= 6; ++page) s.go(fetch, page, std::chrono::milliseconds(5000));
      std::string error;
      try {
        s.wait();
      } catch (const std::runtime_error& e) {
        error = e.what();
      }
      bool quick = std::chrono::steady_clock::now() - t0 < 3s;
      std::printf("wait() rethrew \"%s\"; the five others were stopped, not waited for: %s\n", error.c_str(),
                  quick ? "yes" : "no");
      ok = ok && error == "page 3: not found" && quick;
    }

    // 2. Results without a lock: each goroutine writes its own slot, and
    // wait() returning means every write happened before it.
    {
      std::vector<std::string> pages(5);
      weft::scope s;
      for (int i = 0; i < 5; ++i) {
        s.go([&pages, i](std::stop_token st) {
          pages[std::size_t(i)] = fetch(st, i + 4, std::chrono::milliseconds(5 * i));
        });
      }
      s.wait();
      std::printf("fetched:");
      for (const auto& p : pages) std::printf(" %s", p.c_str());
      std::printf("\n");
      ok = ok && pages.front() == "<page 4>" && pages.back() == "<page 8>";
    }

    // 3. A scope that is not waited for: its destructor joins, then
    // rethrows the kept exception (it is noexcept(false)).
    std::string rethrown = "nothing";
    try {
      weft::scope s;
      s.go([] { throw std::invalid_argument("bad input"); });
      s.go([] { weft::this_goroutine::sleep_for(5ms); });
    } catch (const std::invalid_argument& e) {
      rethrown = e.what();
    }
    std::printf("never waited for: the destructor joined both and rethrew \"%s\"\n", rethrown.c_str());
    ok = ok && rethrown == "bad input";

    // 4. At most 3 at once: take a permit before starting each goroutine,
    // give it back when it ends (Go: g.SetLimit(3); g.Go(f)).
    {
      weft::counting_semaphore<> slots(3);
      std::atomic<int> running{0}, most{0};
      weft::scope s;
      for (int job = 0; job < 12; ++job) {
        slots.acquire();  // parks while 3 are running
        s.go([&] {
          int now = running.fetch_add(1) + 1;
          int seen = most.load();
          while (now > seen && !most.compare_exchange_weak(seen, now)) {
          }
          weft::this_goroutine::sleep_for(5ms);
          running.fetch_sub(1);
          slots.release();
        });
      }
      s.wait();
      std::printf("12 jobs with a limit of 3: never more than 3 at once: %s\n", most.load() <= 3 ? "yes" : "no");
      ok = ok && most.load() <= 3;
    }

    // 5. Stop without an error: a poller runs until the scope's owner has
    // had enough; wait() then returns normally.
    {
      std::atomic<int> polls{0};
      weft::scope s;
      s.go([&](std::stop_token st) {
        weft::ticker every(2ms);
        while (weft::select(weft::on_recv(every.channel(), [&] { ++polls; }), weft::on_stop(st, [] {})) == 0) {
        }
      });
      weft::this_goroutine::sleep_for(30ms);
      s.request_stop();
      s.wait();  // no exception: stopping is not failing
      std::printf("request_stop() ended the poller; wait() returned normally after it polled: %s\n",
                  polls.load() > 0 ? "yes" : "no");
      ok = ok && polls.load() > 0;
    }

    // 6. A deadline for a whole scope (Go: context.WithTimeout).
    {
      auto t0 = std::chrono::steady_clock::now();
      std::atomic<int> finished{0}, stopped{0};
      weft::scope s;
      for (auto latency : {20ms, 5000ms}) {
        s.go([&, latency](std::stop_token st) {
          if (weft::this_goroutine::sleep_for(latency, st)) ++finished; else ++stopped;
        });
      }
      wait_within(s, 100ms);
      bool on_time = std::chrono::steady_clock::now() - t0 < 3s;
      std::printf("with a 100 ms deadline: %d finished, %d stopped at the deadline; on time: %s\n",
                  finished.load(), stopped.load(), on_time ? "yes" : "no");
      ok = ok && finished.load() == 1 && stopped.load() == 1 && on_time;
    }
    return ok ? 0 : 1;
  });
}
