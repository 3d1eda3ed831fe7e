// The wait for a quick reply (runtime/quick_spin.hpp): an M that runs out
// of goroutines while one waits in a quick_reply_scope finds the reply by
// polling the network, only while the machine has a CPU to spare; the
// policy's budget and its look at the machine; and the parse of
// /proc/loadavg behind that look.
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <cstddef>
#include <thread>

#include "net/adopt.hpp"
#include "platform/cpu_load.hpp"
#include "runtime/quick_spin.hpp"
#include "runtime/runtime.hpp"
#include <weft/weft.hpp>

namespace {

using weft::detail::quick_spin;
namespace os = weft::detail::os;

// ---- the policy ------------------------------------------------------------

TEST(QuickSpin, StartsAtTheMaximumAndShrinksByAnEighthPerEmptySpinDownToTheFloor) {
  quick_spin q;
  EXPECT_EQ(q.begin(true), quick_spin::max_ns);
  q.ran_out();
  EXPECT_EQ(q.budget_ns(), quick_spin::max_ns - quick_spin::max_ns / 8);
  for (int i = 0; i < 100; ++i) q.ran_out();
  EXPECT_EQ(q.budget_ns(), quick_spin::min_ns);
}

TEST(QuickSpin, ASpinThatFindsItsReplyDoublesTheBudgetUpToTheMaximum) {
  quick_spin q;
  for (int i = 0; i < 100; ++i) q.ran_out();
  q.found();
  EXPECT_EQ(q.budget_ns(), 2 * quick_spin::min_ns);
  for (int i = 0; i < 20; ++i) q.found();
  EXPECT_EQ(q.budget_ns(), quick_spin::max_ns);
}

TEST(QuickSpin, DoesNotStartOnACrowdedMachine) {
  quick_spin q;
  EXPECT_EQ(q.begin(false), 0);
}

TEST(QuickSpin, ASpinCutShortByACrowdedMachineLeavesTheBudgetAlone) {
  quick_spin q;
  ASSERT_GT(q.begin(true), 0);
  EXPECT_TRUE(q.may_go_on(true));
  EXPECT_FALSE(q.may_go_on(false));
  q.ran_out();
  EXPECT_EQ(q.budget_ns(), quick_spin::max_ns);
}

TEST(QuickSpin, AMachineOftenCrowdedStopsQuickSpinsUntilItClears) {
  quick_spin q;
  for (int i = 0; i < 8; ++i) EXPECT_EQ(q.begin(false), 0);
  // Spare now, but the recent looks were mostly crowded.
  EXPECT_EQ(q.begin(true), 0);
  int looks = 1;
  while (q.begin(true) == 0) {
    ++looks;
    ASSERT_LT(looks, 50) << "the crowded looks are never forgotten";
  }
  EXPECT_GT(looks, 2);
}

TEST(QuickSpin, EveryThirtySecondSpinTriesTheMaximumFromTheFloor) {
  quick_spin q;
  for (int i = 0; i < 100; ++i) q.ran_out();
  int at_max = 0;
  for (int i = 0; i < 64; ++i) {
    std::int64_t ns = q.begin(true);
    if (ns == quick_spin::max_ns) {
      ++at_max;
    } else {
      EXPECT_EQ(ns, quick_spin::min_ns);
    }
  }
  EXPECT_EQ(at_max, 2);
}

// ---- the look at the machine ------------------------------------------------

TEST(CpuLoad, ReadsTheRunnableCountOfLoadavg) {
  EXPECT_EQ(os::runnable_threads_of("0.52 0.58 0.59 3/467 12345\n"), 3);
  EXPECT_EQ(os::runnable_threads_of("12.00 9.10 4.75 117/2048 1"), 117);
}

TEST(CpuLoad, RefusesTextNotInLoadavgsForm) {
  EXPECT_EQ(os::runnable_threads_of(""), -1);
  EXPECT_EQ(os::runnable_threads_of("0.52 0.58 0.59"), -1);
  EXPECT_EQ(os::runnable_threads_of("0.52 0.58 0.59 /467 1"), -1);
  EXPECT_EQ(os::runnable_threads_of("0.52 0.58 0.59 x/467 1"), -1);
  EXPECT_EQ(os::runnable_threads_of("0.52 0.58 0.59 3 467 1"), -1);
  EXPECT_EQ(os::runnable_threads_of("0.52 0.58 0.59 9999999999999/4 1"), -1);
}

TEST(CpuLoad, ALookAtThisMachineAnswers) {
  // Either answer is right; the call must not fail or hang.
  (void)os::cpus_to_spare();
  os::set_cpus_to_spare_for_testing(1);
  EXPECT_TRUE(os::cpus_to_spare());
  os::set_cpus_to_spare_for_testing(0);
  EXPECT_FALSE(os::cpus_to_spare());
  os::set_cpus_to_spare_for_testing(-1);
}

// ---- in the scheduler -------------------------------------------------------

// Round trips from a goroutine to an echo on a plain thread over a
// socketpair, the goroutine's waits quick or not: how many of the
// scheduler's quick spins found work, after `rounds` round trips or as
// soon as one did (a loaded machine may keep the echo from a CPU for
// longer than a spin lasts, many times over). Procs 1, so that the
// goroutine's own M is the one that runs out of goroutines at each wait.
std::uint64_t quick_finds_over_round_trips(bool quick, int spare, int rounds, bool stop_at_first = false) {
  int sv[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) {
    ADD_FAILURE() << "socketpair failed";
    return 0;
  }
  std::thread echo([fd = sv[1]] {
    std::array<char, 64> b{};
    for (;;) {
      ssize_t n = ::read(fd, b.data(), b.size());
      if (n <= 0 || ::write(fd, b.data(), static_cast<std::size_t>(n)) != n) break;
    }
    ::close(fd);
  });
  os::set_cpus_to_spare_for_testing(spare);
  std::uint64_t finds = 0;
  weft::run(
      [&] {
        weft::net::conn c = weft::detail::adopt_socket(sv[0], "quick spin test");
        std::array<std::byte, 64> out{}, in{};
        for (int i = 0; i < rounds; ++i) {
          out[0] = static_cast<std::byte>(i);
          weft::detail::quick_reply_scope soon(quick);
          c.write(out);
          c.read_full(in);
          EXPECT_EQ(in, out);
          if (stop_at_first && weft::detail::sched.quick_spin_finds.load() > 0) break;
        }
        finds = weft::detail::sched.quick_spin_finds.load();
        c.close();
      },
      weft::options{.procs = 1});
  os::set_cpus_to_spare_for_testing(-1);
  echo.join();
  return finds;
}

TEST(QuickSpin, AnIdleMFindsAQuickReplyByPollingWhileTheMachineHasACpuToSpare) {
  EXPECT_GT(quick_finds_over_round_trips(true, 1, 20'000, true), 0u);
}

TEST(QuickSpin, AWaitNotDeclaredQuickIsNotSpunFor) { EXPECT_EQ(quick_finds_over_round_trips(false, 1, 500), 0u); }

TEST(QuickSpin, ACrowdedMachineIsNotSpunOn) { EXPECT_EQ(quick_finds_over_round_trips(true, 0, 500), 0u); }

}  // namespace
