// weft/remote.hpp: channels and variables that live in a runtime server,
// shared by every process attached to it (the split runtime, DESIGN.md).
//
//   weft::remote::chan<job> jobs("jobs", 64);   // the server's channel "jobs"
//   jobs.send(j);                               // any attached process may receive it
//   weft::remote::var<int> epoch("epoch", 0);
//   epoch.fetch_add(1);
//
// Which server: options.runtime, else WEFT_RUNTIME (weft/run.hpp). Not
// attached: the objects live in this process, and two objects of one name
// are one object, so a program works the same with or without a server.
// Values cross by weft::codec (weft/codec.hpp); the element type is part of
// a name's identity. A failure of the system (not the program) throws
// weft::remote_error; the protocol is docs/protocol.md.
#pragma once

#include <weft/detail/cxx20.hpp>

#include <cstddef>
#include <iterator>
#include <memory>
#include <optional>
#include <stop_token>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include <weft/chan.hpp>
#include <weft/codec.hpp>
#include <weft/detail/remote_core.hpp>
#include <weft/select.hpp>

namespace weft::remote {

// True while this weft::run is attached to a runtime server.
bool attached() noexcept;

// Deletes the channel or variable `name` (in the server, or in this
// process when not attached). Objects already open keep working on their
// own copy only in this process; in a server, their next operation fails.
void remove(std::string_view name);

// A channel hosted by the runtime server: weft::chan<T>'s members and
// meanings, usable in weft::select beside local channels (at most one case
// commits; no value is lost or delivered twice).
template <class T>
class chan {
 public:
  using value_type = T;

  // No channel yet (assign one): what a decoder starts from.
  chan() = default;
  // The channel `name`, unbuffered if new, whatever its capacity if not.
  explicit chan(std::string name) { open(std::move(name), false, 0); }
  // The channel `name`, with `capacity` if new; an existing one with
  // another capacity throws std::invalid_argument.
  chan(std::string name, std::size_t capacity) { open(std::move(name), true, capacity); }

  void send(T v) {
    if (local_ != nullptr) return local_.send(std::move(v));
    detail::chan_send(*remote_, weft::encode(v));
  }
  bool send(T v, const std::stop_token& token) {
    if (local_ != nullptr) return local_.send(std::move(v), token);
    return detail::chan_send_or_stop(*remote_, weft::encode(v), token);
  }
  bool try_send(T v) {
    if (local_ != nullptr) return local_.try_send(std::move(v));
    return detail::chan_try_send(*remote_, weft::encode(v));
  }
  std::optional<T> recv() {
    if (local_ != nullptr) return local_.recv();
    return decoded(detail::chan_recv(*remote_));
  }
  std::optional<T> recv(const std::stop_token& token) {
    if (local_ != nullptr) return local_.recv(token);
    return decoded(detail::chan_recv_or_stop(*remote_, token));
  }
  std::optional<T> try_recv() {
    if (local_ != nullptr) return local_.try_recv();
    return decoded(detail::chan_try_recv(*remote_));
  }
  // Sends every value of vs, in order, as one pipeline: a round trip for
  // the lot rather than one each (the stream's way; send() waits for each).
  // Returns once the channel holds them all, waiting for room as send()
  // does. Throws closed_channel_error if the channel closed first: the
  // values before the close were sent, none after.
  void send_all(std::vector<T> vs) {
    if (local_ != nullptr) {
      for (T& v : vs) local_.send(std::move(v));
      return;
    }
    std::vector<std::string> bytes;
    bytes.reserve(vs.size());
    for (const T& v : vs) bytes.push_back(weft::encode(v));
    detail::chan_send_all(*remote_, std::move(bytes));
  }
  // Waits for a value as recv() does, then takes up to max - 1 more that
  // are there now, in the channel's order (the stream's way: about two
  // round trips for the lot). Empty: closed and drained.
  std::vector<T> recv_some(std::size_t max) {
    std::vector<T> out;
    if (max == 0) return out;
    if (local_ != nullptr) {
      std::optional<T> v = local_.recv();
      while (v) {
        out.push_back(std::move(*v));
        if (out.size() == max) break;
        v = local_.try_recv();
      }
      return out;
    }
    for (std::string& b : detail::chan_recv_some(*remote_, max)) out.push_back(weft::decode<T>(b));
    return out;
  }
  void close() {
    if (local_ != nullptr) return local_.close();
    detail::chan_close(*remote_);
  }
  std::size_t size() const { return local_ != nullptr ? local_.size() : detail::chan_size(*remote_); }
  std::size_t capacity() const { return local_ != nullptr ? local_.capacity() : detail::chan_capacity(*remote_); }
  const std::string& name() const noexcept { return name_; }

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

  // For select (on_recv, on_send): the in-process channel, or the server's.
  const weft::chan<T>& local() const noexcept { return local_; }
  const std::shared_ptr<detail::chan_link>& link() const noexcept { return remote_; }

 private:
  using E = weft::detail::chan_elem_t<T>;
  void open(std::string name, bool has_capacity, std::size_t capacity) {
    name_ = std::move(name);
    const std::string sig = weft::codec<T>::signature();
    remote_ = detail::chan_open(name_, sig, has_capacity, capacity);
    if (!remote_) {
      local_ = weft::chan<T>(weft::detail::adopt_core_t{}, detail::local_chan_open(name_, sig, has_capacity, capacity,
                                                                                   &weft::detail::elem_ops_for<E>));
    }
  }
  static std::optional<T> decoded(std::optional<std::string> bytes) {
    if (!bytes) return std::nullopt;
    return weft::decode<T>(*bytes);
  }

