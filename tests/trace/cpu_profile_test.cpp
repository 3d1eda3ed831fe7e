// tests/trace/cpu_profile_test.cpp: CPU profiles inside one process.
//   - the pprof builder's bytes decode as profile.proto: the string table
//     starts with "", the sample types are samples/count and
//     cpu/nanoseconds, each stack's counts and goroutine labels are kept;
//   - a goroutine spinning in a known function for a second makes that
//     function the hottest of the profile, and its samples carry its
//     goroutine's name;
//   - one profile at a time: a second gets "a CPU profile is already running";
//   - a thread that starts while ticks run is ticked too (the registry
//     behind the scheduler's Ms, runtime/cpu_ticks.cpp).
#include "trace/cpu_profile.hpp"

#include <gtest/gtest.h>
#include <zlib.h>

#include <time.h>

#include <atomic>
#include <map>
#include <string>
#include <thread>

#include "platform/process.hpp"
#include "pprof/profile.pb.h"
#include "runtime/cpu_ticks.hpp"
#include "trace/pprof.hpp"
#include "weft_test_util.hpp"
#include <weft/weft.hpp>

namespace trace = weft::detail::trace;
using namespace std::chrono_literals;

namespace {

#if defined(__clang__)
#define WEFT_TEST_AS_WRITTEN [[gnu::noinline]]
#else
#define WEFT_TEST_AS_WRITTEN [[gnu::noipa]]
#endif

// Burns CPU until *stop: the function the profile must find.
WEFT_TEST_AS_WRITTEN std::uint64_t weft_test_cpu_spin(const std::atomic<bool>* stop) {
  std::uint64_t x = 1;
  while (!stop->load(std::memory_order_relaxed)) {
    for (int i = 0; i < 10000; ++i) {
      x = x * 6364136223846793005ull + 1442695040888963407ull;
      asm volatile("" : "+r"(x));
    }
  }
  return x;
}

std::string gunzip(const std::string& gz) {
  z_stream zs{};
  EXPECT_EQ(inflateInit2(&zs, 15 + 16), Z_OK);
  std::string out;
  char buf[65536];
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(gz.data()));
  zs.avail_in = static_cast<uInt>(gz.size());
  int r = Z_OK;
  while (r == Z_OK) {
    zs.next_out = reinterpret_cast<Bytef*>(buf);
    zs.avail_out = sizeof buf;
    r = inflate(&zs, Z_NO_FLUSH);
    out.append(buf, sizeof buf - zs.avail_out);
  }
  inflateEnd(&zs);
  EXPECT_EQ(r, Z_STREAM_END) << "not one complete gzip member";
  return out;
}

weft::pprof::Profile decode(const trace::cpu_profile_data& p) {
  weft::pprof::Profile prof;
  EXPECT_TRUE(prof.ParseFromString(gunzip(trace::gzip_bytes(trace::encode_pprof(p)))));
  return prof;
}

// The function name of each location id.
std::map<std::uint64_t, std::string> function_of_location(const weft::pprof::Profile& prof) {
  std::map<std::uint64_t, std::string> fn_name;
  for (const auto& f : prof.function()) fn_name[f.id()] = prof.string_table(static_cast<int>(f.name()));
  std::map<std::uint64_t, std::string> out;
  for (const auto& l : prof.location())
    out[l.id()] = l.line_size() > 0 ? fn_name[l.line(0).function_id()] : std::string("?");
  return out;
}

std::string label(const weft::pprof::Profile& prof, const weft::pprof::Sample& s, const std::string& key) {
  for (const auto& l : s.label())
    if (prof.string_table(static_cast<int>(l.key())) == key) return prof.string_table(static_cast<int>(l.str()));
  return "";
}

