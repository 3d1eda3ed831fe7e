// src/server/var_host.hpp: the variables a runtime server hosts
// (docs/protocol.md, "Remote variables").
//
// A hosted_var is one encoded value under a weft::mutex and the WAIT
// requests parked on it. Every operation is atomic because it runs whole
// under that lock. The requester's reply is posted after it (a post may
// write to the socket); a waiter's is posted under it, where the change
// that answers it is made (V1).
//
// Invariants:
//   V1 Every waiter's `expected` equals the current value: a change that
//      makes them differ wakes it in the same critical section, with the
//      new value (so a waiter can miss a change only if it came and went
//      between the stub's reads, as the contract allows).
//   V2 Every VarOp gets exactly one final reply (VarValue or Error), unless
//      its client disconnected; a disconnect drops its waiters.
//   V3 A removed variable answers NOT_FOUND, and so did its waiters.
// Comparisons (COMPARE_EXCHANGE, WAIT) are on bytes: weft::codec encodes a
// value one way only, and FETCH_ADD re-encodes with that same codec
// (var_arith.hpp).
#pragma once

#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <unordered_map>

#include <weft/mutex.hpp>

#include "platform/lock_scope.hpp"
#include "platform/thread_annotations.hpp"
#include "server/budget.hpp"
#include "server/client.hpp"

namespace weft::server {

class hosted_var {
 public:
  hosted_var(std::string name, std::string signature, held initial)
      : name_(std::move(name)), signature_(std::move(signature)), value_(std::move(initial)) {}
  hosted_var(const hosted_var&) = delete;
  hosted_var& operator=(const hosted_var&) = delete;

  const std::string& name() const noexcept { return name_; }
  const std::string& signature() const noexcept { return signature_; }

  // One VarOp of c's; the reply (VarValue or Error) goes to c, now or, for
  // WAIT, once the value differs.
  void apply(client& c, std::uint64_t id, const v1::VarOp& op, budget* b);
  std::string load();
  // A parked WAIT of c's ends with Error CANCELLED.
  void cancel(client& c, std::uint64_t id);
  void drop(client& c);
  void remove();

 private:
  struct waiter {
    client* c;
    std::uint64_t id;
    held expected;
  };
  void set(held v) REQUIRES(mu_);
  // apply's work under the lock: the reply to post, or no body for a WAIT
  // that parks.
  wire::frame answer(client& c, std::uint64_t id, const v1::VarOp& op, budget* b) REQUIRES(mu_);

  const std::string name_;
  const std::string signature_;
  weft::mutex mu_;
  held value_ GUARDED_BY(mu_);
  std::deque<waiter> waiters_ GUARDED_BY(mu_);
  bool removed_ GUARDED_BY(mu_) = false;
};

class var_host {
 public:
  struct limits {
    std::size_t max_vars = 1u << 20;
    std::size_t max_name = 4096;
  };
  explicit var_host(budget* b) : var_host(b, limits{}) {}
  var_host(budget* b, limits l) : budget_(b), limits_(l) {}

  struct opened {
    std::shared_ptr<hosted_var> var;  // null: refused, see error
    bool created = false;
    std::string value;  // the current value
    v1::Error::Code code = v1::Error::CODE_UNSPECIFIED;
    std::string error;
  };
  // VarOpen: creates the variable with initial if new; an existing one
  // must have the same signature (else REFUSED).
  opened open(const std::string& name, const std::string& signature, const std::string& initial);
  bool remove(const std::string& name);
  budget* value_budget() const noexcept { return budget_; }

 private:
  budget* const budget_;
  const limits limits_;
  weft::mutex mu_;
  std::unordered_map<std::string, std::shared_ptr<hosted_var>> vars_ GUARDED_BY(mu_);
};

}  // namespace weft::server
