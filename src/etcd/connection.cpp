// src/etcd/connection.cpp: endpoints, gRPC channels, and what a failed
// call throws (design in client.cpp).
#include "etcd/connection.hpp"

#include <algorithm>
#include <climits>
#include <cstdio>
#include <stdexcept>
#include <utility>

namespace weft::etcd::detail {

namespace {

// "http://host:port/" -> "host:port"; "unix:/path" and "unix:///path" as
// gRPC spells them. Throws std::invalid_argument for what gRPC or this
// client cannot use.
std::string grpc_target(const std::string& endpoint) {
  std::string t = endpoint;
  if (t.rfind("unix://", 0) == 0) return "unix:" + t.substr(7);
  if (t.rfind("unix:", 0) == 0) return t;
  if (t.rfind("https://", 0) == 0) {
    throw std::invalid_argument("etcd endpoint " + endpoint + ": TLS is not supported yet; use http://");
  }
  if (t.rfind("http://", 0) == 0) t = t.substr(7);
  while (!t.empty() && t.back() == '/') t.pop_back();
  std::size_t colon = t.rfind(':');
  if (t.empty() || t.find("://") != std::string::npos || t.find('/') != std::string::npos ||
      colon == std::string::npos || colon == 0 || colon + 1 == t.size()) {
    throw std::invalid_argument("etcd endpoint \"" + endpoint +
                                "\": expected http://host:port, host:port or unix:/path");
  }
  return t;
}

// Channel arguments. Reconnect backoff capped at 1 s (gRPC's default grows
// to 120 s, so a client would not see an etcd that came back for minutes);
// the connect attempt itself may take 1 s (gRPC's default minimum is 20 s).
// Keepalive pings every 10 s while a stream is open, 5 s to answer: a watch
// on a host that vanished (no FIN, no RST) breaks within 15 s. etcd refuses
// pings closer than 5 s (--grpc-keepalive-min-time) and pings with no call
// open (so PERMIT_WITHOUT_CALLS stays 0). Responses are not size-limited
// (gRPC's default is 4 MiB; a get_prefix of a large namespace may pass it),
// as etcd's Go client does.
grpc::ChannelArguments channel_args() {
  grpc::ChannelArguments a;
  a.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 100);
  a.SetInt(GRPC_ARG_MIN_RECONNECT_BACKOFF_MS, 1000);
  a.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 1000);
  a.SetInt(GRPC_ARG_KEEPALIVE_TIME_MS, 10000);
  a.SetInt(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, 5000);
  a.SetInt(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 0);
  a.SetInt(GRPC_ARG_HTTP2_MAX_PINGS_WITHOUT_DATA, 0);
  a.SetMaxReceiveMessageSize(-1);
  return a;
}

}  // namespace

connection::connection(std::vector<std::string> endpoints, const options& opts) : opts_(opts) {
  if (endpoints.empty()) throw std::invalid_argument("etcd client: no endpoint given");
  if (opts.timeout <= std::chrono::milliseconds::zero() || opts.connect_timeout <= std::chrono::milliseconds::zero()) {
    throw std::invalid_argument("etcd client: timeout and connect_timeout must be positive");
  }
  const grpc::ChannelArguments args = channel_args();
  for (std::string& name : endpoints) {
    endpoint e;
    e.channel = grpc::CreateCustomChannel(grpc_target(name), grpc::InsecureChannelCredentials(), args);
    e.kv = pb::KV::NewStub(e.channel);
    e.watch = pb::Watch::NewStub(e.channel);
    e.lease = pb::Lease::NewStub(e.channel);
    e.name = std::move(name);
    endpoints_.push_back(std::move(e));
  }
}

const options& options_of(const connection& c) { return c.opts(); }

std::vector<std::string> connection::names() const {
  std::vector<std::string> v;
  for (const endpoint& e : endpoints_) v.push_back(e.name);
  return v;
}

bool connection::connect(std::size_t k, clock::time_point by, std::string& why) {
  endpoint& e = endpoints_[k];
  auto now = clock::now();
  if (by > now + opts_.connect_timeout) by = now + opts_.connect_timeout;
  bool ok = false;
  if (by > now) {
    ok = weft::blocking([&] {
      // GetState(true) starts connecting an idle channel.
      if (e.channel->GetState(true) == GRPC_CHANNEL_READY) return true;
      return e.channel->WaitForConnected(std::chrono::system_clock::now() + (by - clock::now()));
    });
  }
  if (!ok) {
    auto waited = std::chrono::duration_cast<std::chrono::milliseconds>(by - now);
    why += (why.empty() ? "" : "; ") + e.name +
           (waited.count() > 0 ? ": no connection within " + ms(waited) : ": not tried, the deadline had passed");
  }
  return ok;
}

