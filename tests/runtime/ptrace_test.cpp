// tests/runtime/ptrace_test.cpp: weft::thread_locker on the case of Go issue
// #49848, as examples/ptrace_tracer.cpp runs it. Linux takes ptrace requests
// for a tracee only from its tracer thread (the thread that forked the
// PTRACE_TRACEME child); from any other thread they fail with ESRCH. An event
// loop goroutine locks tl first, forks the child on tl's thread and runs it
// from syscall stop to syscall stop; an evaluator goroutine locks tl too and,
// asked over a channel at every few stops, reads the child's counter
// (PTRACE_PEEKDATA) and its syscall (PTRACE_GET_SYSCALL_INFO). Asserted: every
// request succeeds and comes from tl.thread_id(); the values read never go
// down, match the argument the child passes to getpid and its exit status;
// every question gets its answer; and so whether tl binds to the thread that
// called weft::run or to another one. A goroutine that does not hold tl gets
// ESRCH for the same request, until it locks tl.
//
// Where ptrace is not permitted (Yama's ptrace_scope 3, a seccomp filter, a
// container without CAP_SYS_PTRACE rules), every test is skipped with a
// message that says so: never passed without running.
#include <weft/thread.hpp>
#include <weft/weft.hpp>

#include <gtest/gtest.h>

#include <fcntl.h>
#include <signal.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <fstream>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "weft_test_util.hpp"

