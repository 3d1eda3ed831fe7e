// A goroutine readied lazily (runtime.hpp, ready_me_lazily: a link's
// writer) runs after the goroutines already queued on the readier's P, and
// is never left behind: not by a P that runs out of work, not behind a pair
// that keeps readying each other, not when nothing else is queued, and not
// behind a goroutine that runs on without a switch while another P idles.
// The goroutine that next runs on its G is readied as any other.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>

#include <string>
#include <vector>

#include "runtime/runtime.hpp"
#include <weft/weft.hpp>

namespace {

TEST(LazyReady, RunsAfterTheGoroutinesQueuedBeforeIt) {
  std::vector<std::string> order;
  weft::run(
      [&] {
        weft::chan<int> doorbell(1);
        weft::wait_group done;
        done.add(1);
        weft::go([&, doorbell]() mutable {
          weft::detail::ready_me_lazily();
          doorbell.recv();
          order.push_back("lazy");
          done.done();
        });
        weft::this_goroutine::yield();  // it parks on the doorbell
        for (int i = 0; i < 4; ++i) {
          done.add(1);
          weft::go([&, i] {
            order.push_back("queued " + std::to_string(i));
            done.done();
          });
        }
        doorbell.send(1);  // readies it while four wait to run
        done.wait();
      },
      weft::options{.procs = 1});
  ASSERT_EQ(order.size(), 5u);
  EXPECT_EQ(order.back(), "lazy");
}

TEST(LazyReady, APairThatKeepsReadyingEachOtherDoesNotHoldItBack) {
  int rounds_before_it_ran = -1;
  weft::run(
      [&] {
        weft::chan<int> doorbell(1), ping, pong;
        weft::wait_group done;
        int rounds = 0;
        done.add(1);
        weft::go([&, doorbell]() mutable {
          weft::detail::ready_me_lazily();
          doorbell.recv();
          rounds_before_it_ran = rounds;
          done.done();
        });
        weft::this_goroutine::yield();
        done.add(2);
        weft::go([&, ping, pong]() mutable {
          for (int i = 0; i < 10000; ++i) {
            ping.send(i);
            pong.recv();
            ++rounds;
          }
          done.done();
        });
        weft::go([&, ping, pong]() mutable {
          for (int i = 0; i < 10000; ++i) pong.send(*ping.recv());
          done.done();
        });
        doorbell.send(1);  // the pair is queued: it is readied lazily
        done.wait();
      },
      weft::options{.procs = 1});
  EXPECT_GE(rounds_before_it_ran, 0);
  EXPECT_LT(rounds_before_it_ran, 100) << "it waited for the pair";
}

TEST(LazyReady, WithNothingElseQueuedItRunsAsAnyGoroutine) {
  for (int procs : {1, 2}) {
    bool ran = false;
    weft::run(
        [&] {
          weft::chan<int> doorbell(1), back;
          weft::go([&, doorbell, back]() mutable {
            weft::detail::ready_me_lazily();
            doorbell.recv();
            ran = true;
            back.send(1);
          });
          weft::this_goroutine::yield();
          doorbell.send(1);
          back.recv();  // the P runs out of work here: it must run
        },
        weft::options{.procs = procs});
    EXPECT_TRUE(ran) << "procs " << procs;
  }
}

// The goroutine ahead of it spins until the lazy one has run (as a loop
// waiting for an answer whose request a link's writer holds would). Its P
// never switches, and no other P can steal a lazily readied goroutine:
// sysmon must move it to where the idle P finds it.
TEST(LazyReady, AGoroutineThatRunsOnAheadOfItDoesNotHoldItBack) {
  std::atomic<bool> lazy_ran{false}, spinner_saw_it{false};
  weft::run(
      [&] {
        weft::chan<int> doorbell(1), occupied;
        weft::wait_group done;
        std::atomic<bool> release{false};
        auto until = [](const std::atomic<bool>& flag) {
          auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
          while (!flag.load() && std::chrono::steady_clock::now() < deadline) {
          }
          return flag.load();
        };
        done.add(3);
        weft::go([&, doorbell]() mutable {
          weft::detail::ready_me_lazily();
          doorbell.recv();
          lazy_ran = true;
          done.done();
        });
        weft::this_goroutine::yield();  // it parks on the doorbell
        // One P is kept busy, so that nothing steals the spinner queued
        // below and the doorbell readies the lazy one lazily; this
        // goroutine goes on on the other P. (It parks rather than spins
        // meanwhile: a goroutine that ran 10 ms is asked to yield at its
        // next channel operation, and the doorbell's is one.)
        weft::go([&, occupied]() mutable {
          occupied.send(1);
          until(release);
          done.done();
        });
        occupied.recv();
        weft::go([&] {
          spinner_saw_it = until(lazy_ran);
          done.done();
        });
        doorbell.send(1);  // the spinner is queued here: readied lazily
        release = true;    // the other P idles from now on
        done.wait();       // this P runs the spinner
      },
      weft::options{.procs = 2});
  EXPECT_TRUE(lazy_ran);
  EXPECT_TRUE(spinner_saw_it) << "the lazily readied goroutine waited behind a goroutine that ran on";
}

// Asking to be readied lazily lasts for the goroutine's life, not its G's:
// a G is recycled for later goroutines (gslab.cpp, g_reset), which must be
// readied as any other. A link's writer ends when its link closes.
TEST(LazyReady, AGoroutineThatAskedForItDoesNotPassItToTheNextOnItsG) {
  int inherited = 0;
  weft::run(
      [&] {
        for (int i = 0; i < 100; ++i) {
          weft::chan<int> ended;
          weft::go([ended]() mutable {
            weft::detail::ready_me_lazily();
            ended.send(1);
          });
          ended.recv();
          weft::this_goroutine::yield();  // its G goes back to the free list
          weft::chan<bool> lazily;
          weft::go([lazily]() mutable { lazily.send(weft::detail::this_g()->ready_lazily); });
          inherited += lazily.recv().value() ? 1 : 0;
        }
      },
      weft::options{.procs = 1});
  EXPECT_EQ(inherited, 0) << "of 100 goroutines started on a G whose last goroutine asked to be readied lazily";
}

}  // namespace
