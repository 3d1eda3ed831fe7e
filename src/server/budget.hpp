// src/server/budget.hpp: how many bytes of clients' values the server holds.
//
// Every value a host keeps (a channel's buffered or waiting values, a
// pending send offer's value, a variable waiter's expected value) is a
// `held`: a string that counts against one budget while it lives and gives
// its bytes back when it is delivered or dropped. A client cannot grow the
// server past the budget; the request that would is refused. And because
// giving back is automatic, a test that ends with used() == 0 proves the
// state machines dropped or delivered every value they took.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>
#include <utility>

namespace weft::server {

class budget {
 public:
  explicit budget(std::uint64_t limit) : limit_(limit) {}
  budget(const budget&) = delete;
  budget& operator=(const budget&) = delete;

  // Counts n more bytes if that stays within the limit.
  bool take(std::uint64_t n) noexcept {
    std::uint64_t cur = used_.load(std::memory_order_relaxed);
    do {
      if (n > limit_ - cur) return false;
    } while (!used_.compare_exchange_weak(cur, cur + n, std::memory_order_relaxed));
    return true;
  }
  void give(std::uint64_t n) noexcept { used_.fetch_sub(n, std::memory_order_relaxed); }
  std::uint64_t used() const noexcept { return used_.load(std::memory_order_relaxed); }
  std::uint64_t limit() const noexcept { return limit_; }

 private:
  const std::uint64_t limit_;
  std::atomic<std::uint64_t> used_{0};
};

// A value counted against a budget while it lives. Move-only.
class held {
 public:
  held() noexcept = default;
  // REQUIRES: b->take(bytes.size()) succeeded for these bytes.
  held(std::string bytes, budget* b) noexcept : bytes_(std::move(bytes)), budget_(b) {}
  held(held&& o) noexcept : bytes_(std::move(o.bytes_)), budget_(std::exchange(o.budget_, nullptr)) {}
  held& operator=(held&& o) noexcept {
    if (this != &o) {
      reset();
      bytes_ = std::move(o.bytes_);
      budget_ = std::exchange(o.budget_, nullptr);
    }
    return *this;
  }
  held(const held&) = delete;
  held& operator=(const held&) = delete;
  ~held() { reset(); }

  const std::string& bytes() const noexcept { return bytes_; }
  // The bytes, no longer counted (they leave the server in a reply).
  std::string release() noexcept {
    std::string out = std::move(bytes_);
    if (budget_) budget_->give(out.size());
    budget_ = nullptr;
    bytes_.clear();
    return out;
  }

 private:
  void reset() noexcept {
    if (budget_) budget_->give(bytes_.size());
    budget_ = nullptr;
    bytes_.clear();
  }
  std::string bytes_;
  budget* budget_ = nullptr;
};

}  // namespace weft::server
