// src/runtime/run.cpp: weft::run, weft::go and this_goroutine: the public
// entry points of the runtime core, on top of proc.cpp.
#include <algorithm>
#include <cstdlib>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "runtime/jump.hpp"
#include "runtime/netpoll.hpp"
#include "platform/futex.hpp"
#include "runtime/gslab.hpp"
#include "runtime/runq.hpp"
#include "runtime/send_batch.hpp"
#include "runtime/signals.hpp"
#include <weft/errors.hpp>
#include <weft/goroutine_local.hpp>
#include <weft/run.hpp>

namespace weft {

namespace detail {

namespace {

std::mutex run_lock;  // one weft::run at a time

struct main_closure {
  std::function<int()>* fn;
  static void invoke(void* self) {
    auto* c = static_cast<main_closure*>(self);
    int code = (*c->fn)();
    sched.exit_code = code;
    // Like Go: when main returns, the program is done.
    sched.stopping.store(true, std::memory_order_release);
    preempt_asks.fetch_add(1, std::memory_order_relaxed);  // every yield point looks now
    wake_all_for_stop();
  }
  static void destroy(void*) noexcept {}
};

void teardown() {
  for (p* pp : sched.allp) {
    g_flush(pp);
    send_batch_free(pp);
    delete pp;
  }
  {
    lock_scope lk(sched.lock);  // no M runs any more: taken for the analysis
    for (p* pp : sched.private_ps) {
      g_flush(pp);
      delete pp;
    }
  }
  gslab_reset_all();
  stacks_release_all();
  {
    lock_scope lk(sched.lock);
    for (m* mp : sched.allm) delete mp;
  }
  sched_reset(0);  // nothing left pointing at the Ps and Ms just freed
}

}  // namespace

void sched_reset(int procs) {
  lock_scope lk(sched.lock);  // no M runs: uncontended, taken for the analysis
  sched.runq.head = sched.runq.tail = nullptr;
  sched.runq.size.store(0, std::memory_order_relaxed);
  sched.freshq.clear();
  sched.pidle = nullptr;
  sched.npidle.store(0);
  sched.midle = nullptr;
  sched.nmidle = 0;
  sched.mcount = 0;
  sched.next_m_id = 0;
  sched.nmspinning.store(0);
  sched.m_wakeups.store(0);
  sched.sysmon_deep_sleeps.store(0);
  sched.allp.clear();
  sched.allm.clear();
  sched.private_ps.clear();
  sched.private_free = nullptr;
  sched.procs = procs;
  sched.timer_waiter = nullptr;
  sched.waiter_polls = false;
  sched.last_poll.store(0);
  sched.waiter_deadline.store(INT64_MIN);  // no waiter: nobody to wake early
  sched.plain_threads_seen.store(false);
  sched.quick_reply_waits.store(0);  // a call the last run's end abandoned
  sched.quick_spin_finds.store(0);
  sched.sysmon_acting.store(false);
  sched.exit_code = 0;
  sched.next_goid.store(1);
  sched.live_goroutines.store(0);
  for (sched_t::live_slot& s : sched.live_by_p) s.n.store(0, std::memory_order_relaxed);
}

m* require_goroutine(const char* what) {
  m* mp = this_m();
  if (mp == nullptr || mp->curg == nullptr)
    throw misuse_error(std::string("weft: ") + what +
                       " called outside a goroutine: start the runtime with weft::run(main) and call it from there");
  return mp;
}

int run_main(std::function<int()> main, const options& opts, const trace_hooks* dumps) {
  if (opts.procs <= 0)
    throw std::invalid_argument("weft::run: options.procs must be at least 1, not " + std::to_string(opts.procs));
  if (this_m() != nullptr) throw std::logic_error("weft::run called from inside weft::run");
  std::unique_lock once(run_lock, std::try_to_lock);
  if (!once.owns_lock()) throw std::logic_error("weft::run called while another weft::run is running");

  set_trace_hooks(dumps);
  install_runtime_signals();
  sched_reset(opts.procs);
  sched.stopping.store(false);
  preempt_asks.store(0, std::memory_order_relaxed);  // fresh Ps below, none flagged
  for (int i = 0; i < opts.procs; ++i) {
    p* pp = new p;
    pp->id = i;
    sched.allp.push_back(pp);
  }
  m* m0 = new m;
  m0->is_m0 = true;
  m0->rand_state = 0x2545f4914f6cdd1dull;
  {
    lock_scope lk(sched.lock);  // no other M yet: taken for the analysis
    m0->id = sched.next_m_id++;
    ++sched.mcount;
    sched.allm.push_back(m0);
    // P0 is M0's; the rest start idle.
    for (int i = opts.procs - 1; i >= 1; --i) {
      sched.allp[i]->link = sched.pidle;
      sched.pidle = sched.allp[i];
    }
  }
  sched.npidle.store(opts.procs - 1);
  p* p0 = sched.allp[0];
  m0->pp = p0;
  p0->owner.store(m0);

  g* main_g = g_get(p0);
  main_g->closure = ::new (main_g->inline_buf) main_closure{&main};
  main_g->ops = &closure_ops_of<main_closure>;
  main_g->id = sched.next_goid.fetch_add(1);
  main_g->stack_request = stack_class_for(main_stack_size);
  main_g->creation_pc.store(__builtin_return_address(0), std::memory_order_relaxed);
  main_g->extras().name = "main";
  main_g->status.store(g_runnable);
  sched.live_goroutines.store(1);
  runq_put(p0, main_g, false);
  sched.epoch.fetch_add(1);
  sched.running.store(true);
  netpoll_init();
  capture_run_sigmask();  // before sysmon, which may start an M
  fp_controls_capture();
  sysmon_start();

  run_m0(m0);  // returns once main has returned
  sysmon_stop();  // before the joins: it may still hand a P to a new M

  // Other Ms finish the G they run (if it never blocks, this waits for it).
  // allm is read under the lock: main may have returned on another M, and
  // a thread that took the lock before it saw stopping may still be taking
  // itself off allm (m_leave); after that nobody does.
  std::vector<m*> ms;
  {
    lock_scope lk(sched.lock);
    ms = sched.allm;
  }
  for (m* mp : ms) {
    if (mp->thread.joinable()) mp->thread.join();
  }
  sched.running.store(false);
  netpoll_shutdown();
  int code = sched.exit_code;
  main_g = nullptr;
  teardown();
  return code;
}

g* g_alloc(std::size_t size, std::size_t align, const go_options* opts, void** closure_storage) {
  m* mp = this_m();
  if (mp == nullptr || mp->pp == nullptr || !sched.running.load(std::memory_order_relaxed))
    throw misuse_error(
        "weft::go called outside weft::run: start the runtime with weft::run(main) and start goroutines from there");
  std::uint8_t cls = stack_class_for(opts ? opts->stack_size : 0);
  g* gp = g_get(mp->pp);
  gp->stack_request = cls;
  if (size <= sizeof gp->inline_buf && align <= alignof(std::max_align_t)) {
    gp->closure = gp->inline_buf;
  } else {
    std::size_t a = std::max<std::size_t>(align, alignof(std::max_align_t));
    gp->closure = std::aligned_alloc(a, (size + a - 1) / a * a);
    if (gp->closure == nullptr) {
      g_put(mp->pp, gp);
      throw std::bad_alloc();
    }
  }
  if (opts && !opts->name.empty()) gp->extras().name = opts->name;
  *closure_storage = gp->closure;
  return gp;
}

void g_discard(g* gp) noexcept { g_put(this_m()->pp, gp); }

namespace {

// The next goroutine id for a goroutine started on pp. Ids are unique and
// increase along each P; a P takes them 16 at a time, so that Ps starting
// goroutines at once do not pass one counter's line between them (skynet
// at procs 2), and so, as in Go, ids started on different Ps interleave.
constexpr std::uint64_t goid_batch = 16;
std::uint64_t next_goid(p* pp) noexcept {
  if (pp->goid_next == pp->goid_end) {
    pp->goid_next = sched.next_goid.fetch_add(goid_batch, std::memory_order_relaxed);
    pp->goid_end = pp->goid_next + goid_batch;
  }
  return pp->goid_next++;
}

}  // namespace

std::int64_t live_goroutine_count() noexcept {
  // Relaxed: a snapshot; g_start and goexit change the parts on other
  // threads meanwhile, and nothing else is read along with them.
  std::int64_t n = sched.live_goroutines.load(std::memory_order_relaxed);
  const int ps = std::min(sched.procs, sched_t::live_slots);  // the others stay 0
  for (int i = 0; i < ps; ++i) n += sched.live_by_p[i].n.load(std::memory_order_relaxed);
  return n;
}

void g_start(g* gp, const closure_ops* ops, void* creation_pc) {
  m* mp = this_m();
  gp->ops = ops;
  gp->creation_pc.store(creation_pc, std::memory_order_relaxed);
  gp->parent_id.store(mp->curg ? mp->curg->id : 0, std::memory_order_relaxed);
  gp->id = next_goid(mp->pp);
  // Release: a goroutine dump that sees the new status sees the fields above.
  gp->status.store(g_runnable, std::memory_order_release);
  count_live_goroutines(mp->pp, 1);
  if (tracing()) trace_record_create(mp, gp->parent_id.load(std::memory_order_relaxed), gp);
  if (gstats_enabled()) gstats_created(gp);
  if (mp->pp->is_private) {  // a bound M runs only its own Gs
    lock_scope lk(sched.lock);
    freshq_put(&gp, 1);
  } else {
    runq_put_next(mp->pp, gp);
    if (start_skips_wake(mp->curg, mp->pp)) return;  // a reader's call handler (parks_soon.cpp)
  }
  wakep();
}

void* gls_get(std::size_t key) {
  g* gp = require_goroutine("goroutine_local::get")->curg;
  if (gp->extra)
    for (const gls_slot& s : gp->extra->gls)
      if (s.key == key) return s.value;
  return nullptr;
}

void gls_set(std::size_t key, void* value, void (*destroy)(void*)) {
  g* gp = require_goroutine("goroutine_local::get")->curg;
  for (gls_slot& s : gp->extras().gls)
    if (s.key == key) {  // replaced: the old value is its setter's to free
      s.value = value;
      s.destroy = destroy;
      return;
    }
  gp->extras().gls.push_back(gls_slot{key, value, destroy});
}

std::size_t gls_new_key() {
  static std::atomic<std::size_t> next{1};
  return next.fetch_add(1);
}

}  // namespace detail

bool running() noexcept { return detail::sched.running.load(std::memory_order_acquire); }

std::size_t num_goroutines() noexcept {
  if (!running()) return 0;
  const std::int64_t n = detail::live_goroutine_count();
  return n > 0 ? static_cast<std::size_t>(n) : 0;
}

namespace this_goroutine {

void yield() {
  if (detail::this_g() == nullptr) {
    std::this_thread::yield();
    return;
  }
  detail::forbid_parking_in_blocking("this_goroutine::yield");
  detail::yield_now();
}

goroutine_id get_id() { return detail::require_goroutine("this_goroutine::get_id")->curg->id; }

}  // namespace this_goroutine
}  // namespace weft
