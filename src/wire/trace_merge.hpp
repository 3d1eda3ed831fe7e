// src/wire/trace_merge.hpp: several trace documents (trace_json.hpp), one
// per process, spliced into one, so that a viewer shows the processes side
// by side and draws the flows between them (weft trace -o with several
// processes; trace_log.hpp's xref flows).
//
// The documents come from other processes, so they are not trusted; they
// are not parsed either. Their structure is the trace logger's, and it is
// checked: each opens with trace_json_head and closes with
// trace_json_tail, its events between, one a line. Inside, two things
// are found by exact byte sequences that no JSON string can contain (a '"'
// inside a string is always escaped, so `,"ts":` or `"name":"weft_time_
// base"` followed by `,` can only be the keys and values they look like):
//   - the time base: the trace logger writes, with its first event,
//     {"ph":"M","pid":P,"name":"weft_time_base","args":{"ns":N}}, N the
//     CLOCK_MONOTONIC time of its ts 0;
//   - every `,"ts":` and its number, microseconds with three decimals.
// Each part's times are moved by its base minus the smallest base, so the
// merged document's ts 0 is the earliest part's, and events of processes
// on one host line up (they share CLOCK_MONOTONIC; on several hosts each
// part keeps its own host's clock: docs/remote.md). A part without a base
// (no events) is not moved. Each part keeps its own pids, the processes'
// own: two processes of one pid (on two hosts) share a process track.
//
// A part that breaks the structure (a head, a tail, a ts that is not such
// a number) makes the merge fail with std::invalid_argument naming the
// part: a document is never half merged.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace weft::wire {

// The metadata event's name that carries a document's time base.
inline constexpr std::string_view trace_time_base_name = "weft_time_base";

// One document of all the parts' events (parts[i] named names[i] in errors).
// Throws std::invalid_argument.
std::string merge_traces(const std::vector<std::string_view>& parts, const std::vector<std::string>& names);

}  // namespace weft::wire
