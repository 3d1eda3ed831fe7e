// src/etcd/client.hpp: an etcd v3 client for goroutines (design in
// client.cpp; docs/etcd.md). No gRPC type appears here: weftd's code and the
// tests include this header without gRPC's, and link weft_etcd.
//
//   weft::etcd::client c({"http://127.0.0.1:2379"});
//   weft::etcd::lease l = c.grant(5s);
//   weft::etcd::lease_keeper keep(c, l);        // refreshes at TTL/3
//   c.put("/weft/hosts/a", "...", l.id);        // gone when the lease is
//   weft::etcd::snapshot s = c.get_prefix("/weft/hosts/");
//   weft::etcd::watcher w = c.watch("/weft/hosts/", s.revision + 1);
//   for (weft::etcd::event e : w.events()) ...  // ends when the watch does
//
// Every call waits inside weft::blocking: the calling goroutine's thread
// waits in gRPC and its P is handed off, so other goroutines run on; and
// every call has a deadline (options::timeout). A failure of the system
// throws weft::remote_error: unreachable (no endpoint could be reached),
// timeout (no answer in time), refused (etcd said no), unknown_outcome (a
// conditional write whose answer was lost). Keys and values are bytes
// (std::string).
#pragma once

#include <chrono>
#include <cstdint>
#include <exception>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <weft/chan.hpp>

namespace weft::etcd {

namespace detail {
class connection;
struct keeper_state;
struct watch_state;
}  // namespace detail

struct options {
  // Every call's deadline, failing over between endpoints included.
  std::chrono::milliseconds timeout{5000};
  // How long one endpoint may take to accept a connection before the next
  // one is tried (bounded by what is left of timeout).
  std::chrono::milliseconds connect_timeout{1000};
};

// A lease's id; 0 is "no lease".
using lease_id = std::int64_t;

struct lease {
  lease_id id = 0;
  std::chrono::seconds ttl{0};  // as etcd granted it (it may raise a short one)
};

// One key as etcd keeps it (mvccpb.KeyValue).
struct key_value {
  std::string key;
  std::string value;
  std::int64_t create_revision = 0;  // the revision that created it
  std::int64_t mod_revision = 0;  // the revision that last changed it
  std::int64_t version = 0;  // changes since its creation (1: just created)
  lease_id lease = 0;  // the lease it is bound to, or 0
};

// A prefix as it was at one revision: the keys in key order.
struct snapshot {
  std::vector<key_value> kvs;
  std::int64_t revision = 0;  // the store's revision when it was read: watch from revision + 1
};

struct event {
  enum class kind { put, erase };
  kind type = kind::put;
  // put: the key as written. erase (deleted, or its lease ended): the key,
  // and mod_revision is the revision of the deletion.
  key_value kv;
};

class watcher;

// A connection to an etcd cluster through one or more of its members.
// Thread-safe: any number of goroutines may call it at once. Movable, not
// copyable. Every call may throw weft::remote_error; misuse (an empty key,
// a bad endpoint) throws std::invalid_argument. A call whose answer was
// lost is sent again to the next endpoint (all but put_if_absent): it then
// reports what the second attempt found (erase: false, if the first
// attempt had erased the key).
class client {
 public:
  // endpoints: "http://host:port", "host:port" or "unix:/path"; at least
  // one. Connects lazily: constructing never blocks and never fails on an
  // etcd that is down. https:// is refused (TLS is not done yet).
  explicit client(std::vector<std::string> endpoints, options opts = {});
  ~client();
  client(client&&) noexcept;
  client& operator=(client&&) noexcept;
  client(const client&) = delete;
  client& operator=(const client&) = delete;

  // The endpoints as given.
  std::vector<std::string> endpoints() const;

  // Writes key = value, bound to lease if not 0; returns the revision of
  // the write. A lease etcd does not have: remote_error{refused}.
  std::int64_t put(std::string_view key, std::string_view value, lease_id lease = 0);
  // Writes key = value only if key does not exist; true if this call
  // created it. Not retried on another endpoint once sent: a lost answer
  // is remote_error{unknown_outcome} (the key may or may not be ours).
  bool put_if_absent(std::string_view key, std::string_view value, lease_id lease = 0);
  // The key, or nullopt.
  std::optional<key_value> get(std::string_view key);
  // Every key that starts with prefix ("" is every key), and the revision
  // they were read at.
  snapshot get_prefix(std::string_view prefix);
  // Deletes key; true if it existed.
  bool erase(std::string_view key);
  // Deletes every key that starts with prefix; returns how many. An empty
  // prefix (the whole store) is refused: std::invalid_argument.
  std::int64_t erase_prefix(std::string_view prefix);

