// tests/runtime/blocking_test.cpp: weft::blocking and sysmon. A goroutine in
// a long blocking call must not take its processor away from the others
// (sysmon hands the P off), a short call keeps its P, values and exceptions
// pass through, the threads a storm of blocking calls needed go away when
// idle, and a goroutine that runs for long is flagged and yields at its next
// channel operation.
#include <weft/weft.hpp>
#include <weft/blocking.hpp>

#include <gtest/gtest.h>

#include <dirent.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <stdexcept>
#include <thread>
#include <vector>

#include "testing.hpp"
#include "weft_test_util.hpp"

namespace {

using namespace std::chrono_literals;
using clk = std::chrono::steady_clock;
using weft_test::procs_opt;

int os_threads() {
  int n = 0;
  if (DIR* d = opendir("/proc/self/task")) {
    while (dirent* e = readdir(d)) n += e->d_name[0] != '.';
    closedir(d);
  }
  return n;
}

TEST(Blocking, ReturnsTheValueAndRethrows) {
  weft::run([] {
    EXPECT_EQ(weft::blocking([] { return 42; }), 42);
    EXPECT_THROW(weft::blocking([]() -> int { throw std::runtime_error("boom"); }), std::runtime_error);
    int calls = 0;
    weft::blocking([&] { ++calls; });  // void works too
    EXPECT_EQ(calls, 1);
  }, procs_opt(1));
  EXPECT_EQ(weft::blocking([] { return 7; }), 7);  // a plain thread: just a call
}

// procs = 1: while one goroutine sleeps in the kernel for 200 ms, another
// must keep running. Without the hand-off it could not run at all.
TEST(Blocking, ALongCallDoesNotStallTheOtherGoroutines) {
  std::atomic<int> progress{0};
  std::atomic<bool> in_call{false}, call_done{false};
  int progress_during_call = 0;
  weft::run([&] {
    weft::wait_group wg;
    wg.add(2);
    weft::go([&] {
      weft::blocking([&] {
        in_call = true;
        std::this_thread::sleep_for(200ms);
      });
      call_done = true;
      wg.done();
    });
    weft::go([&] {
      while (!in_call) weft::this_goroutine::yield();
      while (!call_done) {
        progress.fetch_add(1);
        weft::this_goroutine::sleep_for(1ms);
      }
      wg.done();
    });
    // Count what happened while the call was in the kernel.
    while (!in_call) weft::this_goroutine::sleep_for(1ms);
    weft::this_goroutine::sleep_for(150ms);
    progress_during_call = progress.load();
    wg.wait();
  }, procs_opt(1));
  EXPECT_GT(progress_during_call, 20) << "the other goroutine barely ran during the blocking call";
}

// The only P's goroutine in a long blocking call while another waits for
// I/O: sysmon hands the P off, and some M must then wait in the poller,
// or the I/O waits for sysmon, which sleeps up to 1 s while every P is
// idle. (A weftd whose etcd calls hung answered its workers' pings a
// second late, and they died of it.)
TEST(Blocking, IoIsPolledWhileTheOnlyProcessorsGoroutineIsInACall) {
  std::atomic<bool> read_done{false};
  bool poller_seen = false, read_during_call = false;
  weft::run([&] {
    weft::net::listener ln = weft::net::listen("tcp", "127.0.0.1:0");
    weft::wait_group wg;
    wg.add(1);
    weft::go([&] {
      weft::net::conn c = ln.accept();
      std::byte b[1];
      c.read(b);  // parks in IO wait: the only goroutine the poller can ready
      read_done = true;
      wg.done();
    });
    weft::net::conn client = weft::net::dial("tcp", ln.address());
    weft::this_goroutine::sleep_for(20ms);  // the reader parks; this M leaves the poller
    weft::blocking([&] {
      const auto limit = clk::now() + 2s;
      while (!(poller_seen = weft::testing::an_m_waits_in_the_poller()) && clk::now() < limit)
        std::this_thread::sleep_for(1ms);
      client.write("x");  // one byte: never parks
      while (!read_done && clk::now() < limit) std::this_thread::sleep_for(1ms);
      read_during_call = read_done;
    });
    wg.wait();
  }, procs_opt(1));
  EXPECT_TRUE(poller_seen) << "no M waited in the poller while the only P's goroutine was in a blocking call";
  EXPECT_TRUE(read_during_call) << "the reader did not run while the call lasted";
}

// The scenario: procs = 2, 64 goroutines in 100 ms blocking calls,
// while a ping-pong pair keeps its round trips short.
TEST(Blocking, PingPongKeepsItsLatencyDuringABlockingStorm) {
  std::vector<std::int64_t> rtt_us;
  weft::run([&] {
    std::atomic<bool> stop{false};
    weft::wait_group storm;
    storm.add(64);
    for (int i = 0; i < 64; ++i) {
      weft::go([&] {
        weft::blocking([] { std::this_thread::sleep_for(100ms); });
        storm.done();
      });
    }
    weft::chan<int> ping, pong;
    weft::go([&] {
      for (auto v : ping) pong.send(v);
    });
    auto until = clk::now() + 300ms;
    while (clk::now() < until) {
      auto t0 = clk::now();
      ping.send(1);
      pong.recv();
      rtt_us.push_back(std::chrono::duration_cast<std::chrono::microseconds>(clk::now() - t0).count());
      weft::this_goroutine::sleep_for(200us);
    }
    ping.close();
    storm.wait();
    stop = true;
  }, procs_opt(2));
  ASSERT_GT(rtt_us.size(), 100u);
  std::sort(rtt_us.begin(), rtt_us.end());
  std::int64_t p99 = rtt_us[rtt_us.size() * 99 / 100];
  std::int64_t bound = weft_test::sanitized ? 50'000 : 5'000;
  EXPECT_LT(p99, bound) << "p99 round trip " << p99 << " us over " << rtt_us.size() << " round trips";
}

// Short calls keep their P: a tight loop of them on procs = 1 still runs on
// one thread, and costs little.
TEST(Blocking, ShortCallsKeepTheirProcessor) {
  weft::run([] {
    int before = weft::testing::m_count();
    long sum = 0;
    for (int i = 0; i < 100000; ++i) sum += weft::blocking([i] { return i % 3; });
    EXPECT_EQ(sum, 99999);
    EXPECT_LE(weft::testing::m_count(), before + 1);  // sysmon may have caught one mid-call
  }, procs_opt(1));
}

// A storm of concurrent blocking calls needs many threads; once the program
// is idle again they leave (all but procs of the idle ones), so nothing leaks.
TEST(Blocking, ThreadsOfAStormLeaveWhenIdle) {
  int peak = 0, after = 0;
  weft::run([&] {
    weft::wait_group wg;
    std::atomic<int> left{32};
    wg.add(32);
    for (int i = 0; i < 32; ++i) {
      weft::go([&] {
        weft::blocking([] { std::this_thread::sleep_for(300ms); });
        left.fetch_sub(1);
        wg.done();
      });
    }
    while (left.load() > 0) {  // the most threads seen while the calls last
      peak = std::max(peak, os_threads());
      weft::this_goroutine::sleep_for(5ms);
    }
    wg.wait();
    // Idle Ms leave after 2 s idle; give them a little more.
    auto deadline = clk::now() + 6s;
    do {
      weft::this_goroutine::sleep_for(100ms);
      after = os_threads();
    } while (after > peak / 2 && clk::now() < deadline);
  }, procs_opt(2));
  EXPECT_GT(peak, weft_test::sanitized ? 8 : 16) << "the calls did not get threads of their own";
  EXPECT_LT(after, peak / 2) << "threads of the storm stayed: peak " << peak << ", after " << after;
}

// A goroutine that sends on a buffered channel in a loop without ever
// blocking is flagged after 10 ms and yields at its next send, so another
// goroutine on the same (only) P gets to run.
TEST(Blocking, ALongRunnerYieldsAtItsNextChannelOperation) {
  std::atomic<bool> other_ran{false};
  bool ran_while_looping = false;
  weft::run([&] {
    weft::chan<int> sink(1);
    weft::go([&] { other_ran = true; });
    auto until = clk::now() + 2s;
    while (!other_ran && clk::now() < until) {
      sink.send(1);  // never blocks: the buffer is emptied right away
      sink.recv();
    }
    ran_while_looping = other_ran.load();
  }, procs_opt(1));
  EXPECT_TRUE(ran_while_looping) << "the long runner never yielded";
}

// Issue 11, defect 2: a blocking call inside another is part of the outer
// one. Each nesting used to lose the P: procs 1 hung at once, procs 2 in a
// loop. The inner calls last long enough for sysmon to hand the P off
// during them, and the program needs every P afterwards.
TEST(Blocking, NestedCallsDoNotLoseTheProcessor) {
  for (int procs : {1, 2}) {
    weft_test::watchdog dog(20s, "nested weft::blocking calls hung (a P was lost)");
    std::atomic<int> sum{0};
    weft::run([&] {
      const int n = weft_test::scaled(200);
      weft::wait_group wg;
      wg.add(n);
      for (int i = 0; i < n; ++i) {
        weft::go([&, i] {
          int v = weft::blocking([i] {
            return weft::blocking([i] {
              if (i % 4 == 0) std::this_thread::sleep_for(2ms);  // long enough for a hand-off
              return 1;
            });
          });
          sum += v;
          wg.done();
        });
      }
      wg.wait();
      // Every P is still there: procs goroutines spinning at once all finish.
      std::atomic<int> spinning{0};
      weft::wait_group all;
      all.add(procs);
      for (int i = 0; i < procs; ++i) {
        weft::go([&] {
          spinning++;
          while (spinning.load() < procs) weft::this_goroutine::yield();
          all.done();
        });
      }
      all.wait();
    }, procs_opt(procs));
    EXPECT_EQ(sum.load(), weft_test::scaled(200)) << "procs " << procs;
  }
}

// Issue 11, defect 8: parking inside weft::blocking hung silently. Each
// parking primitive now throws a std::logic_error that says what to do, and
// the runtime goes on working.
TEST(Blocking, ParkingInsideACallIsMisuse) {
  weft_test::watchdog dog(20s, "parking inside weft::blocking hung");
  weft::run([] {
    weft::chan<int> unbuffered;
    weft::mutex mu;
    weft::wait_group wg;
    weft::condition_variable cv;
    weft::counting_semaphore<4> sem(0);
    auto expect_misuse = [](auto f, const char* what) {
      try {
        weft::blocking(f);
        ADD_FAILURE() << what << " inside weft::blocking did not throw";
      } catch (const std::logic_error& e) {
        EXPECT_NE(std::string(e.what()).find("inside weft::blocking"), std::string::npos) << e.what();
      }
    };
    expect_misuse([&] { unbuffered.send(1); }, "send");
    expect_misuse([&] { unbuffered.recv(); }, "recv");
    expect_misuse([&] { weft::select(weft::on_recv(unbuffered, [] {})); }, "select");
    expect_misuse([] { weft::this_goroutine::sleep_for(1ms); }, "sleep_for");
    expect_misuse([] { weft::this_goroutine::yield(); }, "yield");
    mu.lock();
    weft::go([&] {
      weft::this_goroutine::sleep_for(50ms);
      mu.unlock();
    });
    expect_misuse([&] { mu.lock(); }, "mutex.lock");
    wg.add(1);
    expect_misuse([&] { wg.wait(); }, "wait_group.wait");
    wg.done();
    expect_misuse([&] { sem.acquire(); }, "semaphore.acquire");
    weft::mutex cv_mu;
    expect_misuse([&] {
      std::unique_lock lk(cv_mu);
      cv.wait(lk);
    }, "condition_variable.wait");
    // What does not park is fine inside, and afterwards everything works.
    weft::chan<int> buffered(1);
    EXPECT_TRUE(weft::blocking([&] { return buffered.try_send(5); }));
    EXPECT_EQ(buffered.recv(), 5);
    weft::go([unbuffered]() mutable { unbuffered.send(9); });
    EXPECT_EQ(unbuffered.recv(), 9);
    weft::this_goroutine::sleep_for(60ms);
    std::lock_guard lk(mu);  // unlocked by the goroutine above
  }, procs_opt(1));
}

}  // namespace
