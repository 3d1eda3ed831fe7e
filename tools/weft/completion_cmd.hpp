// tools/weft/completion_cmd.hpp: `weft completion bash`: a bash completion
// script for the weft command, on stdout. Load it with
//
//   source <(weft completion bash)          (this shell)
//   weft completion bash > ~/.local/share/bash-completion/completions/weft
//
// The script is generated from the command line parser itself (the
// CLI::App tree main.cpp builds): every subcommand, and each one's options,
// come from there, so a flag added to a subcommand is completed without
// anyone editing a list that would drift. Rejected: a hand-written script
// checked in beside main.cpp; it would be out of date at the next flag.
//
// What it completes: the subcommand; its options (after "-"); files after
// an option that takes a value; anchor paths (after "/", from `weft ls`,
// asked of the weftd named on the line with --runtime or else the default
// one); and for `weft remote`, the program and its arguments as commands
// and files. Anything else falls back to bash's file completion.
#pragma once

#include <string>

namespace CLI {
class App;
}

namespace weft::tool {

std::string bash_completion(const CLI::App& app);

}  // namespace weft::tool
