// src/trace/cpu_profile.cpp: recording a CPU profile.
//
// Three parties. runtime/cpu_ticks.cpp delivers a SIGPROF to each M per
// 10 ms of that M's CPU time and calls on_tick in the handler; on_tick
// unwinds the interrupted context (trace::capture_ucontext: libunwind's
// local unwinding, which its manual documents as signal-safe) and writes
// the pcs, the goroutine id and the goroutine's name into a preallocated
// lock-free ring (cpu_samples.hpp). The recording goroutine wakes every
// 100 ms and drains the ring into a map keyed by (stack, goroutine), so the
// ring only has to hold 100 ms of samples: 4096 slots are 40 busy threads'
// worth, and more are counted as dropped, never blocked on.
//
// Invariants:
//   P1 One recording per process: `recording` is taken by CAS before
//      anything starts, and cpu_ticks refuses a second start too.
//   P2 The handler's work (on_tick) allocates nothing and takes no lock:
//      the ring exists before the ticks start and is freed only after
//      cpu_ticks_stop, after which no tick runs (cpu_ticks.cpp, T3).
//   P3 The goroutine's name is copied in the handler, from the handler's
//      own thread's current G (which cannot end under it), so a name is
//      never read from a G that another thread recycles.
//
// Why not frame pointers: the build has them, but libc and libstdc++ do
// not, and a sample inside memcpy or a syscall wrapper would lose or invent
// its callers. libunwind reads .eh_frame, which everything has.
#include "trace/cpu_profile.hpp"

#include <algorithm>
#include <atomic>
#include <cstring>
#include <map>
#include <memory>

#include <weft/go.hpp>

#include "runtime/cpu_ticks.hpp"
#include "trace/cpu_samples.hpp"
#include "trace/stacktrace.hpp"

namespace weft::detail::trace {

namespace {

constexpr std::size_t ring_slots = 4096;
constexpr auto drain_every = std::chrono::milliseconds(100);

std::atomic<bool> recording{false};  // P1
std::atomic<sample_ring*> ring{nullptr};  // set while ticks run (P2)

void on_tick(void* ucontext, g* gp, int periods) {
  sample_ring* r = ring.load(std::memory_order_acquire);
  if (r == nullptr) return;
  r->push([&](cpu_sample& s) {
    s.depth = static_cast<std::uint16_t>(capture_ucontext(ucontext, s.pcs, cpu_sample::max_depth));
    s.goid = gp ? gp->id : 0;
    s.periods = static_cast<std::uint32_t>(periods);
    s.name_len = 0;
    if (const std::string* name = gp ? gp->name() : nullptr) {  // P3
      const std::size_t n = std::min<std::size_t>(name->size(), cpu_sample::max_name);
      std::memcpy(s.name, name->data(), n);
      s.name_len = static_cast<std::uint8_t>(n);
    }
  });
}

// The samples so far, by (goroutine, name, stack).
class aggregate {
 public:
  void add(const cpu_sample& s) {
    key_.assign(reinterpret_cast<const char*>(&s.goid), sizeof s.goid);
    key_.push_back(static_cast<char>(s.name_len));
    key_.append(s.name, s.name_len);
    key_.append(reinterpret_cast<const char*>(s.pcs), s.depth * sizeof(void*));
    auto [it, fresh] = index_.try_emplace(key_, stacks_.size());
    if (fresh) {
      stack_count c;
      c.pcs.assign(reinterpret_cast<const std::uintptr_t*>(s.pcs),
                   reinterpret_cast<const std::uintptr_t*>(s.pcs) + s.depth);
      c.goid = s.goid;
      c.goroutine_name.assign(s.name, s.name_len);
      stacks_.push_back(std::move(c));
    }
    stacks_[it->second].count += s.periods;
  }
  std::vector<stack_count> take() { return std::move(stacks_); }

 private:
  std::string key_;  // reused
  std::map<std::string, std::size_t> index_;
  std::vector<stack_count> stacks_;
};

// Releases P1 and stops the ticks however the recording ends.
struct recording_scope {
  std::unique_ptr<sample_ring> r;
  bool ticking = false;
  ~recording_scope() {
    if (ticking) cpu_ticks_stop();
    ring.store(nullptr, std::memory_order_release);
    r.reset();
    recording.store(false, std::memory_order_release);
  }
};

}  // namespace

cpu_profile_data record_cpu_profile(std::chrono::nanoseconds duration) {
  bool idle = false;
  if (!recording.compare_exchange_strong(idle, true, std::memory_order_acq_rel))
    throw cpu_profile_error("a CPU profile is already running");
  recording_scope scope;
  scope.r = std::make_unique<sample_ring>(ring_slots);
  ring.store(scope.r.get(), std::memory_order_release);

  cpu_profile_data out;
  out.period_ns = 1'000'000'000 / cpu_profile_hz;
  out.start_unix_ns =
      std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
  const auto start = std::chrono::steady_clock::now();
  std::string why;
  if (!cpu_ticks_start(out.period_ns, on_tick, &why)) throw cpu_profile_error(why);
  scope.ticking = true;

  aggregate agg;
  auto add = [&agg](const cpu_sample& s) { agg.add(s); };
  const auto end = start + duration;
  for (auto now = start; now < end; now = std::chrono::steady_clock::now()) {
    weft::this_goroutine::sleep_for(std::min<std::chrono::nanoseconds>(drain_every, end - now));
    scope.r->drain(add);
  }
  cpu_ticks_stop();
  scope.ticking = false;
  scope.r->drain(add);  // what came in before the stop

  out.duration_ns =
      std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - start).count();
  out.dropped = scope.r->dropped();
  out.stacks = agg.take();
  return out;
}

}  // namespace weft::detail::trace
