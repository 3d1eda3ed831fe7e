// src/runtime/signals.hpp: per-thread set-up of an M and the runtime's signals.
#pragma once

#include "runtime/runtime.hpp"

namespace weft::detail {

// On an M's thread, before it schedules: g0, the alternate signal stack.
void m_init_thread(m* mp);
void m_exit_thread(m* mp);
// Installs SIGSEGV/SIGBUS (stack overflow reports) and SIGQUIT (dump and exit
// 2) handlers once per process, and the panic hook (std::set_terminate).
void install_runtime_signals();

}  // namespace weft::detail
