// src/remote/trace_encode.cpp: a batch of the runtime's events as
// TraceEvents frames (design in trace_encode.hpp).
#include "remote/trace_encode.hpp"

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/wire_format_lite.h>

#include <cstring>
#include <string_view>
#include <unordered_map>

#include "wire/frame.hpp"
#include "wire/trace_kind.hpp"
#include "wire/utf8.hpp"

namespace weft::remote::detail {

namespace {

using google::protobuf::io::CodedOutputStream;
using weft::detail::ev;
using wfl = google::protobuf::internal::WireFormatLite;

// The runtime's numbers are the protocol's.
static_assert(std::uint32_t(ev::go_create) == wire::tk_go_create && std::uint32_t(ev::go_block) == wire::tk_go_block &&
              std::uint32_t(ev::m_wake) == wire::tk_m_wake && std::uint32_t(ev::go_yield) == wire::tk_go_yield &&
              std::uint32_t(ev::chan_recv) == wire::tk_chan_recv &&
              std::uint32_t(ev::blocking_exit) == wire::tk_blocking_exit &&
              std::uint32_t(ev::remote_reply) == wire::tk_remote_reply &&
              std::uint32_t(ev::dropped) == wire::tk_dropped && std::uint32_t(ev::xref_call) == wire::tk_xref_call &&
              std::uint32_t(ev::xref_served) == wire::tk_xref_served);

// One TraceEvent as the protocol has it.
struct wire_event {
  std::int64_t time_ns = 0;
  std::uint32_t kind = 0;
  std::uint64_t goroutine = 0;
  std::uint64_t arg = 0;
  std::string_view text;
};

// text, at most max_text_bytes of it, cut between characters.
std::string_view cut_text(std::string_view text) {
  if (text.size() <= max_text_bytes) return text;
  std::size_t cut = max_text_bytes;
  while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xc0) == 0x80) --cut;  // not inside a character
  return text.substr(0, cut);
}

// A goroutine's name as a proto3 string may carry it: valid UTF-8 (a
// receiver refuses a frame that is not), cut. The runtime's own texts are
// literals and function names, UTF-8 already.
std::string wire_name(std::string_view name) { return wire::utf8_text(std::string(cut_text(name))); }

// Calls visit(const wire_event&) for each event of b that goes on the wire.
template <class Visit>
void for_each_wire_event(const weft::detail::trace_batch& b, Visit&& visit) {
  // Each name goes out once: on its goroutine's go_create, or on the first
  // go_start of one that predates the trace (runtime/trace_events.hpp).
  std::unordered_map<std::uint64_t, std::string> names;
  for (const auto& [id, name] : b.names) names.emplace(id, wire_name(name));
  std::string named;  // the text of the event being visited, when a name
  auto name_of = [&](std::uint64_t g, wire_event& w) {
    auto it = names.find(g);
    if (it == names.end()) return;
    named = std::move(it->second);
    names.erase(it);
    w.text = named;
  };
  for (const weft::detail::trace_event& e : b.events) {
    if (e.type == ev::m_park || e.type == ev::m_wake) continue;  // the goroutines' story is enough
    wire_event w{e.ts, static_cast<std::uint32_t>(e.type), e.g, e.arg, {}};
    if (e.type == ev::go_create) {
      // On the wire the event belongs to the new goroutine (docs/protocol.md).
      w.goroutine = e.arg;
      w.arg = e.g;
      name_of(e.arg, w);
    } else {
      if (e.text) w.text = cut_text(e.text);  // a function's name may be long
      if (e.type == ev::go_start && !names.empty()) name_of(e.g, w);
    }
    visit(w);
  }
  if (b.dropped > 0) {
    visit(wire_event{
        b.events.empty() ? 0 : b.events.back().ts, static_cast<std::uint32_t>(ev::dropped), 0, b.dropped, {}});
  }
}

// Protobuf's encoding of a message's fields, in field number order, zero
// values left out (proto3).
constexpr std::uint32_t tag(int field, wfl::WireType type) { return wfl::MakeTag(field, type); }
constexpr std::uint32_t time_tag = tag(v1::TraceEvent::kTimeNsFieldNumber, wfl::WIRETYPE_VARINT);
constexpr std::uint32_t kind_tag = tag(v1::TraceEvent::kKindFieldNumber, wfl::WIRETYPE_VARINT);
constexpr std::uint32_t goroutine_tag = tag(v1::TraceEvent::kGoroutineFieldNumber, wfl::WIRETYPE_VARINT);
constexpr std::uint32_t arg_tag = tag(v1::TraceEvent::kArgFieldNumber, wfl::WIRETYPE_VARINT);
constexpr std::uint32_t text_tag = tag(v1::TraceEvent::kTextFieldNumber, wfl::WIRETYPE_LENGTH_DELIMITED);
constexpr std::uint32_t events_tag = tag(v1::TraceEvents::kEventsFieldNumber, wfl::WIRETYPE_LENGTH_DELIMITED);
constexpr std::uint32_t trace_events_tag = tag(v1::Frame::kTraceEventsFieldNumber, wfl::WIRETYPE_LENGTH_DELIMITED);
// Each event's tags are one byte (event_size counts them so).
static_assert(time_tag < 128 && kind_tag < 128 && goroutine_tag < 128 && arg_tag < 128 && text_tag < 128 &&
              events_tag < 128);

