// src/wire/trace_json.cpp: the trace document (see trace_json.hpp).
#include "wire/trace_json.hpp"

#include <cerrno>
#include <system_error>

namespace weft::wire {

namespace {
constexpr std::string_view head = trace_json_head;
constexpr std::string_view tail = trace_json_tail;
}  // namespace

trace_json_file::trace_json_file(const std::string& path) : path_(path) {
  f_ = std::fopen(path.c_str(), "w");
  if (f_ == nullptr) throw std::system_error(errno, std::generic_category(), "cannot write " + path);
  open_ = true;
  put(head);
  flush();
}

trace_json_file::trace_json_file(std::size_t max_bytes) : in_memory_(true), open_(true), max_bytes_(max_bytes) {
  put(head);
}

trace_json_file::~trace_json_file() { close(); }

void trace_json_file::put(std::string_view s) {
  // A file's events gather in text_ and go to stdio 64 KiB at a time: two
  // fwrite calls per event were a tenth of a tracing weftd's time.
  text_.append(s);
  if (!in_memory_ && text_.size() >= write_chunk) write_out();
}

void trace_json_file::write_out() {
  if (f_ == nullptr || text_.empty()) return;
  std::fwrite(text_.data(), 1, text_.size(), f_);
  text_.clear();
}

bool trace_json_file::event(std::string_view object, bool last) {
  if (!open_) return false;
  if (in_memory_) {
    const std::size_t room = last ? max_bytes_ - tail.size() : max_bytes_ - reserve_bytes;
    if (full_ && !last) return false;
    if (text_.size() + 2 + object.size() > room) {
      full_ = true;
      return false;
    }
  }
  put(events_++ == 0 ? "\n" : ",\n");
  put(object);
  return true;
}

void trace_json_file::flush() {
  if (f_ == nullptr) return;
  write_out();
  std::fflush(f_);
}

void trace_json_file::close() {
  if (!open_) return;
  open_ = false;
  put(tail);
  write_out();
  if (f_) std::fclose(f_);
  f_ = nullptr;
}

}  // namespace weft::wire
