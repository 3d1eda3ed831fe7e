// src/trace/dump.cpp: what every goroutine is doing.
//
// Every G ever allocated lives in a G slab (runtime/gslab.cpp), so the dump
// walks the slabs. A waiting G's stack is unwound from its saved context.
// To keep it from being resumed meanwhile, the dump sets scan_bit on its
// status with a CAS (waiting -> waiting|scan); ready() waits for the bit to
// clear. A runnable G may be picked up by an M at any moment and a running
// one is on another thread's CPU: their stacks are not read (Go says the same:
// "goroutine running on other thread; stack unavailable").
//
// Cost (issue 16: 100,000 parked goroutines): a dump symbolizes and prints
// each distinct stack and creation site once (dump_memo), and reads each
// distinct pc's CFI row once (trace/cfi_unwind.hpp); a goroutine is then a
// few loads per frame. A stack the CFI walk does not model goes to
// libunwind (one unw_step per frame, each distinct ip asked about once:
// trace::unwind_memo). The memos live for one dump.
//
// The runtime's fatal reports (runtime/fatal.cpp) print these dumps without
// naming trace, a layer above them: trace_hooks_for_runtime hands it the
// functions, and weft::run passes them down.
#include <ostream>
#include <sstream>
#include <algorithm>
#include <string>
#include <utility>
#include <vector>

#include "platform/futex.hpp"
#include "runtime/gslab.hpp"
#include "trace/cfi_unwind.hpp"
#include "trace/dump_internal.hpp"
#include "trace/stacktrace.hpp"
#include <weft/dump.hpp>
#include <weft/run.hpp>

