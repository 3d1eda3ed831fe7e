// src/circuit/run_end.hpp: what the circuit tears down when main returns.
//
// weft::run may be called again after it returns (tests do, many times),
// and goroutines still alive when main returns are abandoned. So whatever
// the circuit starts inside one run (a peer listener, its connections,
// lease renewals) registers a callback here; weft::run calls them, last
// registered first, after main's function returns and before the stub
// detaches (a release may still need the connection), still inside the
// run so they may park.
#pragma once

#include <functional>

namespace weft::circuit::detail {

// Registers f for the end of the current weft::run.
void at_run_end(std::function<void()> f);

// Runs the registered callbacks (last first) and forgets them.
void run_end_callbacks() noexcept;

}  // namespace weft::circuit::detail
