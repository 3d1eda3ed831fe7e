// src/net/reader.cpp: weft::net::reader, buffered reading (design in
// weft/net_io.hpp).
//
// Invariants: r_ <= w_ <= cap_; the unread bytes are buf_[r_, w_); an empty
// buffer has r_ == w_ == 0 (consume resets it), so a plain read fills the
// whole buffer. A method changes r_ only once it has its result, and fill
// changes w_ only after the source returned, so an exception from the
// source leaves every unread byte in place.
#include <weft/net_io.hpp>

#include <algorithm>
#include <cstring>
#include <new>
#include <string>
#include <utility>

namespace weft::net {

namespace {

// The code of unexpected_eof_error: its own category, for its message (Go's
// words). No std::errc fits: an EOF is not an errno.
class eof_category_t final : public std::error_category {
 public:
  const char* name() const noexcept override { return "weft::net"; }
  std::string message(int) const override { return "unexpected EOF"; }
};

const eof_category_t eof_category;

}  // namespace

unexpected_eof_error::unexpected_eof_error(std::size_t got, std::size_t wanted)
    : std::system_error(
          1, eof_category,
          "weft::net::reader::read_full: " + std::to_string(got) + " of " + std::to_string(wanted) + " bytes"),
      got_(got),
      wanted_(wanted) {}

reader::reader(void* src, read_fn fn, std::size_t size) : src_(src), read_(fn), size_(std::max(size, min_size)) {
  buf_.reset(new std::byte[size_]);
  cap_ = size_;
}

reader::reader(reader&& other) noexcept
    : src_(std::exchange(other.src_, nullptr)),
      read_(std::exchange(other.read_, nullptr)),
      buf_(std::move(other.buf_)),
      size_(std::exchange(other.size_, 0)),
      cap_(std::exchange(other.cap_, 0)),
      r_(std::exchange(other.r_, 0)),
      w_(std::exchange(other.w_, 0)) {}

reader& reader::operator=(reader&& other) noexcept {
  if (this != &other) {
    src_ = std::exchange(other.src_, nullptr);
    read_ = std::exchange(other.read_, nullptr);
    buf_ = std::move(other.buf_);
    size_ = std::exchange(other.size_, 0);
    cap_ = std::exchange(other.cap_, 0);
    r_ = std::exchange(other.r_, 0);
    w_ = std::exchange(other.w_, 0);
  }
  return *this;
}

reader::~reader() = default;

std::size_t reader::fill(std::size_t need) {
  if (src_ == nullptr) return 0;
  if (cap_ - r_ < need) {
    const std::size_t unread = w_ - r_;
    if (cap_ >= need) {
      std::memmove(buf_.get(), buf_.get() + r_, unread);
    } else {
      const std::size_t grown = std::max(need, cap_ * 2);
      std::unique_ptr<std::byte[]> bigger(new std::byte[grown]);
      if (unread > 0) std::memcpy(bigger.get(), buf_.get() + r_, unread);
      buf_ = std::move(bigger);
      cap_ = grown;
    }
    r_ = 0;
    w_ = unread;
  }
  const std::size_t n = read_(src_, std::span<std::byte>(buf_.get() + w_, cap_ - w_));
  w_ += n;
  return n;
}

void reader::consume(std::size_t n) noexcept {
  r_ += n;
  if (r_ != w_) return;
  r_ = w_ = 0;
  if (cap_ > size_) {
    // A long line grew the buffer: give the memory back now that it is
    // empty (if the allocation fails, keep the big one).
    std::byte* smaller = new (std::nothrow) std::byte[size_];
    if (smaller != nullptr) {
      buf_.reset(smaller);
      cap_ = size_;
    }
  }
}

std::string reader::take(std::size_t n) {
  std::string s(reinterpret_cast<const char*>(buf_.get() + r_), n);
  consume(n);
  return s;
}

std::size_t reader::read(std::span<std::byte> buf) {
  if (buf.empty()) return 0;
  if (r_ == w_) {
    // Nothing buffered and a big request: read straight into it (bufio
    // does the same), rather than through the buffer in pieces.
    if (buf.size() >= cap_) return src_ != nullptr ? read_(src_, buf) : 0;
    if (fill(1) == 0) return 0;
  }
  const std::size_t n = std::min(buf.size(), w_ - r_);
  std::memcpy(buf.data(), buf_.get() + r_, n);
  consume(n);
  return n;
}

bool reader::read_full(std::span<std::byte> buf) {
  // Through the buffer even when buf is large: then nothing is taken until
  // all of it is there, and a deadline midway loses nothing.
  while (w_ - r_ < buf.size()) {
    if (fill(buf.size()) == 0) {
      if (r_ == w_) return false;
      throw unexpected_eof_error(w_ - r_, buf.size());
    }
  }
  if (!buf.empty()) std::memcpy(buf.data(), buf_.get() + r_, buf.size());
  consume(buf.size());
  return true;
}

std::optional<std::string> reader::read_until(char delim) {
  std::size_t scanned = 0;  // unread bytes already searched (r_ moves on compaction)
  for (;;) {
    const std::size_t unread = w_ - r_;
    if (unread > scanned) {
      const std::byte* from = buf_.get() + r_ + scanned;
      if (const void* hit = std::memchr(from, static_cast<unsigned char>(delim), unread - scanned)) {
        return take(static_cast<std::size_t>(static_cast<const std::byte*>(hit) - (buf_.get() + r_)) + 1);
      }
      scanned = unread;
    }
    if (fill(unread + 1) == 0) {
      if (r_ == w_) return std::nullopt;
      return take(w_ - r_);
    }
  }
}

std::optional<std::string> reader::read_line() {
  std::optional<std::string> line = read_until('\n');
  if (line && !line->empty() && line->back() == '\n') line->pop_back();
  if (line && !line->empty() && line->back() == '\r') line->pop_back();
  return line;
}

}  // namespace weft::net
