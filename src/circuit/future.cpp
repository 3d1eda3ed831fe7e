// src/circuit/future.cpp: weft::future's untyped outcome (weft/future.hpp).
#include <weft/future.hpp>
#include <weft/timer.hpp>

#include "runtime/gstats.hpp"
#include "wire/remote_wait.hpp"

namespace weft::detail {

future_state::future_state() = default;
future_state::~future_state() = default;

// The first settle wins the claim and writes the outcome; publish closes
// `done`, which orders those writes before every waiter's reads.
bool future_state::claim() noexcept { return !claimed_.exchange(true, std::memory_order_acq_rel); }

void future_state::publish() noexcept {
  ready_.store(true, std::memory_order_release);
  try {
    done_.close();
  } catch (...) {}
}

bool future_state::settle_value(std::string bytes) noexcept {
  if (!claim()) return false;
  outcome_ = outcome::value;
  value_ = std::move(bytes);
  publish();
  return true;
}

bool future_state::settle_threw(std::string type_name, std::string what) noexcept {
  if (!claim()) return false;
  outcome_ = outcome::threw;
  value_ = std::move(type_name);
  what_ = std::move(what);
  publish();
  return true;
}

bool future_state::settle_failed(remote_errc kind, std::string what) noexcept {
  if (!claim()) return false;
  outcome_ = outcome::failed;
  errc_ = kind;
  what_ = std::move(what);
  publish();
  return true;
}

const std::string& future_state::wait_value() {
  if (!ready()) {
    wait_label_scope remote(wire::wait_xref_call);
    (void)done_.recv();
  }
  switch (outcome_) {
    case outcome::value: return value_;
    case outcome::threw: throw remote_exception(value_, what_);
    case outcome::failed: break;
  }
  throw remote_error(errc_, what_);
}

bool future_state::wait_until(std::chrono::steady_clock::time_point t) {
  if (ready()) return true;
  wait_label_scope remote(wire::wait_xref_call);
  if (t == std::chrono::steady_clock::time_point::max()) {
    (void)done_.recv();
    return true;
  }
  auto left = t - std::chrono::steady_clock::now();
  if (left <= std::chrono::steady_clock::duration::zero()) return ready();
  weft::timer deadline(left);
  bool settled = false;
  weft::select(weft::on_recv(done_, [&] { settled = true; }), weft::on_recv(deadline.channel(), [] {}));
  deadline.stop();
  return settled || ready();
}

}  // namespace weft::detail
