// src/etcd/lease.cpp: leases over gRPC: grant, revoke, time_to_live, and
// one keep-alive for the lease_keeper (keeper.cpp; design of the client in
// client.cpp).
//
// etcd's keep-alive is a bidirectional stream meant to stay open, but an
// open stream would hold an OS thread in weft::blocking between refreshes
// (a synchronous Read; client.cpp, "Threading"). So each refresh is a short
// stream of its own: open, send the lease id, half-close, read the one
// answer, finish. HTTP/2 makes that one round trip on the connection gRPC
// keeps, and etcd's server ends the stream when it sees the half-close.
#include <cstdio>
#include <stdexcept>

#include "etcd/calls.hpp"
#include "etcd/connection.hpp"

namespace weft::etcd {

namespace detail {

std::string lease_name(lease_id id) {
  char hex[32];
  std::snprintf(hex, sizeof hex, "%llx", static_cast<unsigned long long>(id));
  return std::string("lease ") + hex;
}

std::int64_t refresh_lease(connection& c, lease_id id, clock::time_point deadline) {
  pb::LeaseKeepAliveRequest req;
  req.set_id(id);
  pb::LeaseKeepAliveResponse resp;
  c.call("keep-alive of " + lease_name(id), deadline, resend::yes, [&](endpoint& e, grpc::ClientContext& ctx) {
    resp.Clear();
    auto stream = e.lease->LeaseKeepAlive(&ctx);
    bool answered = stream->Write(req) && stream->WritesDone() && stream->Read(&resp);
    grpc::Status st = stream->Finish();
    if (st.ok() && !answered) return grpc::Status(grpc::StatusCode::INTERNAL, "keep-alive stream ended unanswered");
    return st;
  });
  return resp.ttl();
}

}  // namespace detail

using detail::resend;

lease client::grant(std::chrono::seconds ttl) {
  if (ttl.count() <= 0) throw std::invalid_argument("etcd grant: the TTL must be positive");
  detail::pb::LeaseGrantRequest req;
  req.set_ttl(ttl.count());
  detail::pb::LeaseGrantResponse resp;
  conn_->call("grant (TTL " + std::to_string(ttl.count()) + " s)", conn_->deadline(), resend::yes,
              [&](detail::endpoint& e, grpc::ClientContext& ctx) { return e.lease->LeaseGrant(&ctx, req, &resp); });
  if (!resp.error().empty()) throw remote_error(remote_errc::refused, "etcd: grant: " + resp.error());
  return lease{resp.id(), std::chrono::seconds(resp.ttl())};
}

bool client::revoke(lease_id id) {
  detail::pb::LeaseRevokeRequest req;
  req.set_id(id);
  detail::pb::LeaseRevokeResponse resp;
  bool found = true;
  conn_->call("revoke of " + detail::lease_name(id), conn_->deadline(), resend::yes,
              [&](detail::endpoint& e, grpc::ClientContext& ctx) {
                grpc::Status st = e.lease->LeaseRevoke(&ctx, req, &resp);
                found = st.error_code() != grpc::StatusCode::NOT_FOUND;
                return found ? st : grpc::Status::OK;
              });
  return found;
}

std::optional<std::chrono::seconds> client::time_to_live(lease_id id) {
  detail::pb::LeaseTimeToLiveRequest req;
  req.set_id(id);
  detail::pb::LeaseTimeToLiveResponse resp;
  bool found = true;
  conn_->call("time_to_live of " + detail::lease_name(id), conn_->deadline(), resend::yes,
              [&](detail::endpoint& e, grpc::ClientContext& ctx) {
                grpc::Status st = e.lease->LeaseTimeToLive(&ctx, req, &resp);
                found = st.error_code() != grpc::StatusCode::NOT_FOUND;
                return found ? st : grpc::Status::OK;
              });
  // etcd 3.4 answers TTL -1 for a lease it does not have.
  if (!found || resp.ttl() < 0) return std::nullopt;
  return std::chrono::seconds(resp.ttl());
}

}  // namespace weft::etcd
