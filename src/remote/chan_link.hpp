// src/remote/chan_link.hpp: a remote channel as the stub holds it.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include <weft/detail/remote_core.hpp>

#include "remote/stub.hpp"

namespace weft::remote::detail {

class chan_link : public std::enable_shared_from_this<chan_link> {
 public:
  chan_link(stub* s, std::uint64_t handle, std::size_t capacity, std::string name)
      : s_(s), handle_(handle), capacity_(capacity), name_(std::move(name)) {}
  stub& server() const noexcept { return *s_; }
  std::uint64_t handle() const noexcept { return handle_; }
  std::size_t capacity() const noexcept { return capacity_; }
  const std::string& name() const noexcept { return name_; }
  // "remote channel "jobs" on runtime server unix:/..." for messages.
  std::string describe() const { return "remote channel \"" + name_ + "\" on runtime server " + s_->address(); }
  // ChanSend and ChanRecv requests on this channel.
  v1::Frame send_request(std::string bytes, v1::Mode mode) const {
    v1::Frame req;
    v1::ChanSend* m = req.mutable_chan_send();
    m->set_handle(handle_);
    m->set_value(std::move(bytes));
    m->set_mode(mode);
    return req;
  }
  v1::Frame recv_request(v1::Mode mode) const {
    v1::Frame req;
    v1::ChanRecv* m = req.mutable_chan_recv();
    m->set_handle(handle_);
    m->set_mode(mode);
    return req;
  }

 private:
  stub* s_;
  std::uint64_t handle_;
  std::size_t capacity_;
  std::string name_;
};

}  // namespace weft::remote::detail
