// examples/ptrace_tracer.cpp: a small ptrace tracer whose event loop and
// expression evaluator are two goroutines on one OS thread (Go issue #49848).
//
//   ptrace_tracer [ITERATIONS [EVERY [PROCS]]]   default 200, 25, one P per core
//
// Linux answers a ptrace request only from the tracer: the thread that forked
// the PTRACE_TRACEME child (or attached to it). From any other thread, even
// one of the same process, the request fails with ESRCH. Go debuggers (Delve)
// therefore lock one goroutine to a thread and funnel every request to it
// over a channel, so each request costs two cross-thread wake-ups; in Delve's
// conditional breakpoints that was about 2/3 of the time (golang/go#21827).
// #49848 asked for N goroutines locked to one thread, so that an event loop
// and an expression evaluator could both make their requests directly. Go
// declined it; weft has it as thread_locker. Here:
//
//   event loop  locks tl first, which binds tl to its thread, and forks the
//               child there, so that thread is the tracer. It runs the child
//               from syscall stop to syscall stop (PTRACE_SYSCALL), waits in
//               waitpid inside weft::blocking (so dumps show the call), and
//               at every EVERY-th stop and at the exit stop asks the evaluator.
//   evaluator   locks tl too, which moves it onto the tracer thread, and
//               evaluates the "expression" `counter` in the stopped child
//               (PTRACE_PEEKDATA) and the syscall it is in
//               (PTRACE_GET_SYSCALL_INFO).
//   child       PTRACE_TRACEME, SIGSTOP, then ITERATIONS times: counter = i,
//               getpid (passed i, a value to check the peek against), a write
//               to /dev/null; exits with status counter % 256.
//
// Question and answer go over weft::chan between two goroutines of one
// thread: the send readies the evaluator, the event loop parks on the answer
// and the thread switches to the evaluator in user space: no futex wake-up,
// no second thread, the cost of any goroutine switch. The price the issue
// pointed out, that the event loop cannot run while the evaluator does, costs
// nothing here: the child stays stopped until the answer is in. Both
// goroutines check that each request succeeds and comes from tl.thread_id().
//
// Prints the stops, the evaluations and the values read, and the exit status.
// Exits 1 with a message on any failure (the child is killed first).

#include <weft/thread.hpp>
#include <weft/weft.hpp>

#include <fcntl.h>
#include <signal.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <mutex>
#include <string>

