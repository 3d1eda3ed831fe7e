// tests/runtime/netpoll_test.cpp: the network poller
// (src/runtime/netpoll.cpp). A wait parks until the fd is ready (goroutines
// and plain threads, inside and outside weft::run); an edge before the wait
// returns at once; write waits on a full buffer; deadlines: past, 20 ms
// (never early), moved while waiting; evict wakes both modes with `closing`;
// 1000 fds each woken once; evict racing readiness and deadlines at procs
// 1..8; netpoll_break.
//
// Until the scheduler polls by itself, a poller goroutine or thread stands
// in for it (netpoll(0) in a loop); the tests stay valid once it does.
//
// Over 700 lines on purpose: every test here shares the socket pairs, the
// stand-in pollers and the waits below, and each is about one behaviour of
// the one poller; a second file would copy those helpers or move them to
// a header used by nothing else.
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <atomic>
#include <cstdio>
#include <cerrno>
#include <chrono>
#include <memory>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

#include "runtime/netpoll.hpp"
#include "platform/futex.hpp"
#include "runtime/runtime.hpp"
#include "testing.hpp"
#include "unsplit_burst.hpp"
#include "weft_test_util.hpp"
#include <weft/weft.hpp>

namespace {

using weft::detail::netpoll;
using weft::detail::netpoll_close;
using weft::detail::netpoll_evict;
using weft::detail::netpoll_open;
using weft::detail::netpoll_set_deadline;
using weft::detail::netpoll_wait;
using weft::detail::netpoll_waiters;
using weft::detail::poll_desc;
using weft::detail::poll_mode;
using weft::detail::poll_result;
using weft::detail::os::nanotime;
using weft_test::named;
using weft_test::procs_name;
using weft_test::procs_opt;
using weft_test::quartered;

using namespace std::chrono_literals;

constexpr std::int64_t ms = 1'000'000;
// How late a deadline may end a wait (a shared 2-core machine, sanitizers).
constexpr std::int64_t slack = weft_test::sanitized ? 400 * ms : 100 * ms;

struct sock_pair {
  int a = -1, b = -1;
  sock_pair() {
    int sv[2];
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) != 0) {
      ADD_FAILURE() << "socketpair: errno " << errno;
      return;
    }
    a = sv[0];
    b = sv[1];
  }
  ~sock_pair() {
    if (a >= 0) ::close(a);
    if (b >= 0) ::close(b);
  }
  sock_pair(const sock_pair&) = delete;
  sock_pair& operator=(const sock_pair&) = delete;
};

// Writes until the socket's buffer is full (EAGAIN even for one byte).
void fill(int fd) {
  static const char buf[65536] = {};
  for (std::size_t n = sizeof buf; n > 0;) {
    if (::write(fd, buf, n) < 0) n /= 2;
  }
}

// Reads until EAGAIN; returns the bytes read.
long drain(int fd) {
  char buf[4096];  // goroutine stacks are 64 KiB
  long total = 0;
  for (ssize_t n; (n = ::read(fd, buf, sizeof buf)) > 0;) total += n;
  return total;
}

void put_byte(int fd) {
  char c = 'x';
  (void)!::write(fd, &c, 1);
}

// Between polls, the poller goroutine yields and sleeps its thread instead
// of parking, so some M always runs while a test waits: until proc.cpp
// counts netpoll_waiters() in its deadlock check, a run whose goroutines are
// all parked (some on I/O) may be called a deadlock.
void pause_unparked() {
  if (weft::detail::this_g() != nullptr) weft::this_goroutine::yield();
  std::this_thread::sleep_for(20us);
}

// Stands in for the scheduler's netpoll(0) calls: a goroutine, so Gs are
// readied from a thread that holds a P.
struct go_poller {
  std::atomic<bool> stop{false};
  weft::wait_group wg;
  go_poller() {
    wg.add(1);
    weft::go(named("poller"), [this] {
      while (!stop.load()) {
        netpoll(0);
        pause_unparked();
      }
      wg.done();
    });
  }
  ~go_poller() {
    stop = true;
    wg.wait();
  }
};

