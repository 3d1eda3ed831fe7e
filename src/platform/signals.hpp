// src/platform/signals.hpp: signal handling and per-thread signal stacks,
// behind one seam (runtime/signals.cpp is the user). Calls that can fail
// return 0 or -errno and leave errno alone.
#pragma once

#include <signal.h>

#include <cstddef>

namespace weft::detail::os {

using fault_handler = void (*)(int sig, siginfo_t* info, void* ucontext);

// Handles sig (SIGSEGV, SIGBUS) with h on the thread's alternate signal
// stack; the action it replaces goes to *old, for sig_forward.
int sig_handle_fault(int sig, fault_handler h, struct sigaction* old) noexcept;
// Handles sig with a plain handler; interrupted system calls restart.
int sig_handle(int sig, void (*h)(int)) noexcept;
// Handles sig with h on the thread's alternate signal stack (if it has
// one); interrupted system calls restart (SA_RESTART). For SIGPROF, whose
// handler may arrive on a goroutine's small stack. The action it replaces
// goes to *old.
int sig_handle_info(int sig, fault_handler h, struct sigaction* old) noexcept;
// From inside a fault handler: passes the fault on to `old` (what
// sig_handle_fault replaced); when that was the default action, restores
// it and raises sig again, which ends the process (a core dump).
void sig_forward(int sig, siginfo_t* info, void* ucontext, const struct sigaction& old) noexcept;

// Gives the calling thread an alternate signal stack of `bytes` (mapped
// here), on which fault handlers run when its own stack is exhausted.
int altstack_install(std::size_t bytes) noexcept;
// Removes and unmaps the calling thread's alternate stack, if it has one.
void altstack_remove() noexcept;

// The stack pointer saved in a fault handler's ucontext (null where the
// architecture is not known).
void* ucontext_stack_pointer(void* ucontext) noexcept;

// A close-on-exec pipe through which a signal handler wakes a goroutine:
// both ends O_NONBLOCK, its read end goes on the netpoller (a goroutine
// waits for the signal), and signal_notify writes a byte (async-signal-
// safe; a full pipe never blocks the handler: a byte is pending already).
// -errno on failure.
int signal_pipe_nonblocking(int fds[2]) noexcept;
void signal_notify(int write_fd) noexcept;
// Reads whatever bytes are pending on a non-blocking read end.
void signal_drain(int read_fd) noexcept;
// Ends the process by sig's default action (restored and unblocked here),
// as if it had never been handled; _exit(128 + sig) should that return.
// Async-signal-safe: a handler may call it.
[[noreturn]] void die_by_signal(int sig) noexcept;
// sigqueue's value of a signal, when it came from sigqueue (SI_QUEUE);
// false for kill(2), raise and the kernel's.
bool sig_queued_value(const siginfo_t* info, int* value) noexcept;

// The calling thread's signal mask.
void thread_sigmask_get(sigset_t* out) noexcept;
void thread_sigmask_set(const sigset_t& mask) noexcept;
// Blocks every signal on the calling thread but the synchronous ones (a
// fault it causes itself): for the runtime's own threads, which never run
// goroutines, so that a process-directed signal's handler runs on a thread
// that does. Under TSan a handler that lands on a thread sleeping outside
// its interceptors waits for that thread's next one, which may never come.
void block_async_signals() noexcept;
// The same, saving the mask it replaces in *old (restore it with
// thread_sigmask_set).
void block_async_signals(sigset_t* old) noexcept;
// kill(getpid(), 0): sends nothing. Under TSan it makes the calling
// thread's (fiber's) signal state, which TSan otherwise makes at its first
// blocking call, racily (runtime/sanitizers.hpp).
void touch_signal_state() noexcept;

}  // namespace weft::detail::os