namespace {

volatile long counter = 0;  // the child's; a fork, so at the same address as ours
pid_t child_pid = 0;

[[noreturn]] void fail(const std::string& what) {
  if (child_pid > 0) kill(child_pid, SIGKILL);
  std::fflush(stdout);
  std::fprintf(stderr, "ptrace_tracer: FAILED: %s\n", what.c_str());
  std::_Exit(1);  // other goroutines are mid-trace: no clean way out
}

// The child makes only async-signal-safe calls (it has one thread, and a lock
// another thread held at the fork stays held) and ends with exit_group, not
// _exit, which sanitizers intercept to run their exit hooks.
[[noreturn]] void child(long iterations, int devnull) {
  if (ptrace(PTRACE_TRACEME, 0, nullptr, nullptr) != 0) syscall(SYS_exit_group, 127);
  raise(SIGSTOP);  // wait for the tracer
  for (long i = 1; i <= iterations; ++i) {
    counter = i;
    syscall(SYS_getpid, i);
    syscall(SYS_write, devnull, "x", 1);
  }
  syscall(SYS_exit_group, static_cast<int>(counter % 256));
  __builtin_unreachable();
}

// One ptrace request for the child, checked: it must come from the tracer
// thread and succeed (errno, since PEEKDATA may return -1 as data). Not
// inlined, nor is wait_child: errno is per thread, and a caller that changed
// threads (tl.lock()) could hold &errno of the old one (docs/runtime.md).
[[gnu::noinline]] long request(weft::thread_locker& tl, const char* who, __ptrace_request req, void* addr, void* data) {
  if (long tid = gettid(); tid != tl.thread_id())
    fail(std::string(who) + " is on thread " + std::to_string(tid) + ", not the tracer " +
         std::to_string(tl.thread_id()));
  errno = 0;
  long r = ptrace(req, child_pid, addr, data);
  if (errno != 0) fail(std::string(who) + ": ptrace request " + std::to_string(req) + ": " + std::strerror(errno));
  return r;
}

[[gnu::noinline]] int wait_child() {
  int status = 0;
  pid_t r = weft::blocking([&] {
    pid_t w;
    do w = waitpid(child_pid, &status, __WALL);
    while (w < 0 && errno == EINTR);
    return w;
  });
  if (r != child_pid) fail(std::string("waitpid: ") + std::strerror(errno));
  return status;
}

struct evaluation {
  long stop = 0;  // the syscall stop it was asked at
  long counter = 0;
  int op = PTRACE_SYSCALL_INFO_NONE;
  long nr = -1, arg0 = 0;  // when op is PTRACE_SYSCALL_INFO_ENTRY
};

// ask and answer by value: copies share the channel, and the event loop may
// be gone by the time this goroutine sees that ask is closed.
void evaluator(weft::thread_locker& tl, weft::chan<long> ask, weft::chan<evaluation> answer) {
  std::lock_guard on_tracer(tl);  // moves this goroutine onto the tracer thread
  for (long stop : ask) {
    evaluation e{.stop = stop};
    e.counter = request(tl, "evaluator", PTRACE_PEEKDATA, const_cast<long*>(&counter), nullptr);
    __ptrace_syscall_info info{};
    request(tl, "evaluator", PTRACE_GET_SYSCALL_INFO, reinterpret_cast<void*>(sizeof info), &info);
    e.op = info.op;
    if (e.op == PTRACE_SYSCALL_INFO_ENTRY) e.nr = long(info.entry.nr), e.arg0 = long(info.entry.args[0]);
    answer.send(e);
  }
}

void event_loop(weft::thread_locker& tl, long iterations, long every, weft::wait_group& wg) {
  std::lock_guard on_tracer(tl);  // the first lock: binds tl to this thread
  weft::chan<long> ask;
  weft::chan<evaluation> answer;
  wg.add(1);
  weft::go(weft::go_options{.name = "evaluator"}, [&tl, &wg, ask, answer] {
    try {
      evaluator(tl, ask, answer);
    } catch (const std::exception& e) {
      fail(std::string("evaluator: ") + e.what());
    }
    wg.done();
  });

  int devnull = open("/dev/null", O_WRONLY | O_CLOEXEC);
  if (devnull < 0) fail(std::string("/dev/null: ") + std::strerror(errno));
  child_pid = fork();  // on the tracer thread: it becomes the child's tracer
  if (child_pid == 0) child(iterations, devnull);
  if (child_pid < 0) fail(std::string("fork: ") + std::strerror(errno));
  close(devnull);
  int status = wait_child();
  if (!WIFSTOPPED(status))  // the child's PTRACE_TRACEME failed
    fail("the child could not be traced (wait status " + std::to_string(status) + "): is ptrace permitted here "
         "(Yama's ptrace_scope, seccomp)? Is this program traced already (strace -f, gdb)?");
  std::printf("tracing child %d from thread %ld: %ld iterations, evaluating at every %ldth syscall stop\n",
              int(child_pid), tl.thread_id(), iterations, every);
  const long options = PTRACE_O_TRACESYSGOOD | PTRACE_O_TRACEEXIT | PTRACE_O_EXITKILL;
  request(tl, "event loop", PTRACE_SETOPTIONS, nullptr, reinterpret_cast<void*>(options));

  long stops = 0, evaluations = 0, last = 0, checked = 0;
  std::string values;
  auto evaluate = [&] {
    ask.send(stops);
    evaluation e = *answer.recv();
    ++evaluations;
    std::string at = "at stop " + std::to_string(e.stop) + ": ";
    if (e.counter < last)
      fail(at + "the counter went down from " + std::to_string(last) + " to " + std::to_string(e.counter));
    if (e.op == PTRACE_SYSCALL_INFO_ENTRY && e.nr == SYS_getpid) {
      ++checked;
      if (e.arg0 != e.counter)
        fail(at + "getpid(" + std::to_string(e.arg0) + ") but the counter read " + std::to_string(e.counter));
    }
    last = e.counter;
    values += " " + std::to_string(e.counter);
  };
  for (int sig = 0;;) {
    request(tl, "event loop", PTRACE_SYSCALL, nullptr, reinterpret_cast<void*>(long(sig)));
    sig = 0;
    status = wait_child();
    if (WIFSTOPPED(status) && WSTOPSIG(status) == (SIGTRAP | 0x80)) {  // a syscall stop
      if (++stops % every == 0) evaluate();
    } else if (status >> 8 == (SIGTRAP | (PTRACE_EVENT_EXIT << 8))) {  // about to exit
      evaluate();
      request(tl, "event loop", PTRACE_CONT, nullptr, nullptr);
      status = wait_child();
      break;
    } else if (WIFSTOPPED(status)) {
      sig = WSTOPSIG(status);  // a signal for the child: pass it on
    } else {
      fail("the child ended early, status " + std::to_string(status));
    }
  }
  ask.close();
  if (!WIFEXITED(status)) fail("the child did not exit normally, status " + std::to_string(status));
  child_pid = 0;
  std::printf("%ld syscall stops; %ld evaluations on the tracer thread (%ld checked against getpid's argument)\n",
              stops, evaluations, checked);
  std::printf("counter read:%s\n", values.c_str());
  std::printf("child exited with status %d; its counter was %ld\n", WEXITSTATUS(status), last);
  if (last != iterations || WEXITSTATUS(status) != iterations % 256)
    fail("expected a final counter of " + std::to_string(iterations));
}

long arg(int argc, char** argv, int i, long fallback) {
  if (argc <= i) return fallback;
  long v = std::atol(argv[i]);
  if (v <= 0) {
    std::fprintf(stderr, "usage: ptrace_tracer [ITERATIONS [EVERY [PROCS]]] (positive numbers)\n");
    std::exit(2);
  }
  return v;
}

}  // namespace

int main(int argc, char** argv) {
  const long iterations = arg(argc, argv, 1, 200), every = arg(argc, argv, 2, 25);
  const int procs = int(arg(argc, argv, 3, weft::hardware_procs()));
  return weft::run([&] {
    weft::thread_locker tl;
    weft::wait_group wg;
    wg.add(1);
    weft::go(weft::go_options{.name = "event loop"}, [&] {
      try {
        event_loop(tl, iterations, every, wg);
      } catch (const std::exception& e) {
        fail(std::string("event loop: ") + e.what());
      }
      wg.done();
    });
    wg.wait();  // both goroutines have let go of tl before it is destroyed
  }, weft::options{.procs = procs});
}
