// src/wire/trace_json.hpp: a Chrome trace-event-format document, written
// as events arrive (the format ui.perfetto.dev and chrome://tracing open:
// {"traceEvents":[ {...}, ... ]}), to a file or into memory.
//
// A file (weftd --trace): the header goes out at open, each event as one
// line, and flush() after every batch, so a server that dies keeps a file
// whose events are all there (Perfetto reads a trace whose closing
// brackets are missing); close() writes them, and from then on the file is
// valid JSON.
//
// Memory (a trace on request, weft trace): the same bytes into a string
// of at most max_bytes. An event that would pass max_bytes - reserve_bytes
// is refused (event returns false) and the document is full() from then
// on; reserve_bytes is left for a last word (the `last` event: what was
// dropped) and the closing brackets, so the document stays valid JSON
// under its cap whatever arrives.
#pragma once

#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>

#include "wire/json.hpp"

namespace weft::wire {

using wire::append_json_string;
using wire::json_string;

// A document's first and last bytes; events come between, one a line,
// separated by ",\n" (trace_merge.hpp splices documents by them).
inline constexpr std::string_view trace_json_head = "{\"traceEvents\":[";
inline constexpr std::string_view trace_json_tail = "\n]}\n";

class trace_json_file {
 public:
  static constexpr std::size_t reserve_bytes = 1024;

  // Creates or truncates path. Throws std::system_error.
  explicit trace_json_file(const std::string& path);
  // Into memory, max_bytes at most (REQUIRES: above 2 * reserve_bytes).
  explicit trace_json_file(std::size_t max_bytes);
  trace_json_file(const trace_json_file&) = delete;
  trace_json_file& operator=(const trace_json_file&) = delete;
  ~trace_json_file();  // close()

  // One event: a JSON object, written as is. False when it did not fit
  // (memory only): it is not written, and full() is true from then on.
  // last: may use the reserve (one short event, at the end).
  bool event(std::string_view object, bool last = false);
  void flush();
  // Ends the array and the object. Idempotent.
  void close();
  std::uint64_t events() const noexcept { return events_; }
  bool full() const noexcept { return full_; }
  // "" for a document in memory.
  const std::string& path() const noexcept { return path_; }
  // Memory: the document so far (complete after close()); moved out.
  std::string take() { return std::move(text_); }

 private:
  static constexpr std::size_t write_chunk = 64 * 1024;
  void put(std::string_view s);
  void write_out();  // a file's gathered bytes to stdio

  std::string path_;
  std::FILE* f_ = nullptr;
  bool in_memory_ = false;
  bool open_ = false;
  bool full_ = false;
  std::size_t max_bytes_ = 0;
  std::string text_;  // memory: the document; a file: what is not yet written
  std::uint64_t events_ = 0;
};

}  // namespace weft::wire
