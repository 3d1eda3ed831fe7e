// weft/dump.hpp: seeing what every goroutine is doing.
#pragma once

#include <weft/detail/cxx20.hpp>

#include <iosfwd>

namespace weft {

// Writes every goroutine: id, name, state (running, runnable, or waiting on
// what and for how long), where it was created and a symbolized trace of
// where it is parked. SIGQUIT writes the same to stderr while weft::run runs.
void dump_goroutines(std::ostream& out);

}  // namespace weft
