// src/etcd/client.cpp: an etcd v3 client for goroutines.
//
// weftd will keep membership and the anchor namespace of many hosts in etcd
// (DESIGN.md, "Cluster backbone"); this is the client it stands on. It
// speaks etcd's v3 API, gRPC with etcd's own protos (weft_etcd_proto,
// generated from Debian's copies), and uses three of its services: KV
// (Range, Put, DeleteRange, Txn), Lease (Grant, Revoke, KeepAlive,
// TimeToLive) and Watch.
//
// Concepts
//   endpoint   one etcd member, as given ("http://10.0.0.1:2379"), with its
//              gRPC channel and stubs (connection.hpp). The client keeps
//              one per member; gRPC connects each lazily and reconnects it
//              after a failure (backoff capped at 1 s).
//   preferred  the endpoint that answered last: every call starts there.
//   deadline   every call has one, options.timeout (5 s) from its start,
//              for all its attempts together. The gRPC context carries it
//              to etcd; connecting to one endpoint may take at most
//              options.connect_timeout (1 s) of it.
//   failover   a call first waits for its endpoint to be connected; one
//              that is not by its connect timeout is skipped, and the call
//              tries the next. Nothing was sent to a skipped endpoint, so
//              every call may fail over this way. A call whose answer is
//              lost after it was sent (gRPC UNAVAILABLE: the connection
//              broke, or etcd has no leader) is sent again to the next
//              endpoint only if sending it twice is harmless: all but
//              put_if_absent, whose lost answer is unknown_outcome (the key
//              may be ours, or another's). grant sent twice grants a lease
//              nobody keeps alive: it expires after its TTL, with no keys.
//
// Threading. gRPC's synchronous API blocks the OS thread that calls it, and
// in weft goroutines park while threads must not stall the scheduler. Every
// gRPC call here runs inside weft::blocking (Go's entersyscall): the
// calling goroutine keeps its thread for the call, and sysmon hands its P
// to another thread after ~20 us, so the other goroutines run on. The call
// runs on the goroutine's stack: a gRPC call measured ~19 KiB of it
// (connecting, a 1 KiB put, a watch), within the default 64 KiB.
//   So every call in progress holds an OS thread, as any blocking call
// does. A long-lived stream holds one while it waits: a watch's goroutine
// sits in weft::blocking(Read) between events, so each running watcher
// occupies one OS thread (weftd needs a few). Lease keep-alives do not: each
// refresh is a short stream (open, send one request, read one answer,
// close) and the keeper parks in a weft sleep between refreshes.
//   Rejected: gRPC's asynchronous API on one thread of our own, waking the
// parked goroutines through weft channels (which plain threads may use).
// It would hold no thread per watch, but a plain thread that wakes
// goroutines turns weft's deadlock detection off for the rest of the run
// (docs/runtime.md, "Deadlock"), and the first wake-up can come too late for
// that check: a program whose goroutines all wait on etcd could be ended as
// deadlocked. A goroutine in weft::blocking counts as running, so here the
// check stays right. The asynchronous API's state machines (one read and one
// write in flight per stream, every tag drained before shutdown) are also
// much more code to get right. The callback API has the same plain-thread
// problem.
//
// When etcd is down: constructing a client never fails (gRPC connects
// lazily). A call finds no endpoint connected within connect_timeout each
// and throws remote_error{unreachable} naming every endpoint and why,
// within its deadline; it never hangs. The channels go on reconnecting
// (every second at most), so the same client works again once etcd is back.
// A lease_keeper retries until it can refresh, then goes on; if etcd
// answers that the lease is gone (it expired while this process could not
// reach etcd), the keeper ends with lost() true. A watcher whose stream
// breaks ends with error() = remote_error{lost}; a new watch from its
// next_revision() loses and repeats nothing (watch.cpp).
//
// Files
//   client.hpp       the API (no gRPC type in it)
//   client.cpp       this comment; the KV calls
//   connection.*     endpoints, channels, failover, deadlines, errors
//   lease.cpp        grant, revoke, time_to_live, one keep-alive
//   keeper.cpp       lease_keeper's goroutine
//   watch_stream.cpp a Watch stream: setup with its deadline, reads
//   watch.cpp        watcher's goroutine: events, revisions, the end
//   calls.hpp        what keeper.cpp and watch.cpp need of the gRPC side,
//                    without gRPC's headers (they bring Abseil's
//                    GUARDED_BY, which collides with weft's)
//
// Invariants
//   - No gRPC call that can wait runs outside weft::blocking (making a
//     channel or a stub does not wait), and nothing inside one parks
//     (weft::blocking's rule).
//   - Every unary call has a deadline; a stream's setup too (watch_stream.cpp);
//     only a running watch has none (it ends by stop() or by breaking).
//   - A connection, its channels and stubs do not change after
//     construction; preferred is the only shared mutable state (atomic).
//   - Keepers and watchers hold the connection (shared_ptr): the client
//     may be destroyed before them.
#include "etcd/client.hpp"

