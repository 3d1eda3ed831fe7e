// src/etcd/calls.hpp: what the goroutine side of the client (keeper.cpp,
// watch.cpp) asks of the gRPC side (lease.cpp, watch_stream.cpp), without
// gRPC's headers. Two reasons to keep them apart: gRPC's headers bring
// Abseil's GUARDED_BY, which collides with weft's lock annotations
// (src/platform/thread_annotations.hpp), so a file with weft locks cannot
// include them; and they are slow to compile. Design in client.cpp.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "etcd/client.hpp"

namespace weft::etcd::detail {

class connection;
using clock = std::chrono::steady_clock;

const options& options_of(const connection& c);
// key, quoted for messages: printable bytes as they are, others as \xNN,
// cut after 80 bytes.
std::string quoted(std::string_view key);
// The first key after every key that starts with prefix ("\0", every key
// from prefix on, when there is none).
std::string prefix_end(std::string_view prefix);
// A milliseconds count for messages.
std::string ms(std::chrono::milliseconds d);
// "lease 694d8a5e1c0b2f0a": the id in hex, as etcdctl prints it.
std::string lease_name(lease_id id);

// One keep-alive of lease id (lease.cpp): the TTL etcd confirms, in
// seconds; 0 or less if etcd has no such lease. Throws remote_error.
std::int64_t refresh_lease(connection& c, lease_id id, clock::time_point deadline);

// A Watch stream carrying one watch, set up (watch_stream.cpp).
struct watch_stream;
struct watch_stream_deleter {
  void operator()(watch_stream* s) const noexcept;
};
using watch_stream_ptr = std::unique_ptr<watch_stream, watch_stream_deleter>;

struct watch_opened {
  watch_stream_ptr stream;
  std::int64_t revision = 0;  // the store's revision when etcd created the watch
};

// Opens a stream on the preferred endpoint (failing over as every call
// does), asks for a watch of every key with this prefix from
// from_revision (0: now), and returns once etcd has confirmed it, or
// throws remote_error by the deadline.
watch_opened open_watch(connection& c, const std::string& prefix, std::int64_t from_revision,
                        clock::time_point deadline);

// One response of a running watch.
struct watch_batch {
  std::vector<event> events;
  std::int64_t compact_revision = 0;  // not 0: etcd compacted past the watch's revision
  bool canceled = false;  // etcd ended the watch
  std::string cancel_reason;
};

// The next response (inside weft::blocking). False when the stream has
// ended: cancelled, or broken.
bool watch_read(watch_stream& s, watch_batch& out);
// Ends a Read in progress (or the next one) at once. Any goroutine, any time
// before the stream is destroyed.
void watch_cancel(watch_stream& s);
// Finishes an ended (or cancelled) stream: gRPC's status, as a message.
std::string watch_finish(watch_stream& s);
// The endpoint the stream runs to, for messages.
const std::string& watch_where(const watch_stream& s);

}  // namespace weft::etcd::detail
