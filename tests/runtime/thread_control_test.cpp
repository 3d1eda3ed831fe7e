// Thread controls (weft/thread.hpp): lock_os_thread, dedicate_os_thread and
// thread_locker. What they promise, checked with gettid() at every step:
// a goroutine under a control runs only on its thread, no other goroutine
// runs there, a dedicated goroutine's processor is not one of procs, and
// misuse is reported.
#include <sys/types.h>
#include <unistd.h>

#include <atomic>
#include <sstream>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "weft_test_util.hpp"
#include <weft/thread.hpp>

namespace {

using namespace std::chrono_literals;

long tid() { return static_cast<long>(gettid()); }

struct goroutine_id_holder {
  weft::goroutine_id waiter = 0, holder = 0;
};

bool thread_exists(long t) { return access(("/proc/self/task/" + std::to_string(t)).c_str(), F_OK) == 0; }

// Waits up to 5 s for thread t of this process to end.
bool thread_ends(long t) {
  auto deadline = std::chrono::steady_clock::now() + 5s;
  while (thread_exists(t)) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    weft::this_goroutine::sleep_for(1ms);
  }
  return true;
}

// Ordinary goroutines that keep switching (channels, yields, sleeps) and
// count every step they take on a thread listed in `forbidden`.
struct bystanders {
  static constexpr int max_forbidden = 4;
  std::atomic<long> forbidden[max_forbidden] = {};
  std::atomic<bool> stop{false};
  std::atomic<long> steps{0};
  std::atomic<long> trespasses{0};
  weft::wait_group wg;

  void check() {
    long t = tid();
    for (auto& f : forbidden)
      if (f.load() == t) trespasses.fetch_add(1);
    steps.fetch_add(1);
  }
  void start(int n) {
    wg.add(n);
    for (int i = 0; i < n; i += 2) {
      weft::chan<int> a, b;
      weft::go([this, a, b]() mutable {
        for (int k = 0; !stop.load(); ++k) {
          check();
          a.send(k);
          b.recv();
          if (k % 16 == 0) weft::this_goroutine::sleep_for(50us);
        }
        a.close();
        wg.done();
      });
      weft::go([this, a, b]() mutable {
        while (auto v = a.recv()) {
          check();
          if (*v % 7 == 0) weft::this_goroutine::yield();
          b.send(*v);
        }
        wg.done();
      });
    }
  }
  void finish() {
    stop.store(true);
    wg.wait();
  }
};

class ThreadControl : public ::testing::TestWithParam<int> {};
std::string procs_name(const ::testing::TestParamInfo<int>& p) { return "procs" + std::to_string(p.param); }
INSTANTIATE_TEST_SUITE_P(Procs, ThreadControl, ::testing::ValuesIn(weft_test::all_procs()), procs_name);

// A locked goroutine parks on channels, sleeps, yields and makes blocking
// calls; it is on its thread at every step, and the bystanders never are.
TEST_P(ThreadControl, LockedGoroutineRunsOnlyOnItsThreadAndAlone) {
  const int steps = weft_test::scaled(3000);
  long moved = -1, steps_taken = 0;
  bystanders others;
  weft::run(
      [&] {
        others.start(8);
        weft::chan<int> ping, pong;
        weft::go([ping, pong]() mutable {  // own handles: main may return first
          for (int i = 0; i < steps; ++i) pong.send(*ping.recv());
        });
        weft::chan<int> done;
        weft::go([&] {
          weft::lock_os_thread();
          weft::lock_os_thread();  // nested: two unlocks to undo
          long t = tid();
          others.forbidden[0].store(t);
          moved = 0;
          for (int i = 0; i < steps; ++i) {
            ping.send(i);
            EXPECT_EQ(*pong.recv(), i);
            if (i % 50 == 0) weft::this_goroutine::sleep_for(100us);
            if (i % 10 == 0) weft::this_goroutine::yield();
            if (i % 100 == 0) weft::blocking([] { std::this_thread::sleep_for(30us); });
            if (tid() != t) ++moved;
            if (i == steps / 2) weft::unlock_os_thread();  // still locked once
            ++steps_taken;
          }
          others.forbidden[0].store(0);
          weft::unlock_os_thread();
          done.send(1);
        });
        done.recv();
        others.finish();
        return 0;
      },
      weft_test::procs_opt(GetParam()));
  EXPECT_EQ(steps_taken, steps);
  EXPECT_EQ(moved, 0) << "the locked goroutine ran on another thread";
  EXPECT_EQ(others.trespasses.load(), 0) << "another goroutine ran on the locked thread";
  EXPECT_GT(others.steps.load(), 0);
}

