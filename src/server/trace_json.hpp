// src/server/trace_json.hpp: a Chrome trace-event-format file, written as
// events arrive (the format ui.perfetto.dev and chrome://tracing open:
// {"traceEvents":[ {...}, ... ]}).
//
// Incremental: the header goes out at open, each event as one line, and
// flush() after every batch, so a server that dies keeps a file whose
// events are all there (Perfetto reads a trace whose closing brackets are
// missing); close() writes them, and from then on the file is valid JSON.
#pragma once

#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>

#include "wire/json.hpp"

namespace weft::server {

using wire::append_json_string;
using wire::json_string;

class trace_json_file {
 public:
  // Creates or truncates path. Throws std::system_error.
  explicit trace_json_file(const std::string& path);
  trace_json_file(const trace_json_file&) = delete;
  trace_json_file& operator=(const trace_json_file&) = delete;
  ~trace_json_file();  // close()

  // One event: a JSON object, written as is.
  void event(std::string_view object);
  void flush();
  // Ends the array and the object. Idempotent.
  void close();
  std::uint64_t events() const noexcept { return events_; }
  const std::string& path() const noexcept { return path_; }

 private:
  std::string path_;
  std::FILE* f_ = nullptr;
  std::uint64_t events_ = 0;
};

}  // namespace weft::server
