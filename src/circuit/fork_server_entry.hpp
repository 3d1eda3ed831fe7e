// src/circuit/fork_server_entry.hpp: what a process knows of the fork
// server it may have been made by (design in fork_server_entry.cpp).
#pragma once

namespace weft::circuit::detail {

// Whether this process is a worker a fork server made, rather than one
// started from its binary. weft::run asks, which also links the fork
// server's entry (a constructor) into every program that uses it.
bool forked_by_fork_server() noexcept;

// A forked worker's connection to weftd, which weftd made before the fork
// and treats as this worker's (no key proof: fork_server_entry.cpp, F5),
// once: -1 after the first call, and in any other process.
int take_weftd_connection() noexcept;

}  // namespace weft::circuit::detail