TEST_P(ThreadControl, LockedGoroutineThatExitsTakesItsThread) {
  weft::run(
      [&] {
        // Keeps the goroutines below off weft::run's thread (which cannot end),
        // when main runs there; when it does not, rounds on that thread are
        // not counted.
        weft::lock_os_thread();
        int checked = 0;
        for (int round = 0; round < 50 && checked < 3; ++round) {
          weft::chan<long> thread;
          weft::go([&] {
            weft::lock_os_thread();
            weft::this_goroutine::sleep_for(1ms);
            thread.send(tid());
          });  // exits locked
          long t = *thread.recv();
          if (t == static_cast<long>(getpid())) continue;
          EXPECT_TRUE(thread_ends(t)) << "thread " << t << " of a goroutine that exited locked still runs";
          ++checked;
        }
        EXPECT_EQ(checked, 3);
        weft::unlock_os_thread();
        // The runtime goes on with its other threads.
        weft::wait_group wg;
        std::atomic<int> ran{0};
        wg.add(100);
        for (int i = 0; i < 100; ++i) weft::go([&] { ran.fetch_add(1); wg.done(); });
        wg.wait();
        EXPECT_EQ(ran.load(), 100);
        return 0;
      },
      weft_test::procs_opt(GetParam()));
}

TEST(ThreadControlMisc, UnlockOsThreadWithoutLockIsANoOp) {
  weft::run([] {
    EXPECT_NO_THROW(weft::unlock_os_thread());
    weft::lock_os_thread();
    long t = tid();
    weft::unlock_os_thread();
    EXPECT_NO_THROW(weft::unlock_os_thread());
    (void)t;
    return 0;
  });
}

// With procs = 1, a dedicated goroutine that never reaches a yield point
// still lets ordinary goroutines run: its processor is its own.
TEST_P(ThreadControl, DedicatedGoroutineDoesNotTakeOneOfTheProcs) {
  std::atomic<bool> others_ran{false};
  bool waited_ok = false;
  weft::run(
      [&] {
        weft::chan<int> started;
        weft::wait_group wg;
        wg.add(GetParam() + 2);  // the dedicated one, the busy ones, main
        weft::go([&] {
          weft::dedicate_os_thread();
          started.send(1);
          auto deadline = std::chrono::steady_clock::now() + 10s;
          while (!others_ran.load() && std::chrono::steady_clock::now() < deadline) {
          }  // no yield point: only another processor can run the others
          waited_ok = others_ran.load();
          weft::undedicate_os_thread();
          wg.done();
        });
        started.recv();
        // As many busy goroutines as there are procs, plus one that reports:
        // all of them need the procs processors; the dedicated one has its own.
        std::atomic<int> busy{0};
        for (int i = 0; i < GetParam(); ++i)
          weft::go([&] {
            busy.fetch_add(1);
            weft::this_goroutine::sleep_for(1ms);
            wg.done();
          });
        weft::this_goroutine::sleep_for(2ms);
        others_ran.store(true);
        wg.done();
        wg.wait();
        return 0;
      },
      weft_test::procs_opt(GetParam()));
  EXPECT_TRUE(waited_ok) << "ordinary goroutines could not run while the dedicated one spun";
}

