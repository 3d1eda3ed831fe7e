// weft::stop_callback (issue 11, defect 9): its destructor waits for a
// callback that another goroutine runs, even one that last ran on the same
// thread (where std::stop_callback, which compares thread ids, does not),
// does not wait inside its own callback, and never runs the callback after
// it was destroyed.
#include <weft/stop_callback.hpp>
#include <weft/weft.hpp>

#include <gtest/gtest.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <stop_token>
#include <thread>

#include "weft_test_util.hpp"

namespace {

using namespace std::chrono_literals;

// At procs 1 the requester and the destroyer are goroutines of one thread:
// the callback parks inside (on a channel) and the destroyer must park
// until it has returned.
TEST(StopCallback, DestructorWaitsForACallbackParkedInAnotherGoroutine) {
  for (int procs : weft_test::all_procs()) {
    weft::run([] {
      std::stop_source src;
      weft::chan<int> gate;
      std::atomic<int> phase{0};
      auto body = [&] {
        phase = 1;
        gate.recv();
        weft::this_goroutine::sleep_for(2ms);
        phase = 2;
      };
      std::optional<weft::stop_callback<decltype(body)>> cb;
      cb.emplace(src.get_token(), body);
      weft::go([&src] { src.request_stop(); });
      while (phase.load() != 1) weft::this_goroutine::yield();
      weft::go([gate]() mutable {
        weft::this_goroutine::sleep_for(5ms);
        gate.send(0);
      });
      cb.reset();
      EXPECT_EQ(phase.load(), 2) << "the destructor returned while the callback was still running";
    }, weft_test::procs_opt(procs));
  }
}

TEST(StopCallback, DestroyedInsideItsOwnCallbackDoesNotWait) {
  weft_test::watchdog dog(20s, "a stop_callback destroyed inside its callback waited for itself");
  weft::run([] {
    std::stop_source src;
    struct holder {
      std::unique_ptr<weft::stop_callback<std::function<void()>>> cb;
    } h;
    bool ran = false;
    h.cb = std::make_unique<weft::stop_callback<std::function<void()>>>(src.get_token(), [&] {
      ran = true;
      h.cb.reset();
    });
    src.request_stop();
    EXPECT_TRUE(ran);
    EXPECT_EQ(h.cb, nullptr);
  }, weft_test::procs_opt(1));
}

TEST(StopCallback, RunsAtOnceWhenStopWasAlreadyRequestedAndNeverAfterDestruction) {
  weft::run([] {
    std::stop_source src;
    src.request_stop();
    int runs = 0;
    {
      weft::stop_callback cb(src.get_token(), [&] { ++runs; });
      EXPECT_EQ(runs, 1);
    }
    std::stop_source later;
    {
      weft::stop_callback cb(later.get_token(), [&] { ++runs; });
    }
    later.request_stop();
    EXPECT_EQ(runs, 1);
  }, weft_test::procs_opt(1));
}

// libstdc++ records the requesting thread when request_stop begins and
// tests it again in the destructor; a callback that parks must not let the
// requesting goroutine resume on another thread (then a destructor on the
// recorded thread would skip its wait and free the callback's record under
// libstdc++'s last writes). So request_stop ends on the thread it began on,
// however its callbacks parked.
// The kernel's id of the calling thread. Not std::this_thread::get_id():
// pthread_self is declared const, so the compiler may read it once for a
// whole function, across a park that moves the goroutine.
pid_t os_thread_id() { return static_cast<pid_t>(syscall(SYS_gettid)); }

TEST(StopCallback, ARequestWhoseCallbacksParkEndsOnTheThreadItBeganOn) {
  weft::run([] {
    int moved = 0;
    int moved_inside = 0;
    for (int i = 0; i < 20; ++i) {
      std::stop_source src;
      weft::chan<int> gate;
      weft::wait_group wg;
      wg.add(2);
      // The callback parks until a goroutine sends, while another that never
      // yields holds a thread: the sender (and the requester it readies)
      // usually runs on the other one, where an unwired requester resumes.
      auto parks = [gate, &wg, &moved_inside]() mutable {
        auto entered = os_thread_id();
        weft::go([gate, &wg]() mutable {
          gate.send(0);
          wg.done();
        });
        weft::go([] {
          auto until = std::chrono::steady_clock::now() + 2ms;
          while (std::chrono::steady_clock::now() < until) {
          }
        });
        gate.recv();
        if (os_thread_id() != entered) ++moved_inside;
      };
      weft::stop_callback cb(src.get_token(), parks);
      weft::go([&] {
        auto began = os_thread_id();
        src.request_stop();
        if (os_thread_id() != began) ++moved;
        wg.done();
      });
      wg.wait();
    }
    EXPECT_EQ(moved_inside, 0) << "a callback resumed on another thread than it parked on";
    EXPECT_EQ(moved, 0) << "request_stop ended on another thread than it began on";
  }, weft_test::procs_opt(2));
}

// A plain thread requests stop; the callback parks... a plain thread cannot
// park, so it sleeps; the goroutine that destroys the callback waits.
TEST(StopCallback, DestructorWaitsForACallbackOnAPlainThread) {
  weft::run([] {
    std::stop_source src;
    std::atomic<int> phase{0};
    auto body = [&] {
      phase = 1;
      std::this_thread::sleep_for(20ms);
      phase = 2;
    };
    std::optional<weft::stop_callback<decltype(body)>> cb;
    cb.emplace(src.get_token(), body);
    std::thread t([&] { src.request_stop(); });
    while (phase.load() != 1) weft::this_goroutine::sleep_for(100us);
    cb.reset();
    EXPECT_EQ(phase.load(), 2);
    t.join();
  }, weft_test::procs_opt(2));
}

}  // namespace