TEST(CpuProfile, TheBuilderWritesCountsLabelsAndTheStringTable) {
  trace::cpu_profile_data p;
  p.period_ns = 10'000'000;
  p.duration_ns = 1'000'000'000;
  p.start_unix_ns = 1'700'000'000'000'000'000;
  const auto spin = reinterpret_cast<std::uintptr_t>(&weft_test_cpu_spin);
  const auto caller = reinterpret_cast<std::uintptr_t>(&gunzip);  // any function of some size
  // Return addresses point after a call: +9 stays inside each function.
  p.stacks.push_back({{spin + 4, caller + 9}, 7, "worker", 3});
  p.stacks.push_back({{caller + 2}, 0, "", 5});
  const weft::pprof::Profile prof = decode(p);

  ASSERT_GT(prof.string_table_size(), 0);
  EXPECT_EQ(prof.string_table(0), "");
  auto str = [&](std::int64_t i) { return prof.string_table(static_cast<int>(i)); };
  ASSERT_EQ(prof.sample_type_size(), 2);
  EXPECT_EQ(str(prof.sample_type(0).type()), "samples");
  EXPECT_EQ(str(prof.sample_type(0).unit()), "count");
  EXPECT_EQ(str(prof.sample_type(1).type()), "cpu");
  EXPECT_EQ(str(prof.sample_type(1).unit()), "nanoseconds");
  EXPECT_EQ(str(prof.period_type().type()), "cpu");
  EXPECT_EQ(prof.period(), 10'000'000);
  EXPECT_EQ(prof.duration_nanos(), 1'000'000'000);
  EXPECT_EQ(prof.time_nanos(), 1'700'000'000'000'000'000);
  ASSERT_GT(prof.mapping_size(), 0);
  EXPECT_NE(str(prof.mapping(0).filename()).find("cpu_profile_test"), std::string::npos) << "the main binary first";

  ASSERT_EQ(prof.sample_size(), 2);
  const auto& a = prof.sample(0);
  ASSERT_EQ(a.value_size(), 2);
  EXPECT_EQ(a.value(0), 3);
  EXPECT_EQ(a.value(1), 30'000'000);
  EXPECT_EQ(label(prof, a, "goroutine"), "7");
  EXPECT_EQ(label(prof, a, "goroutine_name"), "worker");
  const auto& b = prof.sample(1);
  EXPECT_EQ(b.value(0), 5);
  EXPECT_EQ(b.value(1), 50'000'000);
  EXPECT_EQ(b.label_size(), 0) << "not on a goroutine: no labels";

  auto fn = function_of_location(prof);
  ASSERT_EQ(a.location_id_size(), 2);
  EXPECT_NE(fn[a.location_id(0)].find("weft_test_cpu_spin"), std::string::npos) << fn[a.location_id(0)];
  EXPECT_NE(fn[a.location_id(1)].find("gunzip"), std::string::npos) << fn[a.location_id(1)];
  // caller+9 (as a return address: caller+8) and caller+2 are two locations
  // of one function.
  EXPECT_NE(a.location_id(1), b.location_id(0));
  EXPECT_EQ(fn[b.location_id(0)], fn[a.location_id(1)]);
  EXPECT_EQ(prof.function_size(), 2);
}

TEST(CpuProfile, ASpinningGoroutineIsTheHottest) {
  weft::run([] {
    std::atomic<bool> stop{false};
    weft::chan<int> done(1);
    weft::go(weft_test::named("spinner"), [&] {
      weft_test_cpu_spin(&stop);
      done.send(1);
    });
    trace::cpu_profile_data p = trace::record_cpu_profile(1s);
    stop.store(true);
    done.recv();

    const weft::pprof::Profile prof = decode(p);
    auto fn = function_of_location(prof);
    std::map<std::string, std::int64_t> flat;
    std::int64_t total = 0, named_spinner = 0;
    for (const auto& s : prof.sample()) {
      ASSERT_GT(s.location_id_size(), 0);
      flat[fn[s.location_id(0)]] += s.value(0);
      total += s.value(0);
      if (fn[s.location_id(0)].find("weft_test_cpu_spin") != std::string::npos &&
          label(prof, s, "goroutine_name") == "spinner")
        named_spinner += s.value(0);
    }
    std::string hottest;
    for (const auto& [name, n] : flat)
      if (hottest.empty() || n > flat[hottest]) hottest = name;
    std::string all;
    for (const auto& [name, n] : flat) all += "  " + std::to_string(n) + " " + name + "\n";
    // A second of one thread's CPU is 100 samples; the machine may be
    // shared (the spinner then gets less than a second of CPU). Under TSan,
    // which delivers a signal only at its next interceptor and merges
    // those of one number that arrive meanwhile, a few samples are all
    // that is certain; which function is hottest still holds.
    EXPECT_GE(total, weft_test::tsan ? 1 : 10) << all;
    EXPECT_NE(hottest.find("weft_test_cpu_spin"), std::string::npos) << "hottest: " << hottest << "\n" << all;
    EXPECT_GE(named_spinner, total / 2) << "its samples are labelled with its goroutine's name\n" << all;
    EXPECT_EQ(p.dropped, 0u);
  }, weft_test::procs_opt(2));
}

TEST(CpuProfile, OneAtATime) {
  weft::run([] {
    weft::chan<std::string> second(1);
    weft::go([&] {
      weft::this_goroutine::sleep_for(100ms);  // the first one runs by now
      try {
        trace::record_cpu_profile(10ms);
        second.send("started");
      } catch (const trace::cpu_profile_error& e) {
        second.send(e.what());
      }
    });
    trace::record_cpu_profile(400ms);
    EXPECT_EQ(second.recv().value_or(""), "a CPU profile is already running");
    // Over: the next one starts.
    EXPECT_NO_THROW(trace::record_cpu_profile(10ms));
  }, weft_test::procs_opt(2));
}

std::atomic<long> ticked_tid{0};
std::atomic<int> ticks_on_it{0};

void count_tick(void*, weft::detail::g*, int periods) {
  if (weft::detail::os::thread_id() == ticked_tid.load(std::memory_order_relaxed))
    ticks_on_it.fetch_add(periods, std::memory_order_relaxed);
}

// The calling thread's CPU time so far.
std::int64_t thread_cpu_ns() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return std::int64_t(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

TEST(CpuTicks, AThreadThatStartsWhileTickingIsTicked) {
  std::string why;
  ASSERT_TRUE(weft::detail::cpu_ticks_start(10'000'000, count_tick, &why)) << why;
  std::string again;
  EXPECT_FALSE(weft::detail::cpu_ticks_start(10'000'000, count_tick, &again));
  EXPECT_EQ(again, "a CPU profile is already running");
  std::thread t([] {
    weft::detail::cpu_ticks_thread_start();  // what a new M's m_init_thread does
    ticked_tid.store(weft::detail::os::thread_id());
    // 300 ms of this thread's CPU (the machine may be shared: wall time
    // says little), 20 s of wall time at most.
    const auto give_up = std::chrono::steady_clock::now() + 20s;
    const std::int64_t until = thread_cpu_ns() + 300'000'000;
    volatile std::uint64_t x = 1;
    while (thread_cpu_ns() < until && std::chrono::steady_clock::now() < give_up)
      for (int i = 0; i < 10000; ++i) x = x * 6364136223846793005ull + 1;
    weft::detail::cpu_ticks_thread_end();
  });
  t.join();
  weft::detail::cpu_ticks_stop();
  // 300 ms of CPU is 30 periods (ticks and the overruns they carry);
  // leave room for the first one's offset. TSan delivers a signal only at its next interceptor (here the clock
  // reads) and merges those of one number that arrive meanwhile: it keeps
  // the tick, not the count, so under TSan this checks only that the
  // thread was ticked at all.
  EXPECT_GE(ticks_on_it.load(), weft_test::tsan ? 1 : 20);
}

}  // namespace