// The same on a plain thread: Gs readied where no P is held.
struct thread_poller {
  std::atomic<bool> stop{false};
  std::thread t{[this] {
    while (!stop.load()) {
      netpoll(0);
      std::this_thread::sleep_for(50us);
    }
  }};
  ~thread_poller() {
    stop = true;
    t.join();
  }
};

// Waits until exactly n goroutines or threads wait in netpoll_wait (parked,
// or about to: their wakers wait for them to park).
bool wait_for_waiters(int n) {
  auto until = std::chrono::steady_clock::now() + 20s;
  while (netpoll_waiters() != n) {
    if (std::chrono::steady_clock::now() > until) return false;
    if (weft::detail::this_g() != nullptr) {
      weft::this_goroutine::sleep_for(1ms);
    } else {
      std::this_thread::sleep_for(1ms);
    }
  }
  return true;
}

class NetpollProcs : public ::testing::TestWithParam<int> {};

TEST_P(NetpollProcs, ReadWaitParksUntilThePeerWrites) {
  weft::run([] {
    go_poller poller;
    sock_pair sp;
    poll_desc* pd = netpoll_open(sp.a);
    EXPECT_TRUE(weft::detail::netpoll_active());
    poll_result got = poll_result::closing;
    weft::wait_group wg;
    wg.add(1);
    weft::go(named("np-reader"), [&] {
      got = netpoll_wait(pd, poll_mode::read);
      wg.done();
    });
    ASSERT_TRUE(wait_for_waiters(1));
    EXPECT_EQ(netpoll_waiters(), 1);
    put_byte(sp.b);
    wg.wait();
    EXPECT_EQ(got, poll_result::ready);
    EXPECT_EQ(drain(sp.a), 1);
    EXPECT_TRUE(wait_for_waiters(0));  // counted out just after the wake
    netpoll_evict(pd);
    netpoll_close(pd);
  }, procs_opt(GetParam()));
}

TEST_P(NetpollProcs, ReadiedFromAThreadWithoutAP) {
  weft::run([] {
    thread_poller poller;
    sock_pair sp;
    poll_desc* pd = netpoll_open(sp.a);
    std::atomic<poll_result> got{poll_result::closing};
    weft::wait_group wg;
    wg.add(1);
    weft::go(named("np-reader"), [&] {
      got = netpoll_wait(pd, poll_mode::read);
      wg.done();
    });
    // No goroutine poller here, so wait without parking (see pause_unparked).
    while (netpoll_waiters() < 1) pause_unparked();
    put_byte(sp.b);
    while (got != poll_result::ready) pause_unparked();
    wg.wait();
    netpoll_evict(pd);
    netpoll_close(pd);
  }, procs_opt(GetParam()));
}

// The idle M that waits in the poller runs the goroutine it readies itself
// (proc.cpp, poll_for_self): a byte from outside, answered by a goroutine,
// costs no thread wake-up beyond the poller's own. Before, each readiness
// also started a second M, which found nothing and slept again.
TEST(Netpoll, ThePollingMRunsWhatItReadiesWithoutWakingAnother) {
  constexpr int warmup = 50, rounds = 500;
  std::uint64_t woken = 0;
  weft::run(
      [&] {
        sock_pair sp;
        poll_desc* pd = netpoll_open(sp.a);
        weft::wait_group wg;
        wg.add(1);
        weft::go(named("np-echo"), [&] {
          for (int i = 0; i < warmup + rounds; ++i) {
            while (drain(sp.a) == 0) ASSERT_EQ(netpoll_wait(pd, poll_mode::read), poll_result::ready);
            put_byte(sp.a);
          }
          wg.done();
        });
        // A plain thread on the other end, so that nothing but the poller
        // readies the echo goroutine.
        std::thread peer([&] {
          std::uint64_t before = 0;
          for (int i = 0; i < warmup + rounds; ++i) {
            if (i == warmup) before = weft::testing::m_wakeups();
            put_byte(sp.b);
            while (drain(sp.b) == 0) std::this_thread::yield();
          }
          woken = weft::testing::m_wakeups() - before;
        });
        wg.wait();
        peer.join();
        netpoll_evict(pd);
        netpoll_close(pd);
      },
      procs_opt(2));
  EXPECT_LT(woken, static_cast<std::uint64_t>(rounds / 10))
      << "Ms woken for " << rounds << " readinesses the polling M could run itself";
}