std::size_t event_size(const wire_event& w) {
  std::size_t n = 0;
  if (w.time_ns != 0) n += 1 + CodedOutputStream::VarintSize64(static_cast<std::uint64_t>(w.time_ns));
  if (w.kind != 0) n += 1 + CodedOutputStream::VarintSize32(w.kind);
  if (w.goroutine != 0) n += 1 + CodedOutputStream::VarintSize64(w.goroutine);
  if (w.arg != 0) n += 1 + CodedOutputStream::VarintSize64(w.arg);
  if (!w.text.empty())
    n += 1 + CodedOutputStream::VarintSize32(static_cast<std::uint32_t>(w.text.size())) + w.text.size();
  return n;
}

std::uint8_t* put_varint(std::uint64_t v, std::uint8_t* p) { return CodedOutputStream::WriteVarint64ToArray(v, p); }

// Appends w as one element of TraceEvents.events to out.
void append_event(const wire_event& w, std::string& out) {
  const std::size_t size = event_size(w);
  const std::size_t at = out.size();
  out.resize(at + 1 + CodedOutputStream::VarintSize64(size) + size);
  auto* p = reinterpret_cast<std::uint8_t*>(out.data() + at);
  *p++ = events_tag;
  p = put_varint(size, p);
  if (w.time_ns != 0) p = put_varint(static_cast<std::uint64_t>(w.time_ns), put_varint(time_tag, p));
  if (w.kind != 0) p = put_varint(w.kind, put_varint(kind_tag, p));
  if (w.goroutine != 0) p = put_varint(w.goroutine, put_varint(goroutine_tag, p));
  if (w.arg != 0) p = put_varint(w.arg, put_varint(arg_tag, p));
  if (!w.text.empty()) {
    p = put_varint(w.text.size(), put_varint(text_tag, p));
    std::memcpy(p, w.text.data(), w.text.size());
  }
}

// A frame's events stop at this many bytes (plus one event), far under the
// frame limit whatever the names, and under 2 MiB: its length takes at
// most 3 bytes of varint.
constexpr std::size_t max_frame_body = std::size_t{1} << 20;
constexpr std::size_t max_event_bytes = 2 + 5 * 11 + max_text_bytes;
static_assert(max_frame_body + max_event_bytes < (std::size_t{1} << 21) &&
              max_frame_body * 2 < wire::default_max_frame);
// Room left before a frame's events for what goes before them: the frame's
// length, Frame's trace_events tag and the events' length.
constexpr std::size_t max_head = wire::header_size + 2 + 3;

// Writes the head of the frame whose events are out[at + max_head ..] in
// front of them, and closes the gap a shorter head leaves.
void close_frame(std::string& out, std::size_t at) {
  const std::size_t body = out.size() - at - max_head;
  std::uint8_t head[2 + 3];
  std::uint8_t* p = put_varint(body, put_varint(trace_events_tag, head));
  const auto head_size = static_cast<std::size_t>(p - head);
  std::string framed_head;
  wire::append_frame_header(static_cast<std::uint32_t>(head_size + body), framed_head);
  framed_head.append(reinterpret_cast<const char*>(head), head_size);
  const std::size_t gap = max_head - framed_head.size();  // 0 once the events reach 16 KiB
  if (gap > 0) std::memmove(out.data() + at + framed_head.size(), out.data() + at + max_head, body);
  std::memcpy(out.data() + at, framed_head.data(), framed_head.size());
  out.resize(out.size() - gap);
}

}  // namespace

void trace_framed(const weft::detail::trace_batch& b, std::size_t max_events, std::string& out) {
  // Encoded in place in out: no buffer of its own to allocate, and out's
  // capacity is kept by a caller that reuses it.
  std::size_t at = 0, in_frame = 0;
  bool open = false;
  for_each_wire_event(b, [&](const wire_event& w) {
    if (open && (in_frame == max_events || out.size() - at - max_head >= max_frame_body)) {
      close_frame(out, at);
      open = false;
    }
    if (!open) {
      at = out.size();
      out.resize(at + max_head);
      in_frame = 0;
      open = true;
    }
    append_event(w, out);
    ++in_frame;
  });
  if (open) close_frame(out, at);
}

std::vector<v1::Frame> trace_frames(const weft::detail::trace_batch& b, std::size_t max_events) {
  std::vector<v1::Frame> frames;
  v1::TraceEvents* out = nullptr;
  for_each_wire_event(b, [&](const wire_event& w) {
    if (out == nullptr || static_cast<std::size_t>(out->events_size()) >= max_events) {
      frames.emplace_back();
      out = frames.back().mutable_trace_events();
    }
    v1::TraceEvent* t = out->add_events();
    t->set_time_ns(w.time_ns);
    t->set_kind(w.kind);
    t->set_goroutine(w.goroutine);
    t->set_arg(w.arg);
    if (!w.text.empty()) t->set_text(std::string(w.text));
  });
  return frames;
}

}  // namespace weft::remote::detail