TEST_P(ThreadControl, DedicatedGoroutineRunsOnlyOnItsThreadAndAlone) {
  const int steps = weft_test::scaled(3000);
  long moved = 0, t_before = 0, t_locked = 0;
  bystanders others;
  weft::run(
      [&] {
        others.start(8);
        weft::chan<int> req, rep;
        weft::go([req, rep]() mutable {  // own handles: main may return while it sees the close
          while (auto v = req.recv()) rep.send(*v + 1);
        });
        weft::chan<int> done;
        weft::go([&] {
          t_before = tid();
          weft::dedicate_os_thread();
          t_locked = tid();
          others.forbidden[0].store(t_locked);
          for (int i = 0; i < steps; ++i) {
            req.send(i);
            EXPECT_EQ(*rep.recv(), i + 1);
            if (i % 50 == 0) weft::this_goroutine::sleep_for(100us);
            if (i % 10 == 0) weft::this_goroutine::yield();
            if (i % 100 == 0) weft::blocking([] { std::this_thread::sleep_for(30us); });
            if (tid() != t_locked) ++moved;
          }
          others.forbidden[0].store(0);
          weft::undedicate_os_thread();
          req.close();
          done.send(1);
        });
        done.recv();
        others.finish();
        return 0;
      },
      weft_test::procs_opt(GetParam()));
  EXPECT_EQ(t_before, t_locked) << "dedicate_os_thread keeps the goroutine's current thread";
  EXPECT_EQ(moved, 0);
  EXPECT_EQ(others.trespasses.load(), 0);
}

TEST_P(ThreadControl, DedicateAndUndedicateRepeatedly) {
  const int rounds = weft_test::scaled(300);
  int bad = 0;
  weft::run(
      [&] {
        weft::wait_group wg;
        wg.add(3);
        for (int k = 0; k < 3; ++k)
          weft::go([&] {
            for (int i = 0; i < rounds; ++i) {
              weft::dedicate_os_thread();
              long t = tid();
              weft::this_goroutine::sleep_for(i % 3 == 0 ? 20us : 0us);
              weft::this_goroutine::yield();
              if (tid() != t) ++bad;
              weft::undedicate_os_thread();
            }
            wg.done();
          });
        wg.wait();
        return 0;
      },
      weft_test::procs_opt(GetParam()));
  EXPECT_EQ(bad, 0);
}

// Four goroutines on one thread_locker switch among themselves (a ring of
// channels) and talk to ordinary goroutines; each step checks the thread.
TEST_P(ThreadControl, ThreadLockerKeepsItsGoroutinesOnOneThreadAndOthersOff) {
  const int laps = weft_test::scaled(2000);
  constexpr int n = 4;
  std::atomic<long> off_thread{0}, bound_tid{0};
  long first_tid_before = 0, first_tid_after = 0, ended_tid = 0;
  bool ended = false;
  bystanders others;
  weft::run(
      [&] {
        weft::lock_os_thread();  // keeps the locker off weft::run's thread (which cannot end) if main is there
        weft::thread_locker tl;
        others.start(8);
        std::vector<weft::chan<int>> ring(n);
        weft::chan<int> outside_req, outside_rep;
        weft::go([outside_req, outside_rep]() mutable {  // own handles: main may return first
          while (auto v = outside_req.recv()) outside_rep.send(*v);
        });
        weft::wait_group wg;
        weft::chan<int> bound;
        wg.add(n);
        for (int k = 0; k < n; ++k)
          weft::go([&, k] {
            if (k == 0) {
              first_tid_before = tid();
              tl.lock();  // binds tl to this thread
              first_tid_after = tl.thread_id();
              bound_tid.store(tl.thread_id());
              others.forbidden[0].store(tl.thread_id());
              for (int j = 1; j < n; ++j) bound.send(j);
            } else {
              bound.recv();
              tl.lock();  // moves onto tl's thread
            }
            for (int lap = 0; lap < laps; ++lap) {
              if (tid() != tl.thread_id()) off_thread.fetch_add(1);
              if (k == 0) ring[1].send(lap);
              int v = *ring[k].recv();
              if (k != 0) ring[(k + 1) % n].send(v);
              if (lap % 100 == k) {
                outside_req.send(lap);
                outside_rep.recv();
                weft::this_goroutine::sleep_for(50us);
              }
            }
            if (k == 0) others.forbidden[0].store(0);
            tl.unlock();
            wg.done();
          });
        wg.wait();
        outside_req.close();
        ended_tid = bound_tid.load();
        // weft::run's thread cannot end (ThreadLockerOnTheThreadOfRun covers it).
        ended = ended_tid == static_cast<long>(getpid()) || thread_ends(ended_tid);
        EXPECT_EQ(tl.thread_id(), 0);
        weft::unlock_os_thread();
        others.finish();
        return 0;
      },
      weft_test::procs_opt(GetParam()));
  EXPECT_EQ(first_tid_before, first_tid_after) << "the first lock binds the caller's current thread";
  EXPECT_EQ(off_thread.load(), 0) << "a goroutine holding the thread_locker ran elsewhere";
  EXPECT_EQ(others.trespasses.load(), 0) << "an ordinary goroutine ran on the locker's thread";
  EXPECT_TRUE(ended) << "the locker's thread " << ended_tid << " did not end after the last unlock";
}

