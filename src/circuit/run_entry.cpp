// src/circuit/run_entry.cpp: weft::run's entry (include/weft/run.hpp).
//
// The circuit is the top layer, so weft::run starts here: a process that a
// weftd started as a worker (WEFT_WORKER holds its ticket) runs the
// spawned function instead of the user's main (worker_main.hpp); any
// other process runs its main attached as the split runtime says
// (remote/attach.hpp); one that weftd started to receive a moved goroutine
// (WEFT_MIGRATE_HOST=1) serves migrations instead (remote/migration.hpp).
// Either way the circuit's run-end callbacks run when
// the function returns, before the stub detaches.
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <stdexcept>
#include <string>

#include <unistd.h>

#include <weft/run.hpp>

#include "circuit/fork_server_entry.hpp"
#include "circuit/identity.hpp"
#include "circuit/run_end.hpp"
#include "circuit/worker_main.hpp"
#include "remote/attach.hpp"
#include "remote/migration.hpp"

namespace weft::detail {

int run_attached(std::function<int()> main, const options& opts, bool required) {
  std::optional<circuit::detail::worker_ticket> ticket;
  try {
    ticket = circuit::detail::worker_ticket_from_env();
  } catch (const std::invalid_argument& e) {
    std::fprintf(stderr, "weft: fatal error: %s\n", e.what());
    ::_exit(2);
  }
  if (!ticket && circuit::detail::forked_by_fork_server()) {
    std::fprintf(stderr, "weft: fatal error: forked by weftd's fork server without a worker ticket (WEFT_WORKER)\n");
    ::_exit(2);
  }
  if (ticket) {
    return remote::detail::run_with_runtime(
        [&] {
          struct at_end {
            ~at_end() { circuit::detail::run_end_callbacks(); }
          } guard;
          return circuit::detail::worker_main(*ticket);
        },
        opts, true, ticket->id + "." + ticket->token, circuit::detail::take_weftd_connection(),
        [&](weft::runtime::v1::Frame& start) { circuit::detail::worker_start_early(*ticket, start); });
  }
  // Started by weftd to receive a moved goroutine (weft migrate --to new):
  // the goroutine's function runs here instead of main.
  const char* host = std::getenv("WEFT_MIGRATE_HOST");
  if (host != nullptr && std::string(host) == "1") {
    ::unsetenv("WEFT_MIGRATE_HOST");  // not inherited by what it starts
    return remote::detail::run_with_runtime([] { return remote::detail::serve_migrations(); }, opts, true);
  }
  return remote::detail::run_with_runtime(
      [&] {
        struct at_end {
          ~at_end() { circuit::detail::run_end_callbacks(); }
        } guard;
        return main();
      },
      opts, required);
}

}  // namespace weft::detail