// Several readers that declare they park soon (parks_soon_scope, as the
// runtime's connection readers do) readied by one poll: the polling M runs
// them in turn and wakes no other M for them (proc.cpp, wake_for_polled).
// Before, every poll that readied two or more woke a second M, which ran
// one short reader and slept again: remote_counter's server spent a
// quarter more CPU at procs 2 than at procs 1 on that. One that runs on
// instead must not hold the others back: sysmon finds them (the second
// part, where a reader spins until the others have answered).
TEST(Netpoll, ReadersThatParkSoonReadiedByOnePollWakeNoM) {
  constexpr int readers = 4, warmup = 20, rounds = 200;
  std::uint64_t woken = 0, skipped = 0;
  std::int64_t held_ms = -1;
  weft_test::one_cpu_scope one_cpu;  // see unsplit_burst.hpp
  weft::run(
      [&] {
        std::vector<std::unique_ptr<sock_pair>> sps;
        std::vector<poll_desc*> pds;
        for (int r = 0; r < readers; ++r) {
          sps.push_back(std::make_unique<sock_pair>());
          pds.push_back(netpoll_open(sps.back()->a));
        }
        std::atomic<int> answered{0};
        std::atomic<bool> spin_once{false};
        weft::wait_group wg;
        wg.add(readers);
        for (int r = 0; r < readers; ++r) {
          weft::go(named("np-reader"), [&, r] {
            weft::testing::parks_soon_scope reader_like;
            for (int i = 0; i < warmup + rounds + 1; ++i) {
              while (drain(sps[r]->a) == 0) ASSERT_EQ(netpoll_wait(pds[r], poll_mode::read), poll_result::ready);
              answered.fetch_add(1);
              // The last round: reader 0 runs on until the others answered.
              if (r == 0 && spin_once.load()) {
                auto start = std::chrono::steady_clock::now();
                while (answered.load() < readers * (warmup + rounds + 1) &&
                       std::chrono::steady_clock::now() - start < std::chrono::seconds(5)) {
                }
                held_ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() -
                                                                                  start)
                              .count();
              }
            }
            wg.done();
          });
        }
        // A plain thread writes to every reader at once, so that one poll
        // finds them all ready, and waits for all the answers.
        std::thread peer([&] {
          std::uint64_t before = 0, skipped_before = 0;
          for (int i = 0; i < warmup + rounds + 1; ++i) {
            if (i == warmup) {
              before = weft::testing::m_wakeups();
              skipped_before = weft::testing::skipped_wakes();
            }
            if (i == warmup + rounds) {
              woken = weft::testing::m_wakeups() - before;
              skipped = weft::testing::skipped_wakes() - skipped_before;
              spin_once.store(true);
            }
            weft_test::write_unsplit([&] {
              for (int r = 0; r < readers; ++r) put_byte(sps[r]->b);  // reader 0 runs first
            });
            while (answered.load() < readers * (i + 1)) std::this_thread::yield();
            // Every M idle again, the poller blocked in it: the next four
            // bytes arrive before it wakes, and one poll finds them all.
            std::this_thread::sleep_for(std::chrono::microseconds(500));
          }
        });
        wg.wait();
        peer.join();
        for (int r = 0; r < readers; ++r) {
          netpoll_evict(pds[r]);
          netpoll_close(pds[r]);
        }
      },
      procs_opt(2));
  EXPECT_LT(woken, static_cast<std::uint64_t>(rounds / 10))
      << "Ms woken for " << rounds << " polls that each readied " << readers << " readers that park soon";
  // Not every poll finds all four ready (a loaded machine wakes the poller
  // between two of the peer's writes): a tenth is plenty to tell.
  EXPECT_GE(skipped, static_cast<std::uint64_t>(rounds / 10)) << "of " << rounds << " polls skipped the wake-up";
  ASSERT_GE(held_ms, 0) << "the last round did not run";
  EXPECT_LT(held_ms, 1000) << "readers waited behind one that ran on";
}