// Goroutines keep locking and unlocking three lockers: threads are bound,
// ended and bound again under them.
TEST_P(ThreadControl, ThreadLockersLockedAndUnlockedRepeatedly) {
  const int rounds = weft_test::scaled(400);
  std::atomic<long> off_thread{0}, locks{0};
  weft::run(
      [&] {
        weft::thread_locker tls[3];
        weft::wait_group wg;
        constexpr int g = 6;
        wg.add(g);
        for (int k = 0; k < g; ++k)
          weft::go([&, k] {
            for (int i = 0; i < rounds; ++i) {
              weft::thread_locker& tl = tls[(i + k) % 3];
              tl.lock();
              locks.fetch_add(1);
              if (tid() != tl.thread_id()) off_thread.fetch_add(1);
              if (i % 4 == 0) weft::this_goroutine::yield();
              if (i % 8 == 0) weft::this_goroutine::sleep_for(10us);
              if (tid() != tl.thread_id()) off_thread.fetch_add(1);
              tl.unlock();
            }
            wg.done();
          });
        wg.wait();
        for (auto& tl : tls) EXPECT_EQ(tl.thread_id(), 0);
        return 0;
      },
      weft_test::procs_opt(GetParam()));
  EXPECT_EQ(locks.load(), 6L * rounds);
  EXPECT_EQ(off_thread.load(), 0);
}

// The thread that called weft::run can be a locker's thread; when the last
// goroutine leaves it becomes an ordinary scheduler thread again.
TEST_P(ThreadControl, ThreadLockerOnTheThreadOfRun) {
  long bound = 0, joined_on = 0;
  std::atomic<int> ran{0};
  // main usually starts on weft::run's thread, but another thread may steal
  // it first: run until it did.
  for (int attempt = 0; attempt < 50 && bound != static_cast<long>(getpid()); ++attempt) {
    ran.store(0);
    weft::run(
      [&] {
        weft::thread_locker tl;
        tl.lock();
        bound = tl.thread_id();
        weft::chan<int> done;
        weft::go([&] {
          tl.lock();
          joined_on = tid();
          tl.unlock();
          done.send(1);
        });
        done.recv();
        tl.unlock();
        weft::wait_group wg;
        wg.add(50);
        for (int i = 0; i < 50; ++i) weft::go([&] { ++ran; wg.done(); });
        wg.wait();
        return 0;
      },
      weft_test::procs_opt(GetParam()));
  }
  ASSERT_EQ(bound, static_cast<long>(getpid())) << "main never started on weft::run's thread in 50 runs";
  EXPECT_EQ(joined_on, bound);
  EXPECT_EQ(ran.load(), 50);
}

