// src/runtime/cpu_ticks.hpp: SIGPROF ticks of CPU time on every M, what the
// CPU profiler (trace/cpu_profile.cpp) samples on. Design in cpu_ticks.cpp.
#pragma once

#include <cstdint>
#include <string>

#include "runtime/runtime.hpp"

namespace weft::detail {

// Runs inside the SIGPROF handler on the thread that used the CPU time:
// ucontext is the interrupted context, gp the thread's current goroutine
// (null on g0: the scheduler's own loop), periods how many periods of CPU
// the tick stands for (1, plus the expiries the kernel merged into this
// signal: si_overrun). It must be async-signal-safe: no malloc, no locks.
using cpu_tick_fn = void (*)(void* ucontext, g* gp, int periods);

// Starts ticks: each M's thread, those running now and those that start
// later, takes a SIGPROF per period_ns of its own CPU time and runs tick.
// False, with *why, when ticks run already ("a CPU profile is already
// running"), when another SIGPROF handler is installed, or when the OS
// refuses a timer.
bool cpu_ticks_start(std::int64_t period_ns, cpu_tick_fn tick, std::string* why);
// Stops the ticks. When it returns no tick runs, and none will start.
void cpu_ticks_stop();

// Each M's thread, from m_init_thread and m_exit_thread (signals.cpp).
void cpu_ticks_thread_start();
void cpu_ticks_thread_end();

}  // namespace weft::detail