TEST(Netpoll, PlainThreadWaitsOutsideRun) {
  thread_poller poller;
  sock_pair sp;
  poll_desc* pd = netpoll_open(sp.a);
  std::thread writer([&] {
    if (wait_for_waiters(1)) put_byte(sp.b);
  });
  EXPECT_EQ(netpoll_wait(pd, poll_mode::read), poll_result::ready);
  writer.join();
  EXPECT_EQ(drain(sp.a), 1);
  netpoll_evict(pd);
  netpoll_close(pd);
}

TEST(Netpoll, PlainThreadWaitsInsideRun) {
  weft::run([] {
    thread_poller poller;
    sock_pair sp;
    poll_desc* pd = netpoll_open(sp.a);
    poll_result got = poll_result::closing;
    std::thread reader([&] { got = netpoll_wait(pd, poll_mode::read); });
    ASSERT_TRUE(wait_for_waiters(1));
    put_byte(sp.b);
    reader.join();
    EXPECT_EQ(got, poll_result::ready);
    netpoll_evict(pd);
    netpoll_close(pd);
  }, procs_opt(2));
}

TEST(Netpoll, EdgeBeforeTheWaitReturnsAtOnce) {
  sock_pair sp;
  poll_desc* pd = netpoll_open(sp.a);
  put_byte(sp.b);
  netpoll(0);  // records the edge: nobody waits yet
  std::int64_t t0 = nanotime();
  netpoll_set_deadline(pd, poll_mode::read, t0 + 5000 * ms);
  EXPECT_EQ(netpoll_wait(pd, poll_mode::read), poll_result::ready);
  EXPECT_LT(nanotime() - t0, 1000 * ms);
  // The edge is consumed: the next wait sleeps until its deadline.
  netpoll_set_deadline(pd, poll_mode::read, nanotime() + 10 * ms);
  EXPECT_EQ(netpoll_wait(pd, poll_mode::read), poll_result::timed_out);
  netpoll_evict(pd);
  netpoll_close(pd);
}

TEST_P(NetpollProcs, WriteWaitReturnsOnceThePeerDrains) {
  weft::run([] {
    go_poller poller;
    sock_pair sp;
    fill(sp.a);  // before registering: no write edge yet
    poll_desc* pd = netpoll_open(sp.a);
    poll_result got = poll_result::closing;
    weft::wait_group wg;
    wg.add(1);
    weft::go(named("np-writer"), [&] {
      got = netpoll_wait(pd, poll_mode::write);
      wg.done();
    });
    ASSERT_TRUE(wait_for_waiters(1));
    EXPECT_GT(drain(sp.b), 0);
    wg.wait();
    EXPECT_EQ(got, poll_result::ready);
    char c = 'y';
    EXPECT_EQ(::write(sp.a, &c, 1), 1);
    netpoll_evict(pd);
    netpoll_close(pd);
  }, procs_opt(GetParam()));
}

