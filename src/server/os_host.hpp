// src/server/os_host.hpp: the server host's OS resources for one client
// (capability "os"; docs/protocol.md, "OS resources").
//
// A client with WEFT_OS=server opens files here, reads this host's
// environment and name. Each call runs in a goroutine of its own under
// weft::blocking (a slow disk stalls that call only, never the session's
// reader) and posts exactly one reply: FileOpened, FileResult (errno_value
// set on failure: the errno of the call here) or OsAnswer.
//
// Invariants:
//   - Only regular files open (a FIFO or a device could block a thread for
//     good): anything else gets EINVAL.
//   - A descriptor is closed only when no call holds its entry (shared
//     ownership), so no call lands on a reused number; CLOSE removes the
//     handle at once, later calls get EBADF.
//   - Bounded: max_open files and max_calls calls in flight per client
//     (more: EMFILE / Error REFUSED); a read returns at most max_read bytes.
//   - end() waits for the calls in flight and closes every file.
//
// Security: a client acts with weftd's user and working directory, so "os"
// is offered only where attaching proves something: on a Unix socket (its
// directory is the user's own) or with a cluster key; never on TCP without
// one (server.cpp, offered).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>

#include <weft/mutex.hpp>
#include <weft/wait_group.hpp>

#include "platform/thread_annotations.hpp"
#include "server/client.hpp"

namespace weft::server {

class os_host {
 public:
  struct limits {
    std::size_t max_open = 256;
    std::size_t max_calls = 64;
    std::uint64_t max_read = 15u << 20;  // under the 16 MiB frame, with room for the rest
  };
  explicit os_host(limits l) : limits_(l) {}
  os_host(const os_host&) = delete;
  os_host& operator=(const os_host&) = delete;
  ~os_host() { end(); }

  // Each returns at once; the reply is posted to c (which must outlive end()).
  void open(client& c, std::uint64_t id, const v1::FileOpen& m);
  void op(client& c, std::uint64_t id, const v1::FileOp& m);
  void query(client& c, std::uint64_t id, const v1::OsQuery& m);
  // Waits for the calls in flight; closes every file. Idempotent.
  void end();

 private:
  struct entry;
  // Starts f in a goroutine of its own, or refuses (too many in flight).
  template <class F>
  void start(client& c, std::uint64_t id, F f);
  std::shared_ptr<entry> find(std::uint64_t handle, bool remove);

  limits limits_;
  weft::mutex mu_;
  std::unordered_map<std::uint64_t, std::shared_ptr<entry>> files_ GUARDED_BY(mu_);
  std::uint64_t next_handle_ GUARDED_BY(mu_) = 1;
  std::size_t calls_ GUARDED_BY(mu_) = 0;
  weft::wait_group in_flight_;
};

}  // namespace weft::server