// The risk of a shared thread made visible: the dump says who holds the
// locker's thread, in which call, and who waits for it.
TEST(ThreadControlDump, ShowsWhoHoldsALockedThreadAndWhoWaits) {
  std::string dump;
  goroutine_id_holder ids;
  int call_line = 0;
  std::atomic<bool> dumped{false};
  weft::run(
      [&] {
        weft::thread_locker tl;
        weft::chan<int> poke, in_call, done;
        weft::wait_group wg;
        wg.add(2);
        weft::go(weft::go_options{.name = "waiter"}, [&] {
          tl.lock();
          ids.waiter = weft::this_goroutine::get_id();
          in_call.send(0);
          poke.recv();  // readied while the holder blocks the thread
          tl.unlock();
          wg.done();
        });
        in_call.recv();
        weft::go(weft::go_options{.name = "holder"}, [&] {
          tl.lock();
          ids.holder = weft::this_goroutine::get_id();
          in_call.send(1);
          call_line = __LINE__ + 1;
          weft::blocking([&] {
            for (int i = 0; i < 10000 && !dumped.load(); ++i) std::this_thread::sleep_for(1ms);
          });
          tl.unlock();
          wg.done();
        });
        in_call.recv();
        poke.send(1);
        // Dump until it shows the holder in its call and the waiter readied
        // (a loaded machine may take a while to get there); the holder's
        // call lasts until then.
        for (auto deadline = std::chrono::steady_clock::now() + 10s;;) {
          weft::this_goroutine::sleep_for(10ms);
          std::ostringstream out;
          weft::dump_goroutines(out);
          dump = out.str();
          if ((dump.find("in a blocking call]") != std::string::npos &&
               dump.find("\"waiter\" [runnable]") != std::string::npos) ||
              std::chrono::steady_clock::now() > deadline)
            break;
        }
        dumped = true;
        wg.wait();
        return 0;
      },
      weft_test::procs_opt(2));
  EXPECT_NE(dump.find("\"holder\" [running, in a blocking call]"), std::string::npos) << dump;
  EXPECT_NE(dump.find("in weft::blocking called from"), std::string::npos) << dump;
  std::string site = "thread_control_test.cpp:" + std::to_string(call_line) + "\n";
  EXPECT_NE(dump.find(site), std::string::npos) << dump;
  std::string waits = "(thread_locker), held by goroutine " + std::to_string(ids.holder) + " in a blocking call from";
  EXPECT_NE(dump.find(waits), std::string::npos) << dump;
  EXPECT_NE(dump.find("\"waiter\" [runnable]"), std::string::npos) << dump;
}

TEST(ThreadControlMisuse, EachMisuseThrowsMisuseError) {
  weft::run([] {
    weft::thread_locker a, b;
    EXPECT_THROW(a.unlock(), weft::misuse_error);
    a.lock();
    EXPECT_THROW(a.lock(), weft::misuse_error);
    EXPECT_THROW(b.lock(), weft::misuse_error);
    EXPECT_THROW(b.unlock(), weft::misuse_error);
    EXPECT_THROW(weft::lock_os_thread(), weft::misuse_error);
    EXPECT_THROW(weft::dedicate_os_thread(), weft::misuse_error);
    EXPECT_THROW(weft::undedicate_os_thread(), weft::misuse_error);
    a.unlock();
    EXPECT_THROW(weft::undedicate_os_thread(), weft::misuse_error);
    weft::lock_os_thread();
    EXPECT_THROW(weft::dedicate_os_thread(), weft::misuse_error);
    EXPECT_THROW(a.lock(), weft::misuse_error);
    weft::unlock_os_thread();
    weft::dedicate_os_thread();
    EXPECT_THROW(weft::dedicate_os_thread(), weft::misuse_error);
    EXPECT_THROW(weft::lock_os_thread(), weft::misuse_error);
    EXPECT_THROW(a.lock(), weft::misuse_error);
    weft::undedicate_os_thread();
    // All of it undone: every control works again.
    a.lock();
    a.unlock();
    return 0;
  });
}

TEST(ThreadControlMisuse, OutsideAGoroutineThrows) {
  EXPECT_THROW(weft::lock_os_thread(), weft::misuse_error);
  EXPECT_THROW(weft::dedicate_os_thread(), weft::misuse_error);
  weft::thread_locker tl;
  EXPECT_THROW(tl.lock(), weft::misuse_error);
  EXPECT_EQ(tl.thread_id(), 0);
}

class ThreadControlDeath : public ::testing::Test {
 protected:
  void SetUp() override { GTEST_FLAG_SET(death_test_style, "threadsafe"); }
};

TEST_F(ThreadControlDeath, ExitWhileHoldingAThreadLockerEndsTheProgram) {
  EXPECT_DEATH(
      {
        weft::thread_locker tl;
        weft::run([&] {
          weft::chan<int> done;
          weft::go([&] {
            tl.lock();
            done.send(1);
          });  // exits holding tl
          done.recv();
          weft::this_goroutine::sleep_for(1s);
          return 0;
        });
      },
      "exited while holding a thread_locker");
}

}  // namespace