TEST_P(NetpollProcs, DeadlinesNeverEarlyNeverLate) {
  weft::run([] {
    go_poller poller;
    sock_pair sp;
    poll_desc* pd = netpoll_open(sp.a);
    // In the past: at once.
    netpoll_set_deadline(pd, poll_mode::read, nanotime() - 1);
    std::int64_t t0 = nanotime();
    EXPECT_EQ(netpoll_wait(pd, poll_mode::read), poll_result::timed_out);
    EXPECT_LT(nanotime() - t0, slack);
    // 20 ms ahead: not before, not much after.
    for (int i = 0; i < 3; ++i) {
      std::int64_t when = nanotime() + 20 * ms;
      netpoll_set_deadline(pd, poll_mode::read, when);
      EXPECT_EQ(netpoll_wait(pd, poll_mode::read), poll_result::timed_out);
      std::int64_t now = nanotime();
      EXPECT_GE(now, when);
      EXPECT_LT(now, when + slack);
    }
    // Cleared: waits for readiness again.
    netpoll_set_deadline(pd, poll_mode::read, INT64_MAX);
    weft::wait_group wg;
    wg.add(1);
    weft::go([&] {
      weft::this_goroutine::sleep_for(10ms);
      put_byte(sp.b);
      wg.done();
    });
    EXPECT_EQ(netpoll_wait(pd, poll_mode::read), poll_result::ready);
    wg.wait();
    netpoll_evict(pd);
    netpoll_close(pd);
  }, procs_opt(GetParam()));
}

TEST(Netpoll, PlainThreadDeadlines) {
  sock_pair sp;
  poll_desc* pd = netpoll_open(sp.a);
  netpoll_set_deadline(pd, poll_mode::read, nanotime() - 1);
  EXPECT_EQ(netpoll_wait(pd, poll_mode::read), poll_result::timed_out);
  std::int64_t when = nanotime() + 20 * ms;
  netpoll_set_deadline(pd, poll_mode::read, when);
  EXPECT_EQ(netpoll_wait(pd, poll_mode::read), poll_result::timed_out);
  EXPECT_GE(nanotime(), when);
  EXPECT_LT(nanotime(), when + slack);
  netpoll_evict(pd);
  netpoll_close(pd);
}

