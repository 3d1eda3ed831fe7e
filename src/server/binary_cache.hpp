// src/server/binary_cache.hpp: the program binaries a weftd keeps for
// workers whose caller runs on another host, named by content.
//
// A weftd asked to start a worker of a binary it lacks gets the bytes from
// the caller's weftd once (docs/cluster.md, "Spawning on another host") and
// keeps them here: DIR/SHA256 (64 hex digits), mode 0700, in a 0700
// directory.
//
// Invariants:
//   I1 A file under its hash's name has that size and that SHA-256. An
//      upload is written to DIR/.incoming/ and renamed into place only
//      after both match; a mismatch or an abandoned upload leaves nothing.
//   I2 After a commit the files' total size is at most max_bytes: the
//      least recently used (found or committed) go first, never the one
//      just committed. Removing a binary a worker runs is harmless: Linux
//      keeps an unlinked file's image while a process maps it.
//   I3 Two uploads of one hash may run at once: the first commit wins, the
//      second finds the file there and drops its own copy.
// What was there before a restart counts, used as of its mtime.
//
// File I/O runs in weft::blocking (the caller's P goes to other goroutines
// meanwhile). One mutex guards the index; hashing and writing happen
// outside it.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include <weft/mutex.hpp>

#include "platform/lock_scope.hpp"
#include "platform/thread_annotations.hpp"

namespace weft::server {

// SHA-256 of a file's bytes, as 64 lowercase hex digits. Throws
// std::system_error when the file cannot be read.
std::string sha256_file(const std::string& path);

// Whether s is 64 lowercase hex digits.
bool is_sha256_hex(std::string_view s) noexcept;

class binary_cache {
 public:
  // Opens (creating it, 0700) the directory and indexes what is in it.
  // Throws std::system_error.
  binary_cache(std::string dir, std::uint64_t max_bytes);
  binary_cache(const binary_cache&) = delete;
  binary_cache& operator=(const binary_cache&) = delete;

  // The path of the binary with this hash, marked used now; nullopt when
  // it is not here.
  std::optional<std::string> find(const std::string& sha256);

  // One binary arriving in pieces. Destroyed without commit, it leaves
  // nothing behind.
  class upload {
   public:
    upload(upload&&) noexcept;
    upload& operator=(upload&&) = delete;
    ~upload();
    // Appends bytes. Throws std::invalid_argument past the announced size,
    // std::system_error when the disk says no (full, read-only).
    void write(std::string_view bytes);
    // Checks size and hash (I1) and puts the file in place; returns its
    // path. Throws std::invalid_argument on a mismatch (nothing is kept).
    std::string commit();

   private:
    friend class binary_cache;
    upload(binary_cache& cache, std::string sha256, std::uint64_t size, std::string temp, int fd);
    binary_cache* cache_;
    std::string sha256_;
    std::uint64_t size_;
    std::uint64_t written_ = 0;
    std::string temp_;
    int fd_;
  };

  // Starts an upload. Throws std::invalid_argument for a malformed hash or
  // a size over max_bytes, std::system_error when no temp file can be made.
  upload begin(const std::string& sha256, std::uint64_t size);

  // The files' total size.
  std::uint64_t bytes() const;
  const std::string& dir() const noexcept { return dir_; }

 private:
  struct entry {
    std::uint64_t size = 0;
    std::uint64_t used = 0;  // a tick of use_clock_: larger is more recent
  };
  // Indexes a committed file and removes the least recently used others
  // until the total fits (I2).
  void admit(const std::string& sha256, std::uint64_t size);

  const std::string dir_;
  const std::uint64_t max_bytes_;
  mutable weft::mutex lock_;
  std::map<std::string, entry> files_ GUARDED_BY(lock_);
  std::uint64_t total_ GUARDED_BY(lock_) = 0;
  std::uint64_t use_clock_ GUARDED_BY(lock_) = 0;
  std::uint64_t next_temp_ GUARDED_BY(lock_) = 0;
};

}  // namespace weft::server