  // A new lease of (at least) ttl; its keys vanish when it expires or is
  // revoked. etcd raises a TTL below its minimum (about 2 s by default).
  lease grant(std::chrono::seconds ttl);
  // Ends the lease at once, deleting its keys. True if this call revoked
  // it; false if etcd had no such lease (expired, or revoked before: by an
  // earlier attempt of this call too, if its answer was lost).
  bool revoke(lease_id id);
  // What is left of the lease's TTL, or nullopt if etcd has no such lease.
  std::optional<std::chrono::seconds> time_to_live(lease_id id);

  // Watches every key that starts with prefix, from from_revision on (0:
  // from now). Returns once etcd has confirmed the watch, so nothing
  // written after the call returns is missed. A revision etcd has
  // compacted away: remote_error{refused}. REQUIRES: inside weft::run (a
  // goroutine delivers the events).
  watcher watch(std::string prefix, std::int64_t from_revision = 0);

 private:
  friend class lease_keeper;
  std::shared_ptr<detail::connection> conn_;
};

// Keeps a lease alive: a goroutine refreshes it every TTL/3 until stop()
// or the destructor, or until the lease is lost. While etcd cannot be
// reached it retries every half second or so, and goes on once etcd is
// back. It holds no thread between refreshes.
// REQUIRES: inside weft::run. Movable, not copyable.
class lease_keeper {
 public:
  lease_keeper(const client& c, lease l);
  // stop(), then parks until the goroutine has ended.
  ~lease_keeper();
  lease_keeper(lease_keeper&&) noexcept;
  lease_keeper& operator=(lease_keeper&&) noexcept;
  lease_keeper(const lease_keeper&) = delete;
  lease_keeper& operator=(const lease_keeper&) = delete;

  lease_id id() const;
  // Closed when the keeper has ended: stop() was called, or the lease was
  // lost. For weft::select beside other cases.
  weft::chan<bool> done() const;
  // True once etcd has said the lease no longer exists: it expired (this
  // process could not reach etcd for longer than its TTL) or was revoked.
  // Its keys are gone: grant a new lease and put them again.
  bool lost() const;
  // Until when the lease is known to live: when the last refresh etcd
  // confirmed was sent, plus the TTL it confirmed. Past that time while
  // etcd is unreachable the keys may be gone (or may come back: an etcd
  // that restarts renews every lease).
  std::chrono::steady_clock::time_point confirmed_until() const;
  // Why the last refresh failed ("" if it did not), for logs.
  std::string last_error() const;
  // Ends the keeper (the lease is left to expire; revoke it to end it at
  // once). Idempotent; done() closes soon after.
  void stop();

 private:
  std::shared_ptr<detail::keeper_state> st_;
};

// A running watch: its events, in revision order, on a channel. Ends with
// stop() or the destructor, or when the watch breaks: events() is then
// closed and error() says why. Resume with client.watch(prefix,
// next_revision()). Movable, not copyable.
class watcher {
 public:
  // stop(), then parks until the delivering goroutine has ended.
  ~watcher();
  watcher(watcher&&) noexcept;
  watcher& operator=(watcher&&) noexcept;
  watcher(const watcher&) = delete;
  watcher& operator=(const watcher&) = delete;

  // The events; closed when the watch ends.
  weft::chan<event> events() const;
  // Where a new watch resumes without loss or repeat: one past the last
  // revision whose events have all been received from events() (exact
  // once events() is closed; while the watch runs it may lag the last
  // event received by one revision).
  std::int64_t next_revision() const;
  // Once events() is closed: null if stop() ended the watch; otherwise a
  // remote_error: lost (the stream broke: etcd went away or restarted),
  // refused (etcd cancelled the watch: its revision was compacted).
  std::exception_ptr error() const;
  // Ends the watch. Idempotent; events() closes soon after.
  void stop();

 private:
  friend class client;
  explicit watcher(std::shared_ptr<detail::watch_state> st);
  std::shared_ptr<detail::watch_state> st_;
};

}  // namespace weft::etcd
