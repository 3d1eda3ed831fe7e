// tools/weft/remote_cmd.hpp: `weft remote`.
#pragma once

#include <string>
#include <vector>

namespace weft::tool {

struct remote_args {
  std::vector<std::string> argv;  // the program and its arguments
  std::string trace_file;  // --trace
  std::string weftd;  // --weftd
};

// Runs the program attached to a weftd of its own; returns the program's
// exit status (128 + N when signal N ended it), 127 if it could not be
// started, 2 if the server could not.
int run_remote(const remote_args& a);

}  // namespace weft::tool