// Moving the deadline while a goroutine (or thread) waits: into the past
// wakes it with timed_out; from far away to 20 ms re-arms (or re-reads) it.
TEST_P(NetpollProcs, MovingTheDeadlineWakesOrReArms) {
  weft::run([] {
    go_poller poller;
    sock_pair sp;
    poll_desc* pd = netpoll_open(sp.a);
    poll_result got = poll_result::ready;
    std::int64_t woke = 0;
    weft::wait_group wg;
    auto start_reader = [&] {
      wg.add(1);
      weft::go(named("np-reader"), [&] {
        got = netpoll_wait(pd, poll_mode::read);
        woke = nanotime();
        wg.done();
      });
    };
    netpoll_set_deadline(pd, poll_mode::read, nanotime() + 60'000 * ms);
    start_reader();
    ASSERT_TRUE(wait_for_waiters(1));
    netpoll_set_deadline(pd, poll_mode::read, nanotime() - 1);
    wg.wait();
    ASSERT_TRUE(wait_for_waiters(0));
    EXPECT_EQ(got, poll_result::timed_out);

    netpoll_set_deadline(pd, poll_mode::read, nanotime() + 60'000 * ms);
    start_reader();
    ASSERT_TRUE(wait_for_waiters(1));
    std::int64_t when = nanotime() + 20 * ms;
    netpoll_set_deadline(pd, poll_mode::read, when);
    wg.wait();
    ASSERT_TRUE(wait_for_waiters(0));
    EXPECT_EQ(got, poll_result::timed_out);
    EXPECT_GE(woke, when);
    EXPECT_LT(woke, when + slack);

    // A plain thread: kicked to re-read its deadline.
    netpoll_set_deadline(pd, poll_mode::read, nanotime() + 60'000 * ms);
    std::thread t([&] {
      got = netpoll_wait(pd, poll_mode::read);
      woke = nanotime();
    });
    ASSERT_TRUE(wait_for_waiters(1));
    when = nanotime() + 20 * ms;
    netpoll_set_deadline(pd, poll_mode::read, when);
    t.join();
    EXPECT_EQ(got, poll_result::timed_out);
    EXPECT_GE(woke, when);
    EXPECT_LT(woke, when + slack);
    netpoll_evict(pd);
    netpoll_close(pd);
  }, procs_opt(GetParam()));
}

TEST_P(NetpollProcs, EvictWakesBothWaitersWithClosing) {
  weft::run([] {
    go_poller poller;
    sock_pair sp;
    fill(sp.a);
    poll_desc* pd = netpoll_open(sp.a);
    poll_result r = poll_result::ready, w = poll_result::ready;
    weft::wait_group wg;
    wg.add(2);
    weft::go(named("np-waiter"), [&] {
      r = netpoll_wait(pd, poll_mode::read);
      wg.done();
    });
    weft::go(named("np-waiter"), [&] {
      w = netpoll_wait(pd, poll_mode::write);
      wg.done();
    });
    ASSERT_TRUE(wait_for_waiters(2));
    EXPECT_EQ(netpoll_waiters(), 2);
    netpoll_evict(pd);
    wg.wait();
    EXPECT_EQ(r, poll_result::closing);
    EXPECT_EQ(w, poll_result::closing);
    EXPECT_TRUE(wait_for_waiters(0));  // counted out just after the wake
    // Later waits: at once, even with an edge pending or a deadline past.
    drain(sp.b);
    put_byte(sp.b);
    netpoll(0);
    netpoll_set_deadline(pd, poll_mode::write, nanotime() - 1);
    EXPECT_EQ(netpoll_wait(pd, poll_mode::read), poll_result::closing);
    EXPECT_EQ(netpoll_wait(pd, poll_mode::write), poll_result::closing);
    netpoll_close(pd);
  }, procs_opt(GetParam()));
}

TEST(Netpoll, EvictWakesAPlainThread) {
  sock_pair sp;
  poll_desc* pd = netpoll_open(sp.a);
  std::thread evictor([&] {
    if (wait_for_waiters(1)) netpoll_evict(pd);
  });
  EXPECT_EQ(netpoll_wait(pd, poll_mode::read), poll_result::closing);
  evictor.join();
  netpoll_close(pd);
}

TEST_P(NetpollProcs, ThousandFdsEachWokenOnce) {
  weft::run([] {
    constexpr int n = 1000;
    go_poller poller;
    std::vector<std::unique_ptr<sock_pair>> pairs;
    std::vector<poll_desc*> pds;
    std::vector<std::atomic<int>> returns(n);
    std::vector<poll_result> results(n, poll_result::closing);
    for (int i = 0; i < n; ++i) {
      pairs.push_back(std::make_unique<sock_pair>());
      pds.push_back(netpoll_open(pairs.back()->a));
    }
    weft::wait_group wg;
    wg.add(n);
    for (int i = 0; i < n; ++i) {
      weft::go([&, i] {
        results[i] = netpoll_wait(pds[i], poll_mode::read);
        returns[i]++;
        wg.done();
      });
    }
    ASSERT_TRUE(wait_for_waiters(n));
    for (int i = 0; i < n; ++i) put_byte(pairs[i]->b);
    wg.wait();
    EXPECT_TRUE(wait_for_waiters(0));  // counted out just after the wake
    for (int i = 0; i < n; ++i) {
      EXPECT_EQ(returns[i].load(), 1) << i;
      EXPECT_EQ(results[i], poll_result::ready) << i;
      netpoll_evict(pds[i]);
      netpoll_close(pds[i]);
    }
  }, procs_opt(GetParam()));
}

// One fd's life in the stress test: a reader and a writer loop on waits, a
// peer makes it ready, a fourth party moves deadlines, and an evict comes
// at a random moment. Every wait must return (evict ends the loops).
struct tally {
  std::atomic<long> ready{0}, timed_out{0}, closing{0};
  void add(poll_result r) {
    (r == poll_result::ready ? ready : r == poll_result::timed_out ? timed_out : closing)++;
  }
};

void one_round(std::uint64_t seed, tally& waits) {
  auto next = [&seed] {
    seed ^= seed << 13;
    seed ^= seed >> 7;
    seed ^= seed << 17;
    return seed;
  };
  next();
  sock_pair sp;
  poll_desc* pd = netpoll_open(sp.a);
  std::atomic<bool> evicted{false};
  weft::wait_group wg;
  auto reader = [&] {
    for (;;) {
      poll_result r = netpoll_wait(pd, poll_mode::read);
      waits.add(r);
      if (r == poll_result::closing) return;
      if (r == poll_result::ready) drain(sp.a);
      if (weft::detail::this_g() != nullptr) {
        weft::this_goroutine::yield();
      } else {
        std::this_thread::yield();
      }
    }
  };
  std::thread plain_reader;
  if (seed % 4 == 0) {
    plain_reader = std::thread(reader);
  } else {
    wg.add(1);
    weft::go([&] {
      reader();
      wg.done();
    });
  }
  wg.add(4);
  weft::go([&] {  // writer
    for (;;) {
      fill(sp.a);
      poll_result r = netpoll_wait(pd, poll_mode::write);
      waits.add(r);
      if (r == poll_result::closing) break;
      weft::this_goroutine::yield();
    }
    wg.done();
  });
  std::uint64_t s1 = next(), s2 = next(), s3 = next();
  weft::go([&, s1]() mutable {  // peer
    while (!evicted.load()) {
      put_byte(sp.b);
      drain(sp.b);
      s1 = s1 * 6364136223846793005ull + 1442695040888963407ull;
      if ((s1 >> 60) & 1) weft::this_goroutine::sleep_for(std::chrono::microseconds((s1 >> 40) % 200));
      else weft::this_goroutine::yield();
    }
    wg.done();
  });
  weft::go([&, s2]() mutable {  // deadlines
    while (!evicted.load()) {
      s2 = s2 * 6364136223846793005ull + 1442695040888963407ull;
      poll_mode m = (s2 >> 63) ? poll_mode::read : poll_mode::write;
      std::int64_t when;
      switch ((s2 >> 56) % 4) {
        case 0: when = nanotime() - 1; break;
        case 1: when = INT64_MAX; break;
        default: when = nanotime() + std::int64_t((s2 >> 20) % 300'000); break;
      }
      netpoll_set_deadline(pd, m, when);
      weft::this_goroutine::sleep_for(std::chrono::microseconds((s2 >> 40) % 100));
    }
    wg.done();
  });
  weft::go([&, s3] {  // evict
    weft::this_goroutine::sleep_for(std::chrono::microseconds(s3 % 2000));
    netpoll_evict(pd);
    evicted = true;
    wg.done();
  });
  wg.wait();
  if (plain_reader.joinable()) plain_reader.join();
  netpoll_close(pd);
}

TEST_P(NetpollProcs, EvictRacesReadinessAndDeadlines) {
  const int rounds = quartered(480);
  constexpr int width = 8;  // rounds at once: poll_descs are reused
  tally waits;
  weft::run([&] {
    go_poller gpoll;
    thread_poller tpoll;
    for (int r = 0; r < rounds; r += width) {
      weft::wait_group wg;
      wg.add(width);
      for (int k = 0; k < width; ++k) {
        weft::go([&, seed = std::uint64_t(r + k) * 0x9e3779b97f4a7c15ull + 1] {
          one_round(seed, waits);
          wg.done();
        });
      }
      wg.wait();
    }
    EXPECT_TRUE(wait_for_waiters(0));  // counted out just after the wake
  }, procs_opt(GetParam()));
  // Each round's reader and writer loops end on exactly one `closing`.
  EXPECT_EQ(waits.closing.load(), 2L * rounds);
  EXPECT_GT(waits.ready.load(), 0);
  EXPECT_GT(waits.timed_out.load(), 0);
}

INSTANTIATE_TEST_SUITE_P(Procs, NetpollProcs, ::testing::ValuesIn(weft_test::all_procs()), procs_name);

TEST(Netpoll, BreakWakesABlockedPoller) {
  weft::detail::netpoll_init();
  for (int i = 0; i < 5; ++i) {
    std::atomic<bool> broken{false};
    std::atomic<std::int64_t> returned{0};
    std::thread t([&] {
      while (!broken.load()) netpoll(-1);  // a stale break returns at once: loop
      returned = nanotime();
    });
    std::this_thread::sleep_for(30ms);
    std::int64_t t0 = nanotime();
    broken = true;
    weft::detail::netpoll_break();
    t.join();
    EXPECT_LT(returned.load() - t0, weft_test::sanitized ? 50 * ms : 10 * ms);
  }
  // A timed poll returns after its delay, not before (the first one may
  // consume a break that the last thread left unread).
  netpoll(1 * ms);
  std::int64_t t0 = nanotime();
  netpoll(5 * ms);
  EXPECT_GE(nanotime() - t0, 5 * ms);
}

TEST(Netpoll, ShutdownIsSafeAndClosesWhatIsOpen) {
  weft::detail::netpoll_shutdown();
  weft::detail::netpoll_shutdown();  // never initialized: nothing to do
  EXPECT_FALSE(weft::detail::netpoll_active());
  EXPECT_EQ(netpoll(0), 0);
  weft::detail::netpoll_break();  // nothing to break: a no-op
  sock_pair sp;
  poll_desc* pd = netpoll_open(sp.a);  // initializes lazily
  EXPECT_TRUE(weft::detail::netpoll_active());
  std::thread waiter([&] { EXPECT_EQ(netpoll_wait(pd, poll_mode::read), poll_result::closing); });
  ASSERT_TRUE(wait_for_waiters(1));
  weft::detail::netpoll_shutdown();
  waiter.join();
  EXPECT_FALSE(weft::detail::netpoll_active());
  EXPECT_EQ(netpoll_wait(pd, poll_mode::write), poll_result::closing);
  netpoll_close(pd);
  weft::detail::netpoll_init();
  weft::detail::netpoll_init();  // idempotent
  weft::detail::netpoll_shutdown();
}

TEST(Netpoll, OpenFailureNamesTheFd) {
  std::FILE* f = std::tmpfile();  // epoll refuses regular files: EPERM
  ASSERT_NE(f, nullptr);
  int fd = ::fileno(f);
  try {
    netpoll_open(fd);
    ADD_FAILURE() << "netpoll_open of a regular file did not throw";
  } catch (const std::system_error& e) {
    EXPECT_EQ(e.code().value(), EPERM);
    EXPECT_NE(std::string(e.what()).find("fd " + std::to_string(fd)), std::string::npos) << e.what();
  }
  std::fclose(f);
  try {
    netpoll_open(-1);
    ADD_FAILURE() << "netpoll_open(-1) did not throw";
  } catch (const std::system_error& e) {
    EXPECT_EQ(e.code().value(), EBADF);
    EXPECT_NE(std::string(e.what()).find("fd -1"), std::string::npos) << e.what();
  }
  // The failed registrations left nothing behind.
  sock_pair sp;
  poll_desc* pd = netpoll_open(sp.a);
  put_byte(sp.b);
  netpoll(0);
  EXPECT_EQ(netpoll_wait(pd, poll_mode::read), poll_result::ready);
  netpoll_evict(pd);
  netpoll_close(pd);
}

}  // namespace
