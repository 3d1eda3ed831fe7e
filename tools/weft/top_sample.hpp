// tools/weft/top_sample.hpp: weft top's numbers, from two samples of one
// process (top_cmd.cpp takes them).
//
// A sample is the process's Control STATS and GOROUTINE_STATS answers
// (docs/protocol.md). Every rate is a difference of two samples over the
// time between them as the process measured it, never as the tool did:
// CPU % is the change of STATS cpu_s over the change of attached_s (the
// same reply's clock), channel operations and bytes per second the change
// of GOROUTINE_STATS's totals over the change of instrumented_ms. So a
// slow network or a slow tool skews nothing.
//
// Instrumentation can restart between samples (another tool turned it
// off, or the stub did after a minute without asks): the later sample then
// says started_now, its counters began again from zero, and the rates of
// that refresh are unknown (rates == false) rather than negative.
//
// Rows sort by a key (sort_keys): descending numbers, then by label, so
// equal rows keep one order from one refresh to the next.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "json_value.hpp"
#include "targets.hpp"

namespace weft::tool {

struct top_sample {
  bool ok = false;
  std::string error;  // why not, when !ok
  json_value stats;  // STATS
  json_value gstats;  // GOROUTINE_STATS
};

// Time spent blocked for one reason over the interval, as the average
// number of goroutines blocked there (1.0: one goroutine the whole time).
struct blocked_share {
  std::string reason;
  double goroutines = 0;
};

struct process_row {
  target t;
  std::string error;  // not empty: the process did not answer (the numbers are zero)
  bool rates = false;  // the rates below are known
  double cpu_pct = 0;  // of one CPU: a process on 4 threads may show 400
  double rss_bytes = 0;
  long goroutines = 0;  // live now (STATS)
  long running = 0, runnable = 0;  // now, of those instrumentation has seen
  long blocked = 0;  // the rest: goroutines - running - runnable
  std::vector<blocked_share> blocked_by;  // longest first
  double chan_ops_per_s = 0;  // channel sends and receives begun
  double bytes_per_s = 0;  // read and written on weft::net connections
};

struct goroutine_row {
  std::uint64_t id = 0;
  std::string name;
  std::string state;  // running, runnable, blocked, unknown
  std::string reason;  // while blocked
  std::string created_by;  // the creation site's function; "" when unknown
  std::string created_at;  // its FILE:LINE
  bool rates = false;
  double cpu_pct = 0;
  double chan_ops_per_s = 0;
  double bytes_per_s = 0;
};

// The sort keys --sort takes, the default first.
const std::vector<std::string>& sort_keys();

// One process's row: `before` and `now` are its samples, oldest first (a
// failed `before` only costs the rates).
process_row process_row_of(const target& t, const top_sample& before, const top_sample& now);

// Its goroutines' rows, from the same two samples' GOROUTINE_STATS lists.
// A goroutine missing from `before` counts from zero when `before` listed
// every goroutine it had, else its rates are unknown.
std::vector<goroutine_row> goroutine_rows(const top_sample& before, const top_sample& now);

// Sorts by key (one of sort_keys; the goroutine view sorts mem, goroutines,
// runnable and blocked by cpu: a goroutine has none of them).
void sort_rows(std::vector<process_row>& rows, const std::string& key);
void sort_rows(std::vector<goroutine_row>& rows, const std::string& key);

// JSON objects (one row each), members as the table's columns.
std::string row_json(const process_row& r);
std::string row_json(const goroutine_row& r);

}  // namespace weft::tool
