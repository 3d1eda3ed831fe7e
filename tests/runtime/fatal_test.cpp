// The ways a weft program ends badly: a panic, a deadlock, a stack overflow,
// SIGQUIT. Each must say what happened and exit with status 2.
#include <gtest/gtest.h>

#include <signal.h>
#include <unistd.h>

#include <sstream>
#include <stdexcept>
#include <thread>

#include "weft_test_util.hpp"
#include <weft/weft.hpp>

namespace {

using namespace std::chrono_literals;

class Fatal : public ::testing::Test {
 protected:
  void SetUp() override { GTEST_FLAG_SET(death_test_style, "threadsafe"); }
};

[[gnu::noinline]] void throw_from_here(int x) {
  if (x > 0) throw std::runtime_error("the widget broke");
}

TEST_F(Fatal, ExceptionEscapingAGoroutineIsAPanic) {
  EXPECT_EXIT(
      weft::run([] {
        weft::go(weft::go_options{.name = "worker"}, [] { throw_from_here(1); });
        weft::this_goroutine::sleep_for(5s);
      }, weft::options{.procs = 2}),
      ::testing::ExitedWithCode(2),
      "panic: the widget broke \\[std::runtime_error\\].*goroutine 2 \"worker\".*throw_from_here.*created by");
}

TEST_F(Fatal, PanicInMainGoroutine) {
  EXPECT_EXIT(weft::run([] { throw std::logic_error("bad main"); }, weft::options{.procs = 1}),
              ::testing::ExitedWithCode(2), "panic: bad main.*goroutine 1 \"main\"");
}

TEST_F(Fatal, NegativeWaitGroupInAGoroutineIsAPanic) {
  EXPECT_EXIT(
      weft::run([] {
        weft::wait_group wg;
        wg.done();
      }, weft::options{.procs = 1}),
      ::testing::ExitedWithCode(2), "panic: sync: negative wait_group counter");
}

TEST_F(Fatal, AllGoroutinesAsleepIsADeadlock) {
  EXPECT_EXIT(
      weft::run([] {
        weft::chan<int> c;
        weft::go(weft::go_options{.name = "stuck-sender"}, [c]() mutable {
          weft::chan<int> other;
          other.recv();
        });
        c.recv();
      }, weft::options{.procs = 2}),
      ::testing::ExitedWithCode(2),
      // Both goroutines, in either order: the dump's order is not specified.
      "fatal error: all goroutines are asleep - deadlock!"
      "(.*goroutine 1 \"main\" \\[chan receive.*stuck-sender\" \\[chan receive"
      "|.*stuck-sender\" \\[chan receive.*goroutine 1 \"main\" \\[chan receive)");
}

TEST_F(Fatal, WaitingOnAWaitGroupForeverIsADeadlock) {
  EXPECT_EXIT(
      weft::run([] {
        weft::wait_group wg;
        wg.add(1);
        wg.wait();
      }, weft::options{.procs = 1}),
      ::testing::ExitedWithCode(2), "all goroutines are asleep - deadlock!.*wait_group.wait");
}

[[gnu::noinline]] int recurse(int depth) {
  volatile char pad[1024];
  pad[0] = static_cast<char>(depth);
  return depth == 0 ? pad[0] : recurse(depth - 1) + pad[0];
}

TEST_F(Fatal, StackOverflowNamesTheGoroutineAndTheSize) {
  if (weft_test::sanitized) GTEST_SKIP() << "ASan/TSan report stack overflow themselves";
  EXPECT_EXIT(
      weft::run([] {
        weft::wait_group wg;
        wg.add(1);
        weft::go(weft::go_options{.stack_size = 64 * 1024, .name = "deep"}, [&] {
          recurse(1000);
          wg.done();
        });
        wg.wait();
      }, weft::options{.procs = 1}),
      ::testing::ExitedWithCode(2),
      "goroutine 2 \"deep\" overflowed its 65536-byte stack.*stack_size = .*recurse");
}

TEST_F(Fatal, SigquitDumpsEveryGoroutineAndExits) {
  EXPECT_EXIT(
      weft::run([] {
        weft::chan<int> c;
        for (int i = 0; i < 3; ++i) weft::go(weft::go_options{.name = "parked"}, [c]() mutable { c.recv(); });
        weft::this_goroutine::sleep_for(20ms);
        kill(getpid(), SIGQUIT);
        weft::this_goroutine::sleep_for(5s);
      }, weft::options{.procs = 2}),
      ::testing::ExitedWithCode(2), "SIGQUIT: quit.*\"parked\" \\[chan receive.*created by");
}

// sysmon makes the dump; in a program whose every P has been idle a while
// it sleeps deeply (up to 1 s), and the signal must still wake it. The
// signal comes from a plain thread, as `kill -QUIT` from outside would.
TEST_F(Fatal, SigquitDumpsAProgramWhoseEveryGoroutineSleeps) {
  EXPECT_EXIT(
      weft::run([] {
        std::thread([] {
          std::this_thread::sleep_for(300ms);  // sysmon deep asleep by now
          kill(getpid(), SIGQUIT);
        }).detach();
        weft::this_goroutine::sleep_for(10s);
      }, weft::options{.procs = 2}),
      ::testing::ExitedWithCode(2), "SIGQUIT: quit.*\"main\" \\[sleep");
}

// After weft::run has returned there is no sysmon and no goroutine: the
// handler says so itself and exits 2, as inside a run.
TEST_F(Fatal, SigquitAfterTheRunExitsTwo) {
  EXPECT_EXIT(
      {
        weft::run([] {});
        kill(getpid(), SIGQUIT);
        std::this_thread::sleep_for(5s);
      },
      ::testing::ExitedWithCode(2), "SIGQUIT: quit");
}

[[gnu::noinline]] void park_here_marker(weft::chan<int> c) { c.recv(); }

TEST(Dump, ShowsEveryGoroutineWithStateTraceAndCreator) {
  std::string text;
  weft::run([&] {
    weft::chan<int> c;
    weft::wait_group wg;
    wg.add(1);
    weft::go(weft::go_options{.name = "waiter"}, [c, &wg]() mutable {
      park_here_marker(c);
      wg.done();
    });
    weft::this_goroutine::sleep_for(10ms);
    std::ostringstream out;
    weft::dump_goroutines(out);
    text = out.str();
    c.send(1);
    wg.wait();
  }, weft::options{.procs = 2});
  EXPECT_NE(text.find("goroutine 1 \"main\" [running]"), std::string::npos) << text;
  EXPECT_NE(text.find("\"waiter\" [chan receive"), std::string::npos) << text;
  EXPECT_NE(text.find("park_here_marker"), std::string::npos) << text;
  EXPECT_NE(text.find("created by"), std::string::npos) << text;
  EXPECT_NE(text.find("fatal_test.cpp"), std::string::npos) << text;
}

}  // namespace
