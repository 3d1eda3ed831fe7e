// src/server/state.hpp: what every session of one server shares.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <string>

#include "server/budget.hpp"
#include "server/chan_host.hpp"
#include "server/control.hpp"
#include "server/handshake.hpp"
#include "server/log.hpp"
#include "server/migrate_host.hpp"
#include "server/os_host.hpp"
#include "wire/trace_log.hpp"
#include "server/var_host.hpp"
#include "server/worker_host.hpp"

namespace weft::server {

struct state_options {
  identity self;
  // This host for the circuit: its name ("": the host name) and labels
  // (weftd --name, --label; placement.hpp).
  std::string host_name;
  std::map<std::string, std::string> host_labels;
  // Non-empty: every client must prove it holds this key before anything
  // else (wire/cluster_key.hpp); Welcome carries a challenge.
  std::string cluster_key;
  // The file it came from ("": the default key), for the workers this
  // weftd starts for other hosts' callers (WEFT_KEY_FILE).
  std::string cluster_key_file;
  // Binaries of other hosts' callers (binary_cache.hpp): the directory
  // ("": $XDG_CACHE_HOME/weft/binaries, else ~/.cache/weft/binaries) and
  // its bound.
  std::string binary_cache_dir;
  std::uint64_t binary_cache_bytes = std::uint64_t{1} << 30;
  // Bytes of clients' values the server holds at most (budget.hpp).
  std::uint64_t value_budget = std::uint64_t{1} << 30;
  // Requests one client may have outstanding at once.
  std::size_t max_pending = 1u << 16;
  chan_host::limits chan_limits;
  var_host::limits var_limits;
  os_host::limits os_limits;
  control_host::limits control_limits;
  worker_host::limits worker_limits;
  migrate_host::limits migrate_limits;
  log_sink log = log_to_stderr;
  // Non-null: the trace logger; "trace" should then be among
  // self.capabilities, which asks stubs to stream their events.
  wire::trace_log* trace = nullptr;
};

struct server_state {
  explicit server_state(state_options o)
      : opts(std::move(o)),
        values(opts.value_budget),
        chans(&values, opts.chan_limits),
        vars(&values, opts.var_limits),
        control(opts.control_limits),
        workers(opts.worker_limits, [this](std::string_view line) { log(line); }),
        migrations(opts.migrate_limits, [this](std::string_view line) { log(line); }) {
    migrations.set_control(&control);  // auto asks owners for their peer traffic
  }
  server_state(const server_state&) = delete;
  server_state& operator=(const server_state&) = delete;

  void log(std::string_view line) const {
    if (opts.log) opts.log(line);
  }

  const state_options opts;
  budget values;
  chan_host chans;
  var_host vars;
  control_host control;  // the attached processes, for tools
  worker_host workers;  // the circuit's workers on this host, and their anchors
  migrate_host migrations;  // migratable goroutines and their moves
  std::atomic<std::uint64_t> next_process_id{1};
};

}  // namespace weft::server
