// src/platform/cpu_load.hpp: whether the machine has a CPU to spare right
// now, for a spin that must take no CPU another thread wants (the
// scheduler's wait for a quick reply, runtime/quick_spin.hpp).
#pragma once

#include <string_view>

namespace weft::detail::os {

// True while no more threads are runnable on the machine (every process's,
// the caller included) than it has CPUs online: nobody waits for a CPU.
// The kernel's instantaneous count (the fourth field of /proc/loadavg,
// about 0.4 us a read here). False when it cannot be told (no /proc).
bool cpus_to_spare() noexcept;
// The runnable-thread count in /proc/loadavg's text ("0.52 0.58 0.59
// 3/467 12345" -> 3), or -1 if the text is not in that form.
long runnable_threads_of(std::string_view loadavg) noexcept;
// For tests: 1 or 0 makes cpus_to_spare answer that; -1 (the default)
// makes it look again.
void set_cpus_to_spare_for_testing(int answer) noexcept;

}  // namespace weft::detail::os