namespace {

using weft_test::procs_opt;

volatile long counter = 0;  // the child's; a fork, so at the same address as ours

// The child sets counter to first, stops, then for i = 1..iterations sets
// counter = first + i, calls getpid(counter) and writes a byte to /dev/null;
// it exits with status counter % 256. It makes only async-signal-safe calls
// (it has one thread, and a lock another thread held at the fork stays held)
// and ends with exit_group, not _exit, which sanitizers intercept to run
// their exit hooks.
[[noreturn]] void child(long first, long iterations, int devnull) {
  if (ptrace(PTRACE_TRACEME, 0, nullptr, nullptr) != 0) syscall(SYS_exit_group, errno == EPERM ? 10 : 11);
  counter = first;
  raise(SIGSTOP);
  for (long i = 1; i <= iterations; ++i) {
    counter = first + i;
    syscall(SYS_getpid, counter);
    syscall(SYS_write, devnull, "x", 1);
  }
  syscall(SYS_exit_group, static_cast<int>(counter % 256));
  __builtin_unreachable();
}

// Why ptrace of one's own child cannot be tested here, or "" if it can.
// Only a refusal (EPERM, Yama's scope 3) counts; any other failure is left
// for the tests to report.
std::string ptrace_refused() {
  std::ifstream yama("/proc/sys/kernel/yama/ptrace_scope");
  int scope = -1;
  if (yama >> scope && scope == 3)
    return "ptrace is not permitted on this machine: /proc/sys/kernel/yama/ptrace_scope is 3";
  pid_t pid = fork();
  if (pid == 0) child(0, 0, -1);
  if (pid < 0) return "";
  int status = 0;
  waitpid(pid, &status, __WALL);
  if (WIFEXITED(status) && WEXITSTATUS(status) == 10)
    return "ptrace is not permitted here: PTRACE_TRACEME fails with EPERM (a seccomp or container policy, or "
           "is this test traced already, e.g. under strace -f or gdb?)";
  std::string why;
  if (WIFSTOPPED(status)) {
    errno = 0;
    ptrace(PTRACE_PEEKDATA, pid, const_cast<long*>(&counter), nullptr);
    if (errno == EPERM) why = "ptrace is not permitted here: PTRACE_PEEKDATA of a traced child fails with EPERM";
  }
  kill(pid, SIGKILL);
  waitpid(pid, &status, __WALL);
  return why;
}

// The failures goroutines record; a mutex, since a goroutine that is not on
// the tracer thread writes too.
struct failures {
  std::mutex mu;
  std::vector<std::string> list;
  void add(std::string what) {
    std::lock_guard held(mu);
    list.push_back(std::move(what));
  }
  bool any() {
    std::lock_guard held(mu);
    return !list.empty();
  }
  std::string all() {
    std::lock_guard held(mu);
    std::string s;
    for (auto& f : list) s += "\n  " + f;
    return s;
  }
};

// One ptrace request for pid, checked: it must come from tl's thread and
// succeed (errno tells, since PEEKDATA may return -1 as data). Not inlined,
// nor are the other functions here that read errno: inlined into a caller
// that changes threads (tl.lock()), &errno could be computed once, before,
// and read the old thread's errno (docs/runtime.md).
[[gnu::noinline]] long request(weft::thread_locker& tl, failures& fails, const std::string& what,
                               __ptrace_request req, pid_t pid, void* addr = nullptr, void* data = nullptr) {
  long tid = gettid(), tracer = tl.thread_id();
  if (tid != tracer) fails.add(what + " made from thread " + std::to_string(tid) + ", not " + std::to_string(tracer));
  errno = 0;
  long r = ptrace(req, pid, addr, data);
  if (errno != 0) fails.add(what + " failed: " + std::strerror(errno));
  return r;
}

// waitpid for pid in weft::blocking; -1 (recorded) if it fails.
[[gnu::noinline]] int wait_child(pid_t pid, failures& fails) {
  int status = 0;
  pid_t r = weft::blocking([&] {
    pid_t w;
    do w = waitpid(pid, &status, __WALL);
    while (w < 0 && errno == EINTR);
    return w;
  });
  if (r != pid) {
    fails.add(std::string("waitpid: ") + std::strerror(errno));
    return -1;
  }
  return status;
}

// Forks the child on the calling goroutine's thread and waits for its first
// stop; 0 (recorded) if that fails.
[[gnu::noinline]] pid_t start_child(long first, long iterations, failures& fails) {
  int devnull = open("/dev/null", O_WRONLY | O_CLOEXEC);
  pid_t pid = fork();
  if (pid == 0) child(first, iterations, devnull);
  close(devnull);
  if (pid < 0) {
    fails.add(std::string("fork: ") + std::strerror(errno));
    return 0;
  }
  int status = wait_child(pid, fails);
  if (status != -1 && !WIFSTOPPED(status)) fails.add("the child did not stop: status " + std::to_string(status));
  if (fails.any()) {
    kill(pid, SIGKILL);
    if (status != -1 && !WIFEXITED(status) && !WIFSIGNALED(status)) wait_child(pid, fails);
    return 0;
  }
  return pid;
}

// PTRACE_PEEKDATA of the child's counter, unchecked: the value, and errno in
// *err.
[[gnu::noinline]] long peek(pid_t pid, int* err) {
  errno = 0;
  long v = ptrace(PTRACE_PEEKDATA, pid, const_cast<long*>(&counter), nullptr);
  *err = errno;
  return v;
}

struct question {
  pid_t pid = 0;
  long stop = 0;  // the syscall stops before it; -1 at the exit stop
};

struct evaluation {
  long stop = 0;
  long tid = 0;  // the evaluator's thread
  long counter = 0;
  int op = PTRACE_SYSCALL_INFO_NONE;
  long nr = -1, arg0 = 0;  // when op is PTRACE_SYSCALL_INFO_ENTRY
};

struct trace_result {
  long main_tid = 0;    // main's thread, in its blocking call (off_main only)
  long tracer_tid = 0;  // the event loop's thread once it held tl
  long syscall_stops = 0;
  long asked = 0;
  std::vector<evaluation> evals;
  int exit_status = -1;
};

// The evaluator: holds tl while it answers; the channels by value, since the
// event loop may be gone by the time it sees ask closed.
void evaluator(weft::thread_locker& tl, weft::chan<question> ask, weft::chan<evaluation> answer, failures& fails) {
  try {
    std::lock_guard on_tracer(tl);
    for (question q : ask) {
      evaluation e{.stop = q.stop, .tid = gettid()};
      std::string at = "evaluator at stop " + std::to_string(q.stop) + ": ";
      e.counter = request(tl, fails, at + "PTRACE_PEEKDATA", PTRACE_PEEKDATA, q.pid, const_cast<long*>(&counter));
      __ptrace_syscall_info info{};
      request(tl, fails, at + "PTRACE_GET_SYSCALL_INFO", PTRACE_GET_SYSCALL_INFO, q.pid,
              reinterpret_cast<void*>(sizeof info), &info);
      e.op = info.op;
      if (e.op == PTRACE_SYSCALL_INFO_ENTRY) e.nr = long(info.entry.nr), e.arg0 = long(info.entry.args[0]);
      answer.send(e);
    }
  } catch (const std::exception& e) {
    fails.add(std::string("evaluator: ") + e.what());
    for (question q : ask) answer.send(evaluation{.stop = q.stop});  // keep the event loop going
  }
}

// The event loop: runs a child of `iterations` and asks at every `every`th
// syscall stop and at the exit stop.
void event_loop(weft::thread_locker& tl, long iterations, long every, trace_result& res, failures& fails,
                weft::wait_group& wg, std::atomic<bool>& bound) {
  std::lock_guard on_tracer(tl);  // the first lock: binds tl to this thread
  res.tracer_tid = tl.thread_id();
  bound = true;
  if (res.tracer_tid != gettid()) fails.add("tl is bound to " + std::to_string(res.tracer_tid) + ", not to its holder");
  weft::chan<question> ask;
  weft::chan<evaluation> answer;
  wg.add(1);
  weft::go(weft_test::named("evaluator"), [&tl, &fails, &wg, ask, answer] {
    evaluator(tl, ask, answer, fails);
    wg.done();
  });
  pid_t pid = start_child(0, iterations, fails);
  if (pid == 0) {
    ask.close();
    return;
  }
  request(tl, fails, "PTRACE_SETOPTIONS", PTRACE_SETOPTIONS, pid, nullptr,
          reinterpret_cast<void*>(long(PTRACE_O_TRACESYSGOOD | PTRACE_O_TRACEEXIT | PTRACE_O_EXITKILL)));
  auto evaluate = [&](long stop) {
    ++res.asked;
    ask.send(question{pid, stop});
    res.evals.push_back(*answer.recv());
  };
  int status = 0;
  for (int sig = 0; !fails.any();) {
    request(tl, fails, "PTRACE_SYSCALL", PTRACE_SYSCALL, pid, nullptr, reinterpret_cast<void*>(long(sig)));
    sig = 0;
    if ((status = wait_child(pid, fails)) == -1) break;
    if (WIFSTOPPED(status) && WSTOPSIG(status) == (SIGTRAP | 0x80)) {
      if (++res.syscall_stops % every == 0) evaluate(res.syscall_stops);
    } else if (status >> 8 == (SIGTRAP | (PTRACE_EVENT_EXIT << 8))) {
      evaluate(-1);
      request(tl, fails, "PTRACE_CONT", PTRACE_CONT, pid);
      if ((status = wait_child(pid, fails)) != -1 && WIFEXITED(status)) res.exit_status = WEXITSTATUS(status);
      else fails.add("the child did not exit after its exit stop: status " + std::to_string(status));
      pid = 0;
      break;
    } else if (WIFSTOPPED(status)) {
      sig = WSTOPSIG(status);  // a signal for the child: pass it on
    } else {
      fails.add("the child ended before its exit stop: status " + std::to_string(status));
      pid = 0;
      break;
    }
  }
  if (pid != 0) {  // stopped on a failure: the child goes too
    kill(pid, SIGKILL);
    wait_child(pid, fails);
  }
  ask.close();
}

// Runs the event loop (which starts the evaluator) in weft::run. Main then
// parks, and the event loop most often runs on main's thread; with off_main,
// main holds its thread in a blocking call until tl is bound, so that tl
// binds to another thread, one that ends when both goroutines unlock.
trace_result trace(int procs, long iterations, long every, bool off_main, failures& fails) {
  trace_result res;
  weft::run([&] {
    weft::thread_locker tl;
    weft::wait_group wg;
    std::atomic<bool> bound{false};
    wg.add(1);
    weft::go(weft_test::named("event loop"), [&] {
      try {
        event_loop(tl, iterations, every, res, fails, wg, bound);
      } catch (const std::exception& e) {
        fails.add(std::string("event loop: ") + e.what());
        bound = true;  // main need not wait for it any longer
      }
      wg.done();
    });
    if (off_main) {
      weft::blocking([&] {
        res.main_tid = gettid();
        auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
        while (!bound && std::chrono::steady_clock::now() < deadline)
          std::this_thread::sleep_for(std::chrono::milliseconds(1));
      });
    }
    wg.wait();  // both have let go of tl before it is destroyed
  }, procs_opt(procs));
  return res;
}

// What every trace of a child of `iterations` asked at every `every`th stop
// must show.
void check_trace(const trace_result& res, long iterations, long every) {
  // Each iteration makes two syscalls (an entry and an exit stop each), then
  // exit_group makes its entry stop.
  EXPECT_EQ(res.syscall_stops, 4 * iterations + 1);
  EXPECT_EQ(res.asked, res.syscall_stops / every + 1);
  ASSERT_EQ(static_cast<long>(res.evals.size()), res.asked) << "questions went unanswered";
  ASSERT_FALSE(res.evals.empty());
  long last = 0, checked = 0;
  for (const evaluation& e : res.evals) {
    SCOPED_TRACE("evaluation at stop " + std::to_string(e.stop));
    EXPECT_EQ(e.tid, res.tracer_tid) << "the evaluator ran off the tracer thread";
    EXPECT_GE(e.counter, last) << "the counter went down";
    EXPECT_LE(e.counter, iterations);
    if (e.op == PTRACE_SYSCALL_INFO_ENTRY && e.nr == SYS_getpid) {
      EXPECT_EQ(e.arg0, e.counter) << "the peeked counter differs from what the child passed to getpid";
      ++checked;
    }
    last = e.counter;
  }
  EXPECT_GT(checked, 10) << "too few evaluations at a getpid entry to check the peeks against";
  EXPECT_EQ(res.evals.back().stop, -1);
  EXPECT_EQ(res.evals.back().counter, iterations) << "the final value read at the exit stop";
  EXPECT_EQ(res.exit_status, int(iterations % 256)) << "the child's own report of its counter";
}

class Ptrace : public ::testing::TestWithParam<int> {
 protected:
  void SetUp() override {
    static const std::string refused = ptrace_refused();
    if (!refused.empty()) GTEST_SKIP() << refused;
  }
};

// The #49848 case: two goroutines issue ptrace requests for one child
// through one thread_locker.
TEST_P(Ptrace, EventLoopAndEvaluatorShareTheTracerThread) {
  constexpr long iterations = 100, every = 3;
  failures fails;
  trace_result res = trace(GetParam(), iterations, every, false, fails);
  ASSERT_FALSE(fails.any()) << "at procs " << GetParam() << ":" << fails.all();
  check_trace(res, iterations, every);
}

// The same with tl bound to a thread that main's goroutine does not hold.
TEST_P(Ptrace, TheTracerThreadCanBeAnyThread) {
  constexpr long iterations = 100, every = 3;
  failures fails;
  trace_result res = trace(GetParam(), iterations, every, true, fails);
  ASSERT_FALSE(fails.any()) << "at procs " << GetParam() << ":" << fails.all();
  EXPECT_NE(res.tracer_tid, res.main_tid) << "the event loop ran on the thread main held in a blocking call";
  check_trace(res, iterations, every);
}

// The same request from a goroutine that does not hold tl runs on another
// thread and fails with ESRCH; once that goroutine locks tl it succeeds.
TEST_P(Ptrace, ARequestOffTheTracerThreadFailsWithESRCH) {
  constexpr long first = 4242;  // what the child's counter holds at its stop
  struct probe {
    long tid = 0, tracer = 0;  // gettid() and tl.thread_id() before locking tl
    long peek = 0;
    int err = 0;
    long tid_locked = 0, tracer_locked = 0, peek_locked = 0;
    int err_locked = 0;
  };
  failures fails;
  probe p;
  long tracer_tid = 0;
  weft::run([&] {
    weft::thread_locker tl;
    weft::chan<pid_t> go_probe;
    weft::chan<probe> result;
    weft::wait_group wg;
    wg.add(1);
    weft::go(weft_test::named("outsider"), [&] {
      std::optional<pid_t> pid = go_probe.recv();
      if (!pid) {  // main found no child to probe
        wg.done();
        return;
      }
      try {
        probe r;
        r.tid = gettid();
        r.tracer = tl.thread_id();
        r.peek = peek(*pid, &r.err);
        {
          std::lock_guard on_tracer(tl);
          r.tid_locked = gettid();
          r.tracer_locked = tl.thread_id();
          r.peek_locked = peek(*pid, &r.err_locked);
        }
        result.send(r);
      } catch (const std::exception& e) {
        fails.add(std::string("outsider: ") + e.what());
        result.send(probe{});
      }
      wg.done();
    });
    try {
      std::lock_guard on_tracer(tl);  // main is the tracer this time
      tracer_tid = tl.thread_id();
      if (pid_t pid = start_child(first, 0, fails)) {
        EXPECT_EQ(request(tl, fails, "tracer's PTRACE_PEEKDATA", PTRACE_PEEKDATA, pid, const_cast<long*>(&counter)),
                  first);
        go_probe.send(pid);
        p = *result.recv();
        kill(pid, SIGKILL);
        wait_child(pid, fails);
      } else {
        go_probe.close();
      }
    } catch (const std::exception& e) {
      fails.add(std::string("main: ") + e.what());
      go_probe.close();
    }
    wg.wait();
  }, procs_opt(GetParam()));
  ASSERT_FALSE(fails.any()) << "at procs " << GetParam() << ":" << fails.all();

  EXPECT_NE(tracer_tid, 0);
  EXPECT_EQ(p.tracer, tracer_tid);
  EXPECT_NE(p.tid, tracer_tid) << "a goroutine that does not hold tl ran on its thread";
  EXPECT_EQ(p.peek, -1);
  EXPECT_EQ(p.err, ESRCH) << "off the tracer thread: " << std::strerror(p.err);
  EXPECT_EQ(p.tid_locked, tracer_tid) << "tl.lock() did not move the goroutine onto the tracer thread";
  EXPECT_EQ(p.tracer_locked, tracer_tid);
  EXPECT_EQ(p.err_locked, 0) << "on the tracer thread: " << std::strerror(p.err_locked);
  EXPECT_EQ(p.peek_locked, first);
}

INSTANTIATE_TEST_SUITE_P(Procs, Ptrace, ::testing::Values(1, 2, 4), weft_test::procs_name);

}  // namespace
