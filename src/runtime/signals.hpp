// src/runtime/signals.hpp: per-thread set-up of an M and the runtime's signals.
#pragma once

#include "runtime/runtime.hpp"

namespace weft::detail {

// On an M's thread, before it schedules: g0, the alternate signal stack,
// and the signal mask weft::run's caller had (see signals.cpp).
void m_init_thread(m* mp);
// On weft::run's thread as the run starts: the mask every M of the run gets.
void capture_run_sigmask();
void m_exit_thread(m* mp);
// Installs SIGSEGV/SIGBUS (stack overflow reports) and SIGQUIT (dump and exit
// 2) handlers once per process, and the panic hook (std::set_terminate).
void install_runtime_signals();

}  // namespace weft::detail
