// src/circuit/exports.hpp: the objects this process exports, and the
// distributed reference counting that decides how long they live.
//
// Concepts
//   owner     the process an object lives in (ref, perm_ref). Its exports
//             table maps object id -> the object, its type, and who holds it.
//   holder    a process with xrefs to the object. The owner counts, per
//             holder, the references that holder has registered (each
//             xref_handle in the holder is one). The owner's own handles
//             count as the holder "" (this process), which has no lease.
//   pin       an xref in transit: encoding an xref (weft::codec) makes a
//             fresh token and pins the object under it at the owner for
//             the receiver, whoever that turns out to be.
//   lease     a holder's references are valid while it is alive: while its
//             connection to the owner is up and the owner hears from it
//             (any frame; both sides ping after silence), and for the
//             lease TTL after it was last heard from. Then they expire.
//
// Messages (docs/protocol.md, "Cross-references"; all one-way, on the
// holder's connection to the owner, which keeps their order):
//   XPin{object, token}      the sender S of an xref pins it for transit.
//   XAcquire{object, token}  the receiver R now holds one reference; the
//                            pin of that token goes.
//   XRelease{object, n}      the holder dropped n references.
//   (XDial's reply carries an xref encoded, pinned, for the dialer.)
//
// The handoff race, solved: S sends an xref to R and drops its own at
// once. S's XPin was sent before S's XRelease on S's one connection to
// the owner O, so O counts the pin before it sees S let go: the object
// lives until R's XAcquire consumes the pin. R's XAcquire may reach O
// before S's XPin (they travel on different connections); then the token
// is recorded as consumed and the late XPin finds it and adds nothing.
// Either way the pair {pin, acquire} adds exactly R's one reference. When
// S is the owner, or R is, the same steps happen in the table directly.
//
// Invariants
//   I1 No object is freed while a live holder holds it: an object goes only
//      when it is not perm, has no pin, and every holder's count is 0 or
//      expired; a live holder's count does not expire (its connection is up
//      and heard from), and a reference in transit is pinned.
//   I2 None is leaked once all holders are gone or dead: a holder's last
//      XRelease zeroes its count; a dead holder's counts expire lease TTL
//      after it was last heard from; a pin expires transit TTL after it was
//      made, whether or not anyone decoded its bytes.
//   I3 Counts never go negative: a release beyond a holder's count is
//      ignored (a bug or a lie from the peer, not a reason to free early).
// Limits, stated: an xref whose bytes wait longer than the transit TTL
// (default 60 s) before anyone decodes them may find its object gone (calls
// then fail with remote_error{refused}: no such object); a sender that dies
// before its XPin left its outbox leaves the receiver only the lease TTL to
// register.
//
// Ids are never reused within a process (a counter across runs), so a
// stale xref from an earlier weft::run never reaches a new object. At the
// end of a run the table is emptied (perm objects too) and the objects
// destroyed.
//
// Threads: every operation is short, under one spinlock, and never parks
// (the connections' readers call them); objects are destroyed after the
// lock is released, since their destructors are the user's code.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>

#include "platform/spinlock.hpp"

namespace weft::circuit::detail {

// The lease and transit times (WEFT_XREF_LEASE_MS, default 5000;
// WEFT_XREF_TRANSIT_MS, default 60000), read at each run's start.
struct xref_times {
  std::chrono::milliseconds lease{5000};
  std::chrono::milliseconds transit{60000};
};
xref_times times_from_env();

class exports {
 public:
  using clock = std::chrono::steady_clock;
  static constexpr const char* self = "";  // the owner's own handles

  // Exports obj (or finds raw's live export) with one reference for this
  // process; returns its id. perm: never freed before the run ends.
  std::uint64_t add(std::shared_ptr<void> obj, const void* raw, const std::string& type, bool perm);
  struct found {
    std::shared_ptr<void> obj;
    std::string type;
  };
  std::optional<found> find(std::uint64_t id);
  // Whether id is exported (its type, if so).
  std::optional<std::string> type_of(std::uint64_t id);

  // The protocol's steps (see above). holder: a peer address, or self.
  void pin(std::uint64_t id, const std::string& token);
  // False if the object is gone (the reference is not taken).
  bool acquire(std::uint64_t id, const std::string& holder, const std::string& token);
  void release(std::uint64_t id, const std::string& holder, std::uint32_t n);
  // holder's connection is gone: its references expire at `expires`
  // unless it is heard from again (renew).
  void holder_lost(const std::string& holder, clock::time_point expires);
  void renew(const std::string& holder);
  // holder came back as a new incarnation (a new weft::run of that
  // process: its old links are dead, so are its old references): its
  // counts go now.
  void drop_holder(const std::string& holder);
  // Drops expired leases and pins. live(holder): whether a connection to
  // holder is up (then its lease is renewed instead).
  void sweep(clock::time_point now, const std::function<bool(const std::string&)>& live);

  // Objects exported now (tests).
  std::size_t size();
  // The end of a run: forgets (and destroys) everything.
  void clear();
  void set_transit(std::chrono::milliseconds t);

 private:
  struct entry {
    std::shared_ptr<void> obj;
    const void* raw = nullptr;
    std::string type;
    bool perm = false;
    std::uint32_t pins = 0;
    std::map<std::string, std::uint64_t> holders;  // holder -> references
  };
  struct token_state {
    std::uint64_t id;
    clock::time_point expires;
    bool pinned;  // false: acquired before its pin arrived
  };
  // Erases id if nothing keeps it; its object goes to *dead.
  void collect(std::uint64_t id, std::shared_ptr<void>* dead) REQUIRES(lock_);

  weft::detail::spinlock lock_;
  std::unordered_map<std::uint64_t, entry> objects_ GUARDED_BY(lock_);
  std::unordered_map<const void*, std::uint64_t> by_raw_ GUARDED_BY(lock_);
  std::unordered_map<std::string, token_state> tokens_ GUARDED_BY(lock_);
  std::unordered_map<std::string, clock::time_point> leases_ GUARDED_BY(lock_);  // lost holders' expiry
  std::chrono::milliseconds transit_ GUARDED_BY(lock_){60000};
};

// This process's table.
exports& exported();

}  // namespace weft::circuit::detail