remote_error connection::unreachable(const std::string& what, const std::string& why) const {
  std::string list;
  for (const endpoint& e : endpoints_) list += (list.empty() ? "" : ",") + e.name;
  return remote_error(remote_errc::unreachable, "etcd: " + what + ": no endpoint could be reached (" + why +
                                                    "): is etcd running at " + list +
                                                    "? (weftd --etcd URL[,URL...] names where it is)");
}

remote_error connection::status_error(const std::string& what, std::size_t k, const grpc::Status& st) const {
  const std::string at = "etcd: " + what + " at " + endpoints_[k].name + ": ";
  const std::string msg = st.error_message();
  switch (st.error_code()) {
    case grpc::StatusCode::DEADLINE_EXCEEDED:
      return remote_error(remote_errc::timeout, at + "no answer within " + ms(opts_.timeout) +
                                                    " (etcd overloaded or without a leader? options.timeout)");
    case grpc::StatusCode::UNAVAILABLE: return remote_error(remote_errc::unreachable, at + "unavailable: " + msg);
    case grpc::StatusCode::CANCELLED: return remote_error(remote_errc::lost, at + "cancelled: " + msg);
    case grpc::StatusCode::UNAUTHENTICATED:
    case grpc::StatusCode::PERMISSION_DENIED:
      return remote_error(remote_errc::unauthorized, at + "refused: " + msg + " (etcd auth is not supported yet)");
    case grpc::StatusCode::INTERNAL:
    case grpc::StatusCode::UNIMPLEMENTED:
    case grpc::StatusCode::DATA_LOSS:
    case grpc::StatusCode::UNKNOWN: return remote_error(remote_errc::protocol, at + msg);
    default: return remote_error(remote_errc::refused, at + "refused: " + msg);
  }
}

void set_deadline(grpc::ClientContext& ctx, clock::time_point deadline) {
  ctx.set_deadline(std::chrono::system_clock::now() +
                   std::chrono::duration_cast<std::chrono::system_clock::duration>(deadline - clock::now()));
}

std::string quoted(std::string_view key) {
  std::string q = "\"";
  for (std::size_t i = 0; i < key.size() && i < 80; ++i) {
    unsigned char c = static_cast<unsigned char>(key[i]);
    if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\') {
      q += static_cast<char>(c);
    } else {
      char hex[8];
      std::snprintf(hex, sizeof hex, "\\x%02x", c);
      q += hex;
    }
  }
  if (key.size() > 80) q += "...";
  return q + "\"";
}

std::string prefix_end(std::string_view prefix) {
  std::string end(prefix);
  while (!end.empty()) {
    unsigned char c = static_cast<unsigned char>(end.back());
    if (c < 0xff) {
      end.back() = static_cast<char>(c + 1);
      return end;
    }
    end.pop_back();
  }
  return std::string(1, '\0');
}

std::string ms(std::chrono::milliseconds d) { return std::to_string(d.count()) + " ms"; }

}  // namespace weft::etcd::detail

#if defined(WEFT_TSAN)
// ThreadSanitizer and gRPC. Debian's gRPC and Abseil are not built with
// TSan: their locks and atomics are invisible to it, so the memory they
// hand between their threads (and to ours: a response read by a gRPC
// thread, parsed by a goroutine) looks unsynchronized. The first run of
// tests/etcd under TSan gave 760 reports, every one inside gRPC, Abseil or
// code they called. What is suppressed, and no more:
//   called_from_lib  gRPC's own libraries: the interceptors (memcpy, free,
//                    sendmsg, recvmsg, ...) they call neither report nor
//                    record accesses;
//   race:libabsl_    reports with an Abseil frame (called_from_lib takes one
//                    library per line, and Abseil is 45 of them);
//   race:libgrpc, race:libgpr.so
//                    reports with a gRPC frame: gRPC's calls to std::string
//                    land in this program's instrumented copy of it;
//   race:grpc::internal::CallOp
//                    gRPC's call operations are header code, compiled into
//                    this program, and finish what libgrpc's threads
//                    filled in (a status's message), synchronised inside
//                    libgrpc.
// A race in weft's own code, with no gRPC or Abseil frame on either stack,
// is still reported. Defined here, in a file every user of the client
// links, so that every TSan program with weft_etcd (weftd's tests too)
// has it; a program must not define its own __tsan_default_suppressions.
extern "C" const char* __tsan_default_suppressions() {
  return "called_from_lib:libgrpc++.so\n"
         "called_from_lib:libgrpc.so\n"
         "called_from_lib:libgpr.so\n"
         "called_from_lib:libupb.so\n"
         "called_from_lib:libaddress_sorting.so\n"
         "called_from_lib:libcares.so\n"
         "called_from_lib:libre2.so\n"
         "race:libabsl_\n"
         "race:libgrpc\n"
         "race:libgpr.so\n"
         "race:grpc::internal::CallOp\n";
}
#endif
