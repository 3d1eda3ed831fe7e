// src/etcd/watch_stream.cpp: a Watch stream over gRPC, for the watcher
// (watch.cpp; design of the client in client.cpp).
//
// One stream carries one watch. Setup: on the preferred endpoint, failing
// over as every call does, open the stream, send the create request and
// read etcd's "created" answer. A synchronous Read has no deadline of its
// own (the context's deadline would end the whole stream later), so a
// guard goroutine cancels the context at the call's deadline if the answer
// has not come; the setup and the guard settle who won with one CAS on
// `phase`, and the setup joins the guard before the context can go. Once
// open_watch returns, etcd has registered the watch: anything written
// later is seen.
#include <atomic>
#include <stop_token>
#include <utility>

#include <weft/go.hpp>

#include "etcd/calls.hpp"
#include "etcd/connection.hpp"

namespace weft::etcd::detail {

using stream_t = grpc::ClientReaderWriter<pb::WatchRequest, pb::WatchResponse>;

struct watch_stream {
  std::string where;  // the endpoint's name
  // ctx first: the stream is destroyed before it.
  std::unique_ptr<grpc::ClientContext> ctx;
  std::unique_ptr<stream_t> stream;
};

void watch_stream_deleter::operator()(watch_stream* s) const noexcept { delete s; }

namespace {

// The guard of one setup attempt: cancels ctx at the deadline unless the
// setup has settled first.
struct guard {
  enum : int { waiting, settled, fired };
  std::atomic<int> phase{waiting};
  grpc::ClientContext* ctx = nullptr;
  std::stop_source stop;
  weft::chan<bool> done;  // closed when the guard's goroutine ends
};

std::string canceled_reason(const pb::WatchResponse& r) {
  return r.cancel_reason().empty() ? "no reason given" : r.cancel_reason();
}

// One attempt on endpoint k: the stream and etcd's answer to the create
// request, or the status of the failure.
grpc::Status open_on(connection& c, std::size_t k, const pb::WatchRequest& req, clock::time_point deadline,
                     watch_stream& s, pb::WatchResponse& created) {
  endpoint& e = c.at(k);
  s.where = e.name;
  s.ctx = std::make_unique<grpc::ClientContext>();
  auto g = std::make_shared<guard>();
  g->ctx = s.ctx.get();
  weft::go_options named;
  named.name = "etcd watch setup deadline";
  weft::go(named, [g, deadline] {
    if (weft::this_goroutine::sleep_until(deadline, g->stop.get_token())) {
      int w = guard::waiting;
      if (g->phase.compare_exchange_strong(w, guard::fired)) weft::blocking([g] { g->ctx->TryCancel(); });
    }
    g->done.close();
  });
  s.stream = weft::blocking([&] { return e.watch->Watch(s.ctx.get()); });
  const bool answered = weft::blocking([&] { return s.stream->Write(req) && s.stream->Read(&created); });
  int w = guard::waiting;
  const bool in_time = g->phase.compare_exchange_strong(w, guard::settled);
  g->stop.request_stop();
  g->done.recv();  // joined: ctx may go now
  if (answered && in_time) return grpc::Status::OK;
  grpc::Status status = weft::blocking([&] {
    s.ctx->TryCancel();
    return s.stream->Finish();
  });
  if (!in_time) return grpc::Status(grpc::StatusCode::DEADLINE_EXCEEDED, "no answer to the watch request");
  if (status.ok()) return grpc::Status(grpc::StatusCode::INTERNAL, "watch stream ended unanswered");
  return status;
}

event event_from_pb(const ::mvccpb::Event& p) {
  event e;
  e.type = p.type() == ::mvccpb::Event::DELETE ? event::kind::erase : event::kind::put;
  e.kv = from_pb(p.kv());
  return e;
}

}  // namespace

watch_opened open_watch(connection& c, const std::string& prefix, std::int64_t from_revision,
                        clock::time_point deadline) {
  pb::WatchRequest req;
  pb::WatchCreateRequest* create = req.mutable_create_request();
  create->set_key(prefix.empty() ? std::string(1, '\0') : prefix);
  create->set_range_end(prefix_end(prefix));
  create->set_start_revision(from_revision);
  const std::string what = "watch " + quoted(prefix);
  std::string why;
  const std::size_t n = c.size();
  const std::size_t first = c.preferred();
  for (std::size_t i = 0; i < n; ++i) {
    const std::size_t k = (first + i) % n;
    if (!c.connect(k, deadline, why)) continue;
    watch_stream_ptr s(new watch_stream);
    pb::WatchResponse created;
    grpc::Status status = open_on(c, k, req, deadline, *s, created);
    if (status.ok() && created.canceled()) {
      std::string reason = canceled_reason(created);
      weft::blocking([&] {
        s->ctx->TryCancel();
        return s->stream->Finish();
      });
      throw remote_error(remote_errc::refused, "etcd: " + what + " at " + s->where + ": etcd refused it: " + reason);
    }
    if (status.ok()) {
      c.answered(k);
      return watch_opened{std::move(s), created.header().revision()};
    }
    if (status.error_code() != grpc::StatusCode::UNAVAILABLE) throw c.status_error(what, k, status);
    why += (why.empty() ? "" : "; ") + c.at(k).name + ": " + status.error_message();
  }
  throw c.unreachable(what, why);
}

bool watch_read(watch_stream& s, watch_batch& out) {
  pb::WatchResponse resp;
  if (!weft::blocking([&] { return s.stream->Read(&resp); })) return false;
  out.events.clear();
  out.events.reserve(static_cast<std::size_t>(resp.events_size()));
  for (const ::mvccpb::Event& e : resp.events()) out.events.push_back(event_from_pb(e));
  out.compact_revision = resp.compact_revision();
  out.canceled = resp.canceled();
  out.cancel_reason = out.canceled ? canceled_reason(resp) : std::string();
  return true;
}

void watch_cancel(watch_stream& s) {
  weft::blocking([&] { s.ctx->TryCancel(); });
}

std::string watch_finish(watch_stream& s) {
  grpc::Status st = weft::blocking([&] { return s.stream->Finish(); });
  return st.ok() ? "the stream ended" : st.error_message();
}

const std::string& watch_where(const watch_stream& s) { return s.where; }

}  // namespace weft::etcd::detail
