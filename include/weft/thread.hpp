// weft/thread.hpp: tying goroutines to OS threads.
//
// Some APIs insist on one OS thread (ptrace, OpenGL, GUI toolkits, some C
// libraries). weft has three controls, from Go's to the ones Go declined:
//
//   lock_os_thread     Go's LockOSThread: the goroutine runs only on its
//                      current thread and no other goroutine runs there. It
//                      still needs one of the `procs` processors to run.
//   dedicate_os_thread the goroutine gets its current thread and a processor
//                      of its own that does not count against `procs`; when
//                      it is readied its thread is woken directly.
//   thread_locker      N goroutines share one OS thread and switch among
//                      themselves in user space, at the cost of any
//                      goroutine switch.
//
// A goroutine whose thread changes (thread_locker::lock and unlock move it;
// so does any park of an ordinary goroutine) must not carry the address of a
// thread_local across the move: errno read just after tl.lock() in the same
// function may be the old thread's (the compiler may compute &errno once).
// Read it in a separate, non-inlined function. See docs/runtime.md.
//
// A goroutine uses one control at a time; mixing them, unlocking what it did
// not lock and exiting while holding a thread_locker throw or end the
// program with a message that says which (weft::misuse_error). All of them
// must be called from a goroutine.
#pragma once

#include <weft/detail/cxx20.hpp>

namespace weft {

namespace detail {
struct locker_state;
}  // namespace detail

// Wires the calling goroutine to the OS thread it runs on: from now on it runs
// only there and no other goroutine runs there. Calls nest: the goroutine is
// unwired when unlock_os_thread has been called as often as lock_os_thread.
// A goroutine that exits while locked takes its thread with it: the thread
// ends instead of returning to the pool (its state may be changed for good).
// The thread that called weft::run cannot end; it becomes an ordinary
// scheduler thread again.
void lock_os_thread();
// Undoes one lock_os_thread. A no-op if the goroutine is not locked (Go's
// meaning).
void unlock_os_thread();

// Gives the calling goroutine its current thread and a processor of its own,
// outside `procs`: it runs in parallel with the `procs` others, its wake-ups
// go straight to its thread, sysmon leaves it alone and its blocking calls
// need no hand-off. Other goroutines never run on that thread. Not nested:
// a second call throws misuse_error.
void dedicate_os_thread();
// Ends dedicate_os_thread: the goroutine goes back to the ordinary threads
// and its thread returns to the pool. Throws misuse_error if the goroutine is
// not dedicated. A dedicated goroutine that exits does the same.
void undedicate_os_thread();

// N goroutines on one OS thread.
//
//   weft::thread_locker tl;
//   tl.lock();    // the first lock binds tl to the caller's current thread;
//                 // a later one moves the caller onto that thread
//   ...           // every goroutine that holds tl runs on that thread, and
//                 // only they do; they switch among themselves in user space
//   tl.unlock();  // the caller moves back to the ordinary threads
//
// The thread ends when its last goroutine unlocks (and tl binds to a new
// thread at its next lock); the thread that called weft::run cannot end and
// becomes an ordinary scheduler thread again. A goroutine blocked in a system
// call holds up the others on its thread: use weft::blocking there anyway, so
// that goroutine dumps show who holds the thread and in what call.
//
// Misuse throws misuse_error: unlock by a goroutine that does not hold tl,
// lock while holding tl or another thread control. A goroutine that exits
// holding tl, and destroying tl while goroutines hold it, end the program
// with a message naming the goroutine.
class thread_locker {
 public:
  thread_locker();
  ~thread_locker();
  thread_locker(const thread_locker&) = delete;
  thread_locker& operator=(const thread_locker&) = delete;

  void lock();
  void unlock();
  // The OS thread id (gettid) tl is bound to, or 0 when no goroutine holds it.
  long thread_id() const noexcept;

 private:
  detail::locker_state* state_;
};

}  // namespace weft
