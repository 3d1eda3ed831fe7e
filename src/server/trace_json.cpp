// src/server/trace_json.cpp: the trace file (see trace_json.hpp).
#include "server/trace_json.hpp"

#include <cerrno>
#include <system_error>

namespace weft::server {

trace_json_file::trace_json_file(const std::string& path) : path_(path) {
  f_ = std::fopen(path.c_str(), "w");
  if (f_ == nullptr) throw std::system_error(errno, std::generic_category(), "cannot write " + path);
  std::fputs("{\"traceEvents\":[", f_);
  std::fflush(f_);
}

trace_json_file::~trace_json_file() { close(); }

void trace_json_file::event(std::string_view object) {
  if (f_ == nullptr) return;
  std::fputs(events_++ == 0 ? "\n" : ",\n", f_);
  std::fwrite(object.data(), 1, object.size(), f_);
}

void trace_json_file::flush() {
  if (f_) std::fflush(f_);
}

void trace_json_file::close() {
  if (f_ == nullptr) return;
  std::fputs("\n]}\n", f_);
  std::fclose(f_);
  f_ = nullptr;
}

}  // namespace weft::server
