// tests/stress/stress_test.cpp: the channel, wait_group and mutex scenarios
// in loops, a fresh weft::run per iteration, under procs 1, 2, 4 and 8:
//   - a ring of 1000 goroutines passing a token over unbuffered channels;
//   - an 8-stage pipeline with fan-out inside stages and mixed capacities;
//   - a mutex-protected counter with random yields inside and outside the
//     critical section;
//   - fan-in of many short-lived goroutines through one channel.
// Every iteration checks exact results. Iterations scale down under
// sanitizers.
#include <weft/weft.hpp>

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <numeric>
#include <random>
#include <string>
#include <vector>

#include "weft_test_util.hpp"

namespace {

using weft_test::count_parked;
using weft_test::named;
using weft_test::procs_name;
using weft_test::procs_opt;
using weft_test::wait_parked;

constexpr int kIterations = weft_test::sanitized ? 4 : 20;
using weft_test::quartered;

class Stress : public ::testing::TestWithParam<int> {};

TEST_P(Stress, RingOfGoroutinesOverUnbufferedChannels) {
  const int procs = GetParam();
  constexpr int kGoroutines = 1000;
  constexpr int kLaps = 3;
  for (int it = 0; it < kIterations; ++it) {
    SCOPED_TRACE("iteration " + std::to_string(it));
    long final_token = -1;
    int closed_through = 0;
    long visits = 0;
    weft::run(
        [&] {
          // links[i] feeds goroutine i; goroutine i forwards token+1 to links[i+1].
          std::vector<weft::chan<long>> links(kGoroutines + 1);
          std::vector<long> seen(kGoroutines, 0);  // each written only by its own goroutine
          weft::wait_group wg;
          wg.add(kGoroutines);
          for (int i = 0; i < kGoroutines; ++i) {
            weft::go([&, i] {
              weft::chan<long> in = links[static_cast<std::size_t>(i)];
              weft::chan<long> out = links[static_cast<std::size_t>(i) + 1];
              for (long token : in) {
                ++seen[static_cast<std::size_t>(i)];
                out.send(token + 1);
              }
              out.close();
              wg.done();
            });
          }
          long token = 0;
          for (int lap = 0; lap < kLaps; ++lap) {
            links.front().send(token);
            token = links.back().recv().value_or(-1'000'000'000);
          }
          final_token = token;
          links.front().close();
          if (!links.back().recv().has_value()) closed_through = 1;  // the close went all the way round
          wg.wait();
          for (long s : seen) visits += s;
        },
        procs_opt(procs));
    EXPECT_EQ(final_token, static_cast<long>(kGoroutines) * kLaps);
    EXPECT_EQ(closed_through, 1);
    EXPECT_EQ(visits, static_cast<long>(kGoroutines) * kLaps);
  }
}

TEST_P(Stress, PipelineOfEightStages) {
  const int procs = GetParam();
  constexpr int kStages = 8;
  const int n = quartered(2000);
  for (int it = 0; it < kIterations; ++it) {
    SCOPED_TRACE("iteration " + std::to_string(it));
    std::vector<long> out;
    weft::run(
        [&] {
          // Stage s reads chans[s] with (s % 3) + 1 workers, adds s + 1, writes
          // chans[s + 1]; a closer goroutine closes chans[s + 1] when the
          // stage's workers are done.
          std::vector<weft::chan<long>> chans;
          for (int s = 0; s <= kStages; ++s) chans.emplace_back(static_cast<std::size_t>((s * 5 + it) % 7));
          std::vector<weft::wait_group> stage_done(kStages);
          weft::go([&] {
            for (int k = 0; k < n; ++k) chans[0].send(k);
            chans[0].close();
          });
          for (int s = 0; s < kStages; ++s) {
            const int workers = s % 3 + 1;
            auto& wg = stage_done[static_cast<std::size_t>(s)];
            wg.add(workers);
            for (int w = 0; w < workers; ++w) {
              weft::go([&, s] {
                weft::chan<long> in = chans[static_cast<std::size_t>(s)];
                weft::chan<long> next = chans[static_cast<std::size_t>(s) + 1];
                for (long v : in) next.send(v + s + 1);
                stage_done[static_cast<std::size_t>(s)].done();
              });
            }
            weft::go([&, s] {
              stage_done[static_cast<std::size_t>(s)].wait();
              chans[static_cast<std::size_t>(s) + 1].close();
            });
          }
          for (long v : chans.back()) out.push_back(v);
        },
        procs_opt(procs));
    constexpr long kAdded = kStages * (kStages + 1) / 2;  // 1 + 2 + ... + 8
    std::sort(out.begin(), out.end());
    std::vector<long> want(static_cast<std::size_t>(n));
    std::iota(want.begin(), want.end(), kAdded);
    EXPECT_EQ(out, want);
  }
}

TEST_P(Stress, MutexCounterWithRandomYields) {
  const int procs = GetParam();
  constexpr int kGoroutines = 64;
  const int per = quartered(200);
  for (int it = 0; it < kIterations; ++it) {
    SCOPED_TRACE("iteration " + std::to_string(it));
    long counter = 0;
    std::atomic<int> overlaps{0};
    weft::run(
        [&] {
          weft::mutex mu;
          std::atomic<bool> inside{false};
          weft::wait_group wg;
          wg.add(kGoroutines);
          for (int g = 0; g < kGoroutines; ++g) {
            weft::go([&, g] {
              std::minstd_rand rng(static_cast<std::uint32_t>(g * 7919 + it * 104729 + 1));
              for (int k = 0; k < per; ++k) {
                if (rng() % 4 == 0) weft::this_goroutine::yield();
                std::lock_guard<weft::mutex> lk(mu);
                if (inside.exchange(true)) ++overlaps;
                long v = counter;
                if (rng() % 8 == 0) weft::this_goroutine::yield();  // hold the lock across a switch
                counter = v + 1;
                inside.store(false);
              }
              wg.done();
            });
          }
          wg.wait();
        },
        procs_opt(procs));
    EXPECT_EQ(overlaps.load(), 0);
    EXPECT_EQ(counter, static_cast<long>(kGoroutines) * per);
  }
}

TEST_P(Stress, FanInOfShortLivedGoroutines) {
  const int procs = GetParam();
  const int kGoroutines = quartered(2000);
  for (int it = 0; it < kIterations; ++it) {
    SCOPED_TRACE("iteration " + std::to_string(it));
    long sum = 0;
    long count = 0;
    weft::run(
        [&] {
          weft::chan<int> results(static_cast<std::size_t>(it % 3 == 0 ? 0 : 16));
          weft::wait_group wg;
          wg.add(kGoroutines);
          for (int i = 0; i < kGoroutines; ++i) {
            weft::go([&, i] {
              if (i % 5 == 0) weft::this_goroutine::yield();
              results.send(i);
              wg.done();
            });
          }
          weft::go([&] {
            wg.wait();
            results.close();
          });
          for (int v : results) {
            sum += v;
            ++count;
          }
        },
        procs_opt(procs));
    EXPECT_EQ(count, kGoroutines);
    EXPECT_EQ(sum, static_cast<long>(kGoroutines) * (kGoroutines - 1) / 2);
  }
}

INSTANTIATE_TEST_SUITE_P(Procs, Stress, ::testing::Values(1, 2, 4, 8), procs_name);

}  // namespace
