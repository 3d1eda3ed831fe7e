// Non-blocking channel operations are yield points (issue 11, defect 4): a
// goroutine that loops on a select with a default, or on try_send and
// try_recv, never parks, so before this fix it kept the only P forever
// although sysmon had flagged it. Go's idiom
//   for { select { case <-done: return; default: } }
// must let the goroutine that closes `done` run.
#include <weft/weft.hpp>

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>

#include "weft_test_util.hpp"

namespace {

using namespace std::chrono_literals;

TEST(YieldPoint, SelectWithADefaultLetsOthersRunOnOneP) {
  weft_test::watchdog dog(20s, "a select-with-default loop starved the other goroutines");
  int spins = 0;
  weft::run([&] {
    weft::chan<int> done;
    weft::go([done]() mutable { done.close(); });
    for (bool over = false; !over; ++spins) {
      weft::select(weft::on_recv(done, [&] { over = true; }), weft::on_default());
    }
  }, weft_test::procs_opt(1));
  EXPECT_GT(spins, 0);
}

TEST(YieldPoint, SelectWithAReadyCaseLetsOthersRunOnOneP) {
  weft_test::watchdog dog(20s, "a loop of ready selects starved the other goroutines");
  weft::run([] {
    weft::chan<int> always(1);
    std::atomic<bool> other_ran{false};
    weft::go([&] { other_ran = true; });
    while (!other_ran) {
      weft::select(weft::on_send(always, 1));
      weft::select(weft::on_recv(always, [] {}));
    }
  }, weft_test::procs_opt(1));
}

TEST(YieldPoint, TryRecvAndTrySendLoopsLetOthersRunOnOneP) {
  weft_test::watchdog dog(20s, "a try_recv/try_send loop starved the other goroutines");
  weft::run([] {
    weft::chan<int> result(1);
    weft::go([result]() mutable { result.send(42); });
    std::optional<int> v;
    while (!(v = result.try_recv())) {
    }
    EXPECT_EQ(*v, 42);
    weft::chan<int> full(1);
    full.send(0);
    std::atomic<bool> drained{false};
    weft::go([&, full]() mutable {
      full.recv();
      drained = true;
    });
    while (!full.try_send(1)) {
    }
    weft::this_goroutine::yield();
    EXPECT_TRUE(drained.load());
  }, weft_test::procs_opt(1));
}

}  // namespace
