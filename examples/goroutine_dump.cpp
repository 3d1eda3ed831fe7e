// goroutine_dump: what weft shows when you ask what every goroutine is doing.
//
// Starts a few named goroutines that wait in different ways (a channel
// receive, a mutex, a wait_group, a sleep), prints weft::dump_goroutines, then
// releases them all and checks that each one finished. The same dump goes to
// stderr on SIGQUIT (Ctrl-\), and with the deadlock and panic reports.
#include <weft/weft.hpp>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <iostream>
#include <mutex>

using namespace std::chrono_literals;

[[gnu::noinline]] void wait_for_order(weft::chan<int> orders, std::atomic<int>& done) {
  while (auto order = orders.recv()) done += *order;
}

int main() {
  return weft::run([] {
    weft::chan<int> orders;
    weft::mutex ledger;
    weft::wait_group release, finished;
    std::atomic<int> done{0};
    release.add(1);
    finished.add(4);

    weft::go(weft::go_options{.name = "order-taker"}, [&, orders] {
      wait_for_order(orders, done);
      finished.done();
    });
    ledger.lock();  // held by main: the bookkeeper waits for it
    weft::go(weft::go_options{.name = "bookkeeper"}, [&] {
      std::lock_guard lk(ledger);
      done += 10;
      finished.done();
    });
    weft::go(weft::go_options{.name = "shift-manager"}, [&] {
      release.wait();
      done += 100;
      finished.done();
    });
    weft::go(weft::go_options{.name = "napper"}, [&] {
      weft::this_goroutine::sleep_for(300ms);
      done += 1000;
      finished.done();
    });

    weft::this_goroutine::sleep_for(50ms);  // let them all get to where they wait
    std::printf("--- weft::dump_goroutines while four goroutines wait ---\n");
    weft::dump_goroutines(std::cout);
    std::cout.flush();

    orders.send(1);
    orders.close();
    ledger.unlock();
    release.done();
    finished.wait();
    std::printf("--- all four finished: %s (total %d, want 1111) ---\n", done == 1111 ? "ok" : "WRONG", done.load());
    return done == 1111 ? 0 : 1;
  }, weft::options{.procs = 2});
}
