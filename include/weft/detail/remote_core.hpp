// weft/detail/remote_core.hpp: the type-erased side of weft/remote.hpp.
// Internal; implemented in src/remote/ (the protocol: docs/protocol.md).
#pragma once

#include <cstddef>
#include <memory>
#include <optional>
#include <stop_token>
#include <string>
#include <utility>
#include <vector>

#include <weft/chan.hpp>
#include <weft/codec.hpp>
#include <weft/detail/chan_core.hpp>
#include <weft/detail/select_core.hpp>
#include <weft/errors.hpp>
#include <weft/select.hpp>

namespace weft::remote::detail {

// One remote channel as this process sees it (a handle on the server).
class chan_link;
// One remote (or in-process) variable.
class var_link;

// Opens the server's channel; null when not attached (then the caller uses
// local_chan_open). Throws std::invalid_argument for a type or capacity
// that does not match the existing channel, remote_error otherwise.
std::shared_ptr<chan_link> chan_open(const std::string& name, const std::string& signature, bool has_capacity,
                                     std::size_t capacity);
// The in-process channel of that name (a new reference to its core).
weft::detail::chan_core* local_chan_open(const std::string& name, const std::string& signature, bool has_capacity,
                                         std::size_t capacity, const weft::detail::elem_ops* ops);

void chan_send(chan_link& c, std::string bytes);  // throws closed_channel_error
bool chan_send_or_stop(chan_link& c, std::string bytes, const std::stop_token& token);
bool chan_try_send(chan_link& c, std::string bytes);
std::optional<std::string> chan_recv(chan_link& c);  // nullopt: closed and drained
std::optional<std::string> chan_recv_or_stop(chan_link& c, const std::stop_token& token);
std::optional<std::string> chan_try_recv(chan_link& c);
// Pipelined (src/remote/chan_batch.cpp): every value sent in order,
// returning once the channel holds them all; throws closed_channel_error
// if it closed first (the values before the close were sent, no later one).
void chan_send_all(chan_link& c, std::vector<std::string> values);
// Waits for one value, then takes up to max - 1 more that are ready, in
// the channel's order; empty: closed and drained.
std::vector<std::string> chan_recv_some(chan_link& c, std::size_t max);
void chan_close(chan_link& c);
std::size_t chan_size(chan_link& c);
std::size_t chan_capacity(const chan_link& c) noexcept;

// A remote channel's case in a select (src/remote/offer_case.cpp): after
// it won, value() holds the received bytes.
class offer_case : public weft::detail::external_case {
 public:
  const std::string& value() const noexcept { return value_; }

 protected:
  std::string value_;
};
std::unique_ptr<offer_case> make_recv_offer(std::shared_ptr<chan_link> c);
std::unique_ptr<offer_case> make_send_offer(std::shared_ptr<chan_link> c, std::string bytes);

enum class var_opcode { load, store, exchange, compare_exchange, fetch_add, wait };
struct var_result {
  std::string value;
  bool ok = false;
};
std::shared_ptr<var_link> var_open(const std::string& name, const std::string& signature, std::string initial);
var_result var_op(var_link& v, var_opcode op, std::string value, std::string expected);

// on_recv(remote::chan<T>, f): a local recv case when the channel lives in
// this process, an external one when it lives in the server.
template <class T, class F>
class recv_case : public weft::detail::select_case_base {
 public:
  recv_case(const weft::chan<T>& local, std::shared_ptr<chan_link> link, F f)
      : local_(local.core()), link_(std::move(link)), f_(std::move(f)) {}
  weft::detail::select_arm arm() {
    weft::detail::select_arm a;
    if (!link_) {
      a.dir = weft::detail::select_dir::recv;
      a.chan = local_;
      a.elem = slot_.ptr();
      return a;
    }
    ext_ = make_recv_offer(link_);
    a.dir = weft::detail::select_dir::external;
    a.ext = ext_.get();
    return a;
  }
  void complete(const weft::detail::select_arm& a) {
    std::optional<T> v;
    if (a.ok) {
      if (link_)
        v.emplace(weft::decode<T>(ext_->value()));
      else
        v.emplace(slot_.take());
    }
    if constexpr (std::is_invocable_v<F&, std::optional<T>&&>)
      f_(std::move(v));
    else
      f_();
  }
  weft::detail::chan_core* core() const noexcept { return link_ ? nullptr : local_; }

 private:
  weft::detail::chan_core* local_;
  std::shared_ptr<chan_link> link_;
  F f_;
  weft::detail::chan_slot<T> slot_;
  std::unique_ptr<offer_case> ext_;
};

// on_send(remote::chan<T>, v, f). The value is sent at most once (arming
// the case again after it sent is misuse, as for weft::on_send).
template <class T, class F>
class send_case : public weft::detail::select_case_base {
 public:
  send_case(const weft::chan<T>& local, std::shared_ptr<chan_link> link, T v, F f)
      : local_(local.core()), link_(std::move(link)), v_(weft::detail::chan_box(std::move(v))), f_(std::move(f)) {}
  weft::detail::select_arm arm() {
    if (sent_)
      throw misuse_error(
          "weft::select: a send case was chosen again after it sent its value; "
          "make a new case for each value");
    weft::detail::select_arm a;
    if (!link_) {
      a.dir = weft::detail::select_dir::send;
      a.chan = local_;
      a.elem = &v_;
      return a;
    }
    ext_ = make_send_offer(link_, weft::encode(value()));
    a.dir = weft::detail::select_dir::external;
    a.ext = ext_.get();
    return a;
  }
  void complete(const weft::detail::select_arm&) {
    sent_ = true;
    f_();
  }
  weft::detail::chan_core* core() const noexcept { return link_ ? nullptr : local_; }

 private:
  const T& value() const {
    if constexpr (std::is_same_v<weft::detail::chan_elem_t<T>, T>)
      return v_;
    else
      return *v_;
  }
  weft::detail::chan_core* local_;
  std::shared_ptr<chan_link> link_;
  weft::detail::chan_elem_t<T> v_;
  F f_;
  bool sent_ = false;
  std::unique_ptr<offer_case> ext_;
};

}  // namespace weft::remote::detail
