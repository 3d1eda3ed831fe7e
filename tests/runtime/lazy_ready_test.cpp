// A goroutine readied lazily (runtime.hpp, ready_me_lazily: a link's
// writer) runs after the goroutines already queued on the readier's P, and
// is never left behind: not by a P that runs out of work, not behind a pair
// that keeps readying each other, and not when nothing else is queued.
#include <gtest/gtest.h>

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

}  // namespace