  std::string name_;
  weft::chan<T> local_ = nullptr;
  std::shared_ptr<detail::chan_link> remote_;
};

// A variable hosted by the runtime server. Operations are atomic in the
// server; compare_exchange and wait compare encoded values.
template <class T>
class var {
 public:
  // No variable yet (assign one): what a decoder starts from.
  var() = default;
  // The variable `name`; `initial` if it is new.
  var(std::string name, const T& initial)
      : name_(name), impl_(detail::var_open(name, weft::codec<T>::signature(), weft::encode(initial))) {}

  const std::string& name() const noexcept { return name_; }

  T load() { return weft::decode<T>(detail::var_op(*impl_, detail::var_opcode::load, {}, {}).value); }
  void store(const T& x) { detail::var_op(*impl_, detail::var_opcode::store, weft::encode(x), {}); }
  T exchange(const T& x) {
    return weft::decode<T>(detail::var_op(*impl_, detail::var_opcode::exchange, weft::encode(x), {}).value);
  }
  // If the value equals expected (encoded), stores desired and returns
  // true; else loads the value into expected and returns false.
  bool compare_exchange(T& expected, const T& desired) {
    auto r =
        detail::var_op(*impl_, detail::var_opcode::compare_exchange, weft::encode(desired), weft::encode(expected));
    if (!r.ok) expected = weft::decode<T>(r.value);
    return r.ok;
  }
  // Adds d; returns the old value (arithmetic T; integers wrap).
  T fetch_add(const T& d) requires std::is_arithmetic_v<T> &&(!std::is_same_v<T, bool>) {
    return weft::decode<T>(detail::var_op(*impl_, detail::var_opcode::fetch_add, weft::encode(d), {}).value);
  }
  // Parks until the value differs from old; returns it.
  T wait(const T& old) {
    return weft::decode<T>(detail::var_op(*impl_, detail::var_opcode::wait, {}, weft::encode(old)).value);
  }

 private:
  std::string name_;
  std::shared_ptr<detail::var_link> impl_;
};

}  // namespace weft::remote

// A remote channel or variable crosses processes by name (a migrating
// goroutine's state, weft/migrate.hpp): the receiver opens the server's
// object of that name. Both ends must be attached to the same server.
namespace weft::detail {
template <class T>
struct sig<weft::remote::chan<T>, void> {
  static constexpr bool ok = sig<T>::ok;
  static std::string name() { return "remote_chan<" + sig<T>::name() + ">"; }
};
template <class T>
struct sig<weft::remote::var<T>, void> {
  static constexpr bool ok = sig<T>::ok && std::is_default_constructible_v<T>;
  static std::string name() { return "remote_var<" + sig<T>::name() + ">"; }
};
}  // namespace weft::detail

namespace msgpack {
MSGPACK_API_VERSION_NAMESPACE(MSGPACK_DEFAULT_API_NS) {
  namespace adaptor {
  template <class T>
  struct pack<weft::remote::chan<T>> {
    template <class Stream>
    packer<Stream>& operator()(packer<Stream>& o, const weft::remote::chan<T>& v) const {
      return o.pack(v.name());
    }
  };
  template <class T>
  struct convert<weft::remote::chan<T>> {
    const msgpack::object& operator()(const msgpack::object& o, weft::remote::chan<T>& v) const {
      if (o.type != msgpack::type::STR) throw msgpack::type_error();
      std::string name = o.as<std::string>();
      v = name.empty() ? weft::remote::chan<T>() : weft::remote::chan<T>(std::move(name));
      return o;
    }
  };
  template <class T>
  struct pack<weft::remote::var<T>> {
    template <class Stream>
    packer<Stream>& operator()(packer<Stream>& o, const weft::remote::var<T>& v) const {
      return o.pack(v.name());
    }
  };
  template <class T>
  struct convert<weft::remote::var<T>> {
    const msgpack::object& operator()(const msgpack::object& o, weft::remote::var<T>& v) const {
      if (o.type != msgpack::type::STR) throw msgpack::type_error();
      std::string name = o.as<std::string>();
      v = name.empty() ? weft::remote::var<T>() : weft::remote::var<T>(std::move(name), T{});
      return o;
    }
  };
  }  // namespace adaptor
}  // MSGPACK_API_VERSION_NAMESPACE
}  // namespace msgpack

namespace weft {

// select cases on remote channels (beside weft::on_recv / on_send for
// local ones).
template <class T, class F>
requires std::is_invocable_v<F&, std::optional<T> &&> ||
    std::is_invocable_v<F&> remote::detail::recv_case<T, std::decay_t<F>> on_recv(const remote::chan<T>& ch, F&& f) {
  return {ch.local(), ch.link(), std::forward<F>(f)};
}

template <class T, class U, class F = detail::no_action>
requires std::convertible_to<U, T> && std::is_invocable_v<F&> remote::detail::send_case<T, std::decay_t<F>> on_send(
    const remote::chan<T>& ch, U&& v, F&& f = {}) {
  return {ch.local(), ch.link(), T(std::forward<U>(v)), std::forward<F>(f)};
}

}  // namespace weft
