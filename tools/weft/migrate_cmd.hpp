// tools/weft/migrate_cmd.hpp: `weft migrate` (migrate_cmd.cpp): move or
// list migratable goroutines (weft/migrate.hpp, docs/migration.md).
#pragma once

#include <CLI/CLI.hpp>

#include <string>
#include <vector>

namespace weft::tool {

struct migrate_args {
  std::string runtime;
  std::vector<std::string> selectors;  // M<16 hex> ids, pid:N
  std::string to = "auto";  // pid:N, a host name, auto
  bool list = false;
  bool json = false;
};

// Declares the subcommand on app; returns it (parsed() says it ran).
CLI::App* add_migrate_command(CLI::App& app, migrate_args& a);
int run_migrate(const migrate_args& a);

}  // namespace weft::tool