namespace weft::detail {

namespace {

constexpr int max_frames = 64;

std::string state_of(g* gp, std::uint32_t st) {
  switch (st & ~scan_bit) {
    case g_runnable: return "runnable";
    case g_running: return "running";
    case g_waiting: {
      std::string s = gp->wait_reason ? gp->wait_reason : "waiting";
      std::int64_t waited = os::nanotime_coarse() - gp->wait_since;
      if (waited >= 60'000'000'000) {
        s += ", " + std::to_string(waited / 60'000'000'000) + " minutes";
      } else if (waited >= 1'000'000'000) {
        s += ", " + std::to_string(waited / 1'000'000'000) + " s";
      } else if (waited >= 10'000'000) {
        s += ", " + std::to_string(waited / 1'000'000) + " ms";
      }
      return s;
    }
    case g_dead: return "dead";
    default: return "free";
  }
}

// "f at file.cpp:12" while gp is inside weft::blocking, else "".
std::string blocking_call(g* gp) {
  const char* file = gp->blocking_file.load(std::memory_order_relaxed);
  if (file == nullptr) return "";
  const char* fn = gp->blocking_function.load(std::memory_order_relaxed);
  return std::string(fn ? fn : "?") + " at " + file + ":" +
         std::to_string(gp->blocking_line.load(std::memory_order_relaxed));
}

// Who runs on a thread that goroutines are tied to (thread controls): the
// dump names it beside every goroutine that waits for that thread.
struct thread_holder {
  long tid;
  goroutine_id id;
  std::string blocking_call;  // "" when not in weft::blocking
};

struct dump_ctx {
  std::ostream* out;
  g* self;
  void* const* self_pcs;
  int self_n;
  std::vector<thread_holder> holders;
  dump_memo memo;
  trace::unwind_memo unwind;
  trace::step_rules rules;
};

bool is_goroutine_entry(void* pc) {
  return trace::symbolize(pc).function.rfind("weft::detail::(anonymous namespace)::g_entry", 0) == 0;
}

void find_holder(g* gp, void* arg) {
  auto* c = static_cast<dump_ctx*>(arg);
  long tid = gp->home_tid.load(std::memory_order_relaxed);
  if (tid == 0 || gp->is_g0 || gp->status.load(std::memory_order_acquire) != g_running) return;
  c->holders.push_back({tid, gp->id, blocking_call(gp)});
}

// The thread-control line of gp, if it has one:
//   tied to thread 1234 (lock_os_thread)
//   waits for thread 1234 (thread_locker), held by goroutine 9 in a blocking call from f at x.cpp:12
void control_line(std::ostream& out, g* gp, std::uint32_t st, const dump_ctx& c) {
  long tid = gp->home_tid.load(std::memory_order_relaxed);
  if (tid == 0) return;
  static const char* const names[] = {"", "lock_os_thread", "dedicate_os_thread", "thread_locker"};
  std::uint8_t kind = gp->control.load(std::memory_order_relaxed);
  const char* name = kind < 4 ? names[kind] : "";
  if ((st & ~scan_bit) != g_runnable) {
    out << "\ttied to thread " << tid << " (" << name << ")\n";
    return;
  }
  out << "\twaits for thread " << tid << " (" << name << ")";
  for (const thread_holder& h : c.holders) {
    if (h.tid != tid) continue;
    out << ", held by goroutine " << h.id;
    if (!h.blocking_call.empty()) out << " in a blocking call from " << h.blocking_call;
  }
  out << "\n";
}

void dump_one(g* gp, void* arg) {
  auto* c = static_cast<dump_ctx*>(arg);
  std::uint32_t st = gp->status.load(std::memory_order_acquire);
  if (st == g_unused || st == g_dead || gp->is_g0) return;
  void* pcs[max_frames] = {};
  int n = 0;
  std::string state;
  if (gp == c->self) {
    n = std::min(c->self_n, max_frames);
    std::copy(c->self_pcs, c->self_pcs + n, pcs);
  } else if (st == g_waiting) {
    std::uint32_t expected = g_waiting;
    if (gp->status.compare_exchange_strong(expected, g_waiting | scan_bit, std::memory_order_acquire)) {
      // The wait reason too is read while the scan bit holds the G parked:
      // once it is cleared the G may run and park again, rewriting it.
      state = state_of(gp, g_waiting);
      // Below g_entry nothing is printed (trim_runtime_frames): the CFI
      // walk stops there, before the trampoline that has no CFI.
      if (gp->ctx)
        n = trace::unwind_parked(gp->ctx, gp->stk.lo, gp->stk.hi, pcs, max_frames, &c->rules, is_goroutine_entry);
      if (gp->ctx && n < 0) n = trace::capture_fcontext(gp->ctx, pcs, max_frames, &c->unwind);
      gp->status.fetch_and(~scan_bit, std::memory_order_release);
      st = g_waiting;
    } else {
      st = expected;
    }
  }
  if (state.empty() && (st & ~scan_bit) != g_waiting) state = state_of(gp, st);
  if (state.empty()) state = "waiting";  // it parked again meanwhile; its reason is its own business now
  std::string blocking = st == g_running ? blocking_call(gp) : "";
  if (!blocking.empty()) state += ", in a blocking call";
  describe_goroutine(*c->out, gp, pcs, n, &state, &c->memo);
  control_line(*c->out, gp, st, *c);
  if (!blocking.empty()) {
    *c->out << "\tin weft::blocking called from " << blocking << "\n";
  } else if (n == 0 && gp != c->self) {
    *c->out << (st == g_running ? "\tgoroutine running on another thread; stack unavailable\n"
                                : "\tstack not captured in this state\n");
  }
  *c->out << "\n";
}

}  // namespace

void trim_runtime_frames(void* const* pcs, int n, int* first, int* last) {
  *first = 0;
  *last = n;
  for (int i = 0; i < n; ++i) {
    std::string f = trace::symbolize(pcs[i]).function;
    if (f.rfind("weft::detail::switch_to", 0) == 0 || f.rfind("__cxa_throw", 0) == 0 ||
        f.rfind("__cxa_rethrow", 0) == 0 || f.rfind("std::rethrow_exception", 0) == 0) {
      *first = i + 1;
    } else if (f.rfind("weft::detail::(anonymous namespace)::g_entry", 0) == 0) {
      *last = i;
      break;
    }
  }
  if (*first > *last) *first = *last;
}

namespace {

std::string trace_text(void* const* pcs, int n) {
  int first = 0, last = n;
  trim_runtime_frames(pcs, n, &first, &last);
  std::ostringstream out;
  trace::print_trace(out, pcs + first, last - first);
  return out.str();
}

std::pair<std::string, std::string> creator_text(void* pc) {
  trace::frame f = trace::symbolize(pc);
  std::pair<std::string, std::string> t{"created by " + f.function, ""};
  if (!f.file.empty()) t.second = "\t" + f.file + ":" + std::to_string(f.line) + "\n";
  return t;
}

}  // namespace

void describe_goroutine(std::ostream& out, g* gp, void* const* pcs, int n, const std::string* state, dump_memo* memo) {
  std::uint32_t st = gp->status.load(std::memory_order_relaxed);
  out << "goroutine " << gp->id;
  if (std::string name = g_name(gp); !name.empty()) out << " \"" << name << "\"";
  out << " [" << (state ? *state : state_of(gp, st)) << "]:\n";
  if (memo == nullptr) {
    out << trace_text(pcs, n);
  } else {
    std::string key(reinterpret_cast<const char*>(pcs), static_cast<std::size_t>(n) * sizeof(void*));
    auto it = memo->traces.find(key);
    if (it == memo->traces.end()) it = memo->traces.emplace(std::move(key), trace_text(pcs, n)).first;
    out << it->second;
  }
  if (void* pc = gp->creation_pc.load(std::memory_order_relaxed)) {
    std::pair<std::string, std::string> fresh;
    const std::pair<std::string, std::string>* t = &fresh;
    if (memo == nullptr) {
      fresh = creator_text(pc);
    } else {
      auto it = memo->creators.find(pc);
      if (it == memo->creators.end()) it = memo->creators.emplace(pc, creator_text(pc)).first;
      t = &it->second;
    }
    out << t->first;
    if (goroutine_id parent = gp->parent_id.load(std::memory_order_relaxed)) out << " in goroutine " << parent;
    out << "\n" << t->second;
  }
}

// Goroutines that never ran and wait in the global queue as records
// (runtime/freshq.hpp) have no G to walk: each is listed as its G would
// have been, from a stand-in G with the record's fields, under the queue's
// lock. A fatal report may come from a thread that holds that lock: after
// a bounded try the dump says how many it leaves out instead of waiting.
namespace {
void dump_records(dump_ctx& c) NO_THREAD_SAFETY_ANALYSIS {
  bool locked = false;
  for (int i = 0; i < 10000 && !(locked = sched.lock.try_lock()); ++i) cpu_relax();
  if (!locked) {
    if (std::int32_t n = sched.freshq.size.load(std::memory_order_relaxed); n > 0)
      *c.out << "(up to " << n
             << " goroutines that have not started are not listed: the scheduler's queue is locked)\n\n";
    return;
  }
  sched.freshq.for_each_record(
      [](const fresh_entry& e, void* arg) {
        g stand_in;
        stand_in.id = e.id;
        stand_in.creation_pc.store(e.creation_pc, std::memory_order_relaxed);
        stand_in.parent_id.store(e.parent_id, std::memory_order_relaxed);
        stand_in.status.store(g_runnable, std::memory_order_relaxed);
        dump_one(&stand_in, arg);
      },
      &c);
  sched.lock.unlock();
}
}  // namespace

void dump_all_goroutines(std::ostream& out, g* self, void* const* self_pcs, int self_n) {
  dump_ctx c{&out, self, self_pcs, self_n, {}, {}, {}, {}};
  for_each_g(find_holder, &c);
  for_each_g(dump_one, &c);
  dump_records(c);
}

[[gnu::noinline]] std::string dump_goroutines_text(int skip) {
  void* pcs[64];
  int n = trace::capture_here(pcs, 64, 1 + skip);
  g* self = this_g();
  std::ostringstream buf;
  on_system_stack([&] { dump_all_goroutines(buf, self, pcs, n); });
  return std::move(buf).str();
}

const trace_hooks* trace_hooks_for_runtime() noexcept {
  static constexpr trace_hooks hooks{
      trace::capture_here,
      trace::capture_ucontext,
      [](std::ostream& out, g* gp, void* const* pcs, int n) { describe_goroutine(out, gp, pcs, n); },
      dump_all_goroutines,
  };
  return &hooks;
}

}  // namespace weft::detail

namespace weft {

void dump_goroutines(std::ostream& out) {
  // One write: the dump is not interleaved with other output.
  out << detail::dump_goroutines_text(1);
}

}  // namespace weft
