// src/remote/trace_encode.hpp: a batch of the runtime's events in the
// protocol's terms (docs/protocol.md, "Trace events"), two ways.
//
// One mapping (for_each_wire_event, in the .cpp) serves both: M-level
// events are left out; a go_create belongs to the new goroutine on the
// wire (its creator in arg); each name goes out once, on its goroutine's
// go_create or, for one that predates the trace, on its first go_start; a
// batch that dropped events ends with one `dropped` event carrying the
// count.
//
// trace_framed writes the TraceEvents frames straight into framed bytes,
// as protobuf would serialize them (fields in number order, zero values
// left out): the trace stream's hot path, 16-39 ns an event here
// (bench/weft-trace-cost). Building v1::TraceEvent messages cost ~180 ns
// an event (an allocation per message and per text), more than recording
// the event did. trace_frames builds the messages, for readers that want
// them.
//
// Bounds: a frame holds at most max_events events and stays far under the
// frame limit; a text longer than max_text_bytes (a goroutine's name, a
// function's) is cut there, between characters, and a name that is not
// UTF-8 has each byte that starts no character made '?' (wire/utf8.hpp:
// proto3 strings are UTF-8, a receiver refuses the whole frame).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "runtime/trace_events.hpp"
#include "weft/runtime/v1/runtime.pb.h"

namespace weft::remote::detail {

namespace v1 = weft::runtime::v1;

constexpr std::size_t max_text_bytes = 4096;

// Appends b's TraceEvents frames (one-way, id 0), each with its length
// prefix (wire/frame.hpp), at most max_events events each, to out. Appends
// nothing for a batch with nothing to send.
void trace_framed(const weft::detail::trace_batch& b, std::size_t max_events, std::string& out);

// The same frames as messages.
std::vector<v1::Frame> trace_frames(const weft::detail::trace_batch& b, std::size_t max_events);

}  // namespace weft::remote::detail