#include <stdexcept>
#include <utility>

#include "etcd/connection.hpp"

namespace weft::etcd {

namespace detail {

key_value from_pb(const ::mvccpb::KeyValue& p) {
  key_value kv;
  kv.key = p.key();
  kv.value = p.value();
  kv.create_revision = p.create_revision();
  kv.mod_revision = p.mod_revision();
  kv.version = p.version();
  kv.lease = p.lease();
  return kv;
}

namespace {

void check_key(std::string_view key, const char* call) {
  if (key.empty()) throw std::invalid_argument(std::string("etcd ") + call + ": empty key");
}

}  // namespace

}  // namespace detail

using detail::quoted;
using detail::resend;

client::client(std::vector<std::string> endpoints, options opts)
    : conn_(std::make_shared<detail::connection>(std::move(endpoints), opts)) {}
client::~client() = default;
client::client(client&&) noexcept = default;
client& client::operator=(client&&) noexcept = default;

std::vector<std::string> client::endpoints() const { return conn_->names(); }

std::int64_t client::put(std::string_view key, std::string_view value, lease_id lease) {
  detail::check_key(key, "put");
  detail::pb::PutRequest req;
  req.set_key(std::string(key));
  req.set_value(std::string(value));
  req.set_lease(lease);
  detail::pb::PutResponse resp;
  conn_->call("put " + quoted(key), conn_->deadline(), resend::yes,
              [&](detail::endpoint& e, grpc::ClientContext& ctx) { return e.kv->Put(&ctx, req, &resp); });
  return resp.header().revision();
}

bool client::put_if_absent(std::string_view key, std::string_view value, lease_id lease) {
  detail::check_key(key, "put_if_absent");
  detail::pb::TxnRequest req;
  detail::pb::Compare* cmp = req.add_compare();
  cmp->set_key(std::string(key));
  cmp->set_target(detail::pb::Compare::CREATE);
  cmp->set_result(detail::pb::Compare::EQUAL);
  cmp->set_create_revision(0);  // the key does not exist
  detail::pb::PutRequest* put = req.add_success()->mutable_request_put();
  put->set_key(std::string(key));
  put->set_value(std::string(value));
  put->set_lease(lease);
  detail::pb::TxnResponse resp;
  conn_->call("put_if_absent " + quoted(key), conn_->deadline(), resend::no,
              [&](detail::endpoint& e, grpc::ClientContext& ctx) { return e.kv->Txn(&ctx, req, &resp); });
  return resp.succeeded();
}

std::optional<key_value> client::get(std::string_view key) {
  detail::check_key(key, "get");
  detail::pb::RangeRequest req;
  req.set_key(std::string(key));
  detail::pb::RangeResponse resp;
  conn_->call("get " + quoted(key), conn_->deadline(), resend::yes,
              [&](detail::endpoint& e, grpc::ClientContext& ctx) { return e.kv->Range(&ctx, req, &resp); });
  if (resp.kvs_size() == 0) return std::nullopt;
  return detail::from_pb(resp.kvs(0));
}

snapshot client::get_prefix(std::string_view prefix) {
  detail::pb::RangeRequest req;
  req.set_key(prefix.empty() ? std::string(1, '\0') : std::string(prefix));
  req.set_range_end(detail::prefix_end(prefix));
  detail::pb::RangeResponse resp;
  conn_->call("get_prefix " + quoted(prefix), conn_->deadline(), resend::yes,
              [&](detail::endpoint& e, grpc::ClientContext& ctx) { return e.kv->Range(&ctx, req, &resp); });
  snapshot s;
  s.revision = resp.header().revision();
  s.kvs.reserve(static_cast<std::size_t>(resp.kvs_size()));
  for (const ::mvccpb::KeyValue& p : resp.kvs()) s.kvs.push_back(detail::from_pb(p));
  return s;
}

bool client::erase(std::string_view key) {
  detail::check_key(key, "erase");
  detail::pb::DeleteRangeRequest req;
  req.set_key(std::string(key));
  detail::pb::DeleteRangeResponse resp;
  conn_->call("erase " + quoted(key), conn_->deadline(), resend::yes,
              [&](detail::endpoint& e, grpc::ClientContext& ctx) { return e.kv->DeleteRange(&ctx, req, &resp); });
  return resp.deleted() > 0;
}

std::int64_t client::erase_prefix(std::string_view prefix) {
  if (prefix.empty()) throw std::invalid_argument("etcd erase_prefix: an empty prefix would erase every key");
  detail::pb::DeleteRangeRequest req;
  req.set_key(std::string(prefix));
  req.set_range_end(detail::prefix_end(prefix));
  detail::pb::DeleteRangeResponse resp;
  conn_->call("erase_prefix " + quoted(prefix), conn_->deadline(), resend::yes,
              [&](detail::endpoint& e, grpc::ClientContext& ctx) { return e.kv->DeleteRange(&ctx, req, &resp); });
  return resp.deleted();
}

}  // namespace weft::etcd
