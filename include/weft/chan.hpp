// weft/chan.hpp: Go's channels.
#pragma once

#include <weft/detail/cxx20.hpp>

#include <concepts>
#include <cstddef>
#include <iterator>
#include <optional>
#include <stdexcept>
#include <stop_token>
#include <utility>

#include <weft/detail/chan_core.hpp>
#include <weft/detail/select_core.hpp>
#include <weft/errors.hpp>

namespace weft {

// A channel of T. chan<T> ch; is unbuffered, chan<T> ch(n) holds n values
// (ch(0) is unbuffered), chan<T> ch = nullptr is nil: sends and receives on
// it block forever. Copies share one channel. Blocked senders and receivers
// are served in FIFO order; a send to a waiting receiver hands the value over
// directly.
template <class T>
class chan {
  using E = detail::chan_elem_t<T>;

 public:
  using value_type = T;

  chan() : core_(detail::chan_make(0, &detail::elem_ops_for<E>)) {}
  // Any integer type, so that chan<T> ch(0) is unbuffered rather than nil.
  // A negative capacity is misuse (std::invalid_argument); one whose buffer
  // size overflows throws std::length_error ("makechan: size out of range"),
  // and one too big to allocate std::bad_alloc.
  template <std::integral I>
  explicit chan(I capacity) : core_(detail::chan_make(checked(capacity), &detail::elem_ops_for<E>)) {}
  chan(std::nullptr_t) noexcept : core_(nullptr) {}
  // Takes over a reference to core (remote.hpp's in-process channels).
  chan(detail::adopt_core_t, detail::chan_core* core) noexcept : core_(core) {}
  chan(const chan& o) noexcept : core_(o.core_) {
    if (core_) detail::chan_retain(core_);
  }
  chan(chan&& o) noexcept : core_(std::exchange(o.core_, nullptr)) {}
  chan& operator=(chan o) noexcept {
    std::swap(core_, o.core_);
    return *this;
  }
  ~chan() {
    if (core_) detail::chan_release(core_);
  }

  // Blocks until a receiver or buffer slot takes v. Throws
  // closed_channel_error ("send on closed channel") if the channel is closed.
  void send(T v) {
    E e = detail::chan_box(std::move(v));
    detail::chan_send(core_, &e);
  }
  // Like send, but gives up when stop is requested on token first: then
  // returns false and v is dropped.
  bool send(T v, const std::stop_token& token) {
    E e = detail::chan_box(std::move(v));
    return detail::chan_send_or_stop(core_, &e, token);
  }
  // Sends only if that cannot block; false (and v untouched) otherwise.
  // Throws closed_channel_error if the channel is closed. A yield point, as
  // try_recv and select are: a goroutine looping on them lets others run.
  bool try_send(T v) {
    E e = detail::chan_box(std::move(v));
    return detail::chan_try_send(core_, &e);
  }
  // Blocks for a value; std::nullopt once the channel is closed and drained.
  std::optional<T> recv() {
    detail::chan_slot<T> s;
    if (!detail::chan_recv(core_, s.ptr())) return std::nullopt;
    return s.take();
  }
  // Like recv, but gives up when stop is requested on token first: then
  // returns std::nullopt too (token.stop_requested() tells the two apart).
  std::optional<T> recv(const std::stop_token& token) {
    detail::chan_slot<T> s;
    bool ok = false;
    if (!detail::chan_recv_or_stop(core_, s.ptr(), token, &ok) || !ok) return std::nullopt;
    return s.take();
  }
  // Receives only if that cannot block.
  std::optional<T> try_recv() {
    detail::chan_slot<T> s;
    bool closed = false;
    if (!detail::chan_try_recv(core_, s.ptr(), &closed)) return std::nullopt;
    return s.take();
  }
  // Wakes every blocked receiver (they get nullopt) and sender (they throw).
  // Closing a closed or nil channel is misuse ("close of closed channel",
  // "close of nil channel").
  void close() { detail::chan_close(core_); }
  std::size_t size() const noexcept { return core_ ? detail::chan_size(core_) : 0; }
  std::size_t capacity() const noexcept { return core_ ? detail::chan_capacity(core_) : 0; }

  bool operator==(const chan& o) const noexcept { return core_ == o.core_; }
  bool operator==(std::nullptr_t) const noexcept { return core_ == nullptr; }

  // Range-for receives until the channel is closed and drained.
  class iterator {
   public:
    using value_type = T;
    using difference_type = std::ptrdiff_t;
    iterator() = default;
    explicit iterator(chan* c) : c_(c) { ++*this; }
    T&& operator*() { return std::move(*v_); }
    iterator& operator++() {
      v_ = c_->recv();
      if (!v_) c_ = nullptr;
      return *this;
    }
    void operator++(int) { ++*this; }
    bool operator==(std::default_sentinel_t) const noexcept { return c_ == nullptr; }

   private:
    chan* c_ = nullptr;
    std::optional<T> v_;
  };
  iterator begin() { return iterator(this); }
  std::default_sentinel_t end() { return {}; }

  detail::chan_core* core() const noexcept { return core_; }

 private:
  template <class I>
  static std::size_t checked(I capacity) {
    if constexpr (std::is_signed_v<I>) {
      if (capacity < 0) throw std::invalid_argument("weft::chan: negative capacity");
    }
    return static_cast<std::size_t>(capacity);
  }
  detail::chan_core* core_;
};

}  // namespace weft
