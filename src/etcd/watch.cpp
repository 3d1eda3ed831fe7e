// src/etcd/watch.cpp: watcher, a goroutine that delivers one watch's events
// on a channel (design of the client in client.cpp; the stream itself is in
// watch_stream.cpp).
//
// The reader goroutine reads the stream's responses (each read inside
// weft::blocking: it holds one OS thread while it waits; client.cpp,
// "Threading") and sends each event on the watcher's unbuffered channel.
//
// Revisions: next_revision is one past the last revision whose events have
// all been received from the channel (it is unbuffered: sent is received).
// It moves only after an event that is the last of its revision in the
// response (etcd sends a revision's events in one response), so a watch
// resumed from it repeats nothing and loses nothing. From "now"
// (from_revision 0) it starts one past the revision etcd reported when it
// created the watch.
//
// The end: stop() requests stop (which cuts short a send to a consumer
// that no longer reads) and cancels the stream (which ends a read). The
// reader then finishes the stream, records why it ended (nothing after
// stop(); remote_error{lost} when the stream broke; refused when etcd
// cancelled the watch, as it does for a compacted revision), closes the
// channel and, last, `finished`, which the destructor waits for.
//
// Memory: `error` is written by the reader before it closes the channel,
// and read by anyone, under the state's spinlock; next_revision is an
// atomic (seq_cst: it is read rarely).
#include <atomic>
#include <stop_token>
#include <utility>

#include <weft/go.hpp>

#include "etcd/calls.hpp"
#include "etcd/client.hpp"
#include "platform/spinlock.hpp"
#include "platform/thread_annotations.hpp"

namespace weft::etcd {

namespace detail {

struct watch_state {
  std::shared_ptr<connection> conn;
  std::string prefix;
  watch_stream_ptr stream;  // set before the reader starts; not changed after
  weft::chan<event> events;  // unbuffered
  std::stop_source stop;
  weft::chan<bool> finished;  // closed when the reader has ended
  std::atomic<std::int64_t> next_revision{0};
  weft::detail::spinlock lock;
  std::exception_ptr error GUARDED_BY(lock);
};

namespace {

std::string where(const watch_state& st) {
  return "etcd: watch " + quoted(st.prefix) + " at " + watch_where(*st.stream);
}

// The reader goroutine.
void deliver(const std::shared_ptr<watch_state>& st) {
  const std::stop_token token = st->stop.get_token();
  std::exception_ptr why;
  watch_batch batch;
  bool stopped = false;
  bool ended = false;  // the stream ended by itself: its status says why
  while (!stopped) {
    if (!watch_read(*st->stream, batch)) {
      ended = true;
      break;
    }
    if (batch.compact_revision != 0) {
      why = std::make_exception_ptr(remote_error(
          remote_errc::refused, where(*st) + ": revision " + std::to_string(st->next_revision.load()) +
                                    " was compacted (etcd keeps revisions from " +
                                    std::to_string(batch.compact_revision) +
                                    "): read the prefix again (get_prefix) and watch from its revision + 1"));
      break;
    }
    if (batch.canceled) {
      why = std::make_exception_ptr(
          remote_error(remote_errc::refused, where(*st) + ": etcd cancelled it: " + batch.cancel_reason));
      break;
    }
    for (std::size_t i = 0; i < batch.events.size(); ++i) {
      const std::int64_t rev = batch.events[i].kv.mod_revision;
      if (!st->events.send(std::move(batch.events[i]), token)) {
        stopped = true;
        break;
      }
      if (i + 1 == batch.events.size() || batch.events[i + 1].kv.mod_revision != rev) {
        st->next_revision.store(rev + 1);
      }
    }
  }
  if (!ended) watch_cancel(*st->stream);
  const std::string status = watch_finish(*st->stream);
  if (token.stop_requested()) {
    why = nullptr;
  } else if (!why) {
    why = std::make_exception_ptr(remote_error(
        remote_errc::lost,
        where(*st) + " broke (" + status + "): watch again from revision " + std::to_string(st->next_revision.load())));
  }
  {
    weft::detail::lock_scope lk(st->lock);
    st->error = why;
  }
  st->events.close();
  st->finished.close();
}

}  // namespace

}  // namespace detail

watcher client::watch(std::string prefix, std::int64_t from_revision) {
  auto st = std::make_shared<detail::watch_state>();
  st->conn = conn_;
  st->prefix = std::move(prefix);
  detail::watch_opened opened =
      detail::open_watch(*conn_, st->prefix, from_revision, detail::clock::now() + detail::options_of(*conn_).timeout);
  st->stream = std::move(opened.stream);
  st->next_revision.store(from_revision > 0 ? from_revision : opened.revision + 1);
  weft::go_options named;
  named.name = "etcd watch " + st->prefix;
  weft::go(named, [st] { detail::deliver(st); });
  return watcher(st);
}

watcher::watcher(std::shared_ptr<detail::watch_state> st) : st_(std::move(st)) {}

watcher::~watcher() {
  if (!st_) return;
  stop();
  st_->finished.recv();  // nullopt once closed: the reader has ended
}

watcher::watcher(watcher&&) noexcept = default;

watcher& watcher::operator=(watcher&& o) noexcept {
  if (this != &o) {
    watcher old(std::move(*this));
    st_ = std::move(o.st_);
  }
  return *this;
}

weft::chan<event> watcher::events() const { return st_->events; }
std::int64_t watcher::next_revision() const { return st_->next_revision.load(); }

std::exception_ptr watcher::error() const {
  weft::detail::lock_scope lk(st_->lock);
  return st_->error;
}

void watcher::stop() {
  st_->stop.request_stop();
  detail::watch_cancel(*st_->stream);
}

}  // namespace weft::etcd
