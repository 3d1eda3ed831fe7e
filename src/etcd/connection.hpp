// src/etcd/connection.hpp: the endpoints of one client, and the failover
// and deadlines around every call (design in client.cpp). Internal to
// src/etcd/: the only header of weft_etcd that includes gRPC's.
#pragma once

#include <grpcpp/grpcpp.h>

#include <atomic>
#include <chrono>
#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <weft/blocking.hpp>
#include <weft/errors.hpp>

#include "etcd/calls.hpp"
#include "etcd/client.hpp"
#include "etcd/etcdserver/etcdserverpb/rpc.grpc.pb.h"

namespace weft::etcd::detail {

namespace pb = ::etcdserverpb;

// One member of the cluster as this client reaches it. gRPC stubs and
// channels are thread-safe; nothing here changes after construction.
struct endpoint {
  std::string name;  // as the caller gave it, for messages
  std::shared_ptr<grpc::Channel> channel;
  std::unique_ptr<pb::KV::Stub> kv;
  std::unique_ptr<pb::Watch::Stub> watch;
  std::unique_ptr<pb::Lease::Stub> lease;
};

// May the call be sent again, to another endpoint, after an answer was
// lost (gRPC UNAVAILABLE once the request may have left)?
enum class resend { yes, no };

class connection {
 public:
  // Throws std::invalid_argument on a bad endpoint or none.
  connection(std::vector<std::string> endpoints, const options& opts);

  const options& opts() const { return opts_; }
  clock::time_point deadline() const { return clock::now() + opts_.timeout; }
  std::vector<std::string> names() const;
  std::size_t size() const { return endpoints_.size(); }
  // The endpoint that answered last: where every call starts.
  std::size_t preferred() const { return preferred_.load(std::memory_order_relaxed); }
  endpoint& at(std::size_t k) { return endpoints_[k]; }

  // Runs rpc(endpoint&, grpc::ClientContext&) -> grpc::Status inside
  // weft::blocking, with the call's deadline set on the context, on the
  // preferred endpoint and then, while an endpoint cannot be reached, on
  // the others in turn. Throws remote_error: unreachable when no endpoint
  // could be reached by the deadline (naming each and why), timeout,
  // unknown_outcome (an answer lost after sending, with resend::no), or
  // what etcd's status says (status_error). `what` names the call in
  // messages ("put \"/k\"").
  template <class Rpc>
  void call(const std::string& what, clock::time_point deadline, resend again, Rpc rpc);

  // Waits (inside weft::blocking) until k accepts a connection, at most
  // until by. False, with a clause for `why`, when it does not.
  bool connect(std::size_t k, clock::time_point by, std::string& why);
  // Records that k answered: later calls start there.
  void answered(std::size_t k) { preferred_.store(k, std::memory_order_relaxed); }

  // The remote_error for a call that reached no endpoint.
  remote_error unreachable(const std::string& what, const std::string& why) const;
  // The remote_error for a call that ended with status at k.
  remote_error status_error(const std::string& what, std::size_t k, const grpc::Status& status) const;

 private:
  options opts_;
  std::vector<endpoint> endpoints_;
  std::atomic<std::size_t> preferred_{0};
};

// Sets a steady_clock deadline on ctx (gRPC takes system_clock).
void set_deadline(grpc::ClientContext& ctx, clock::time_point deadline);
// etcd's KeyValue as this client's (client.cpp).
key_value from_pb(const ::mvccpb::KeyValue& p);

template <class Rpc>
void connection::call(const std::string& what, clock::time_point deadline, resend again, Rpc rpc) {
  std::string why;
  const std::size_t n = endpoints_.size();
  const std::size_t first = preferred();
  for (std::size_t i = 0; i < n; ++i) {
    const std::size_t k = (first + i) % n;
    if (!connect(k, deadline, why)) continue;
    grpc::Status st = weft::blocking([&] {
      grpc::ClientContext ctx;
      set_deadline(ctx, deadline);
      return rpc(endpoints_[k], ctx);
    });
    if (st.ok()) {
      answered(k);
      return;
    }
    if (st.error_code() != grpc::StatusCode::UNAVAILABLE) throw status_error(what, k, st);
    if (again == resend::no) {
      throw remote_error(remote_errc::unknown_outcome,
                         "etcd: " + what + " at " + endpoints_[k].name + ": the connection broke after the request " +
                             "was sent (" + st.error_message() + "); it may or may not have been applied");
    }
    why += (why.empty() ? "" : "; ") + endpoints_[k].name + ": " + st.error_message();
  }
  throw unreachable(what, why);
}

}  // namespace weft::etcd::detail
