// src/remote/remote_os.hpp: weft::os served by the runtime server
// (WEFT_OS=server; the interface is src/os/service.hpp, the messages
// FileOpen, FileOp, OsQuery in docs/protocol.md, "OS resources").
//
// Each call is one request (stub::call parks the goroutine until the
// reply); a failed call throws std::system_error with the server's errno,
// as the same call here would. Sizes: a write goes in pieces of at most
// chunk bytes, and read/write take turns on the client (io_mu) so that a
// write's pieces stay together and reads see consecutive parts, as
// local files promise; read_at and write_at need no turn.
#pragma once

#include <cstdint>
#include <string>

#include "os/service.hpp"
#include "remote/stub.hpp"

namespace weft::remote::detail {

class remote_os final : public weft::detail::os_service {
 public:
  static constexpr std::size_t chunk = 1u << 20;

  explicit remote_os(stub& s) : stub_(s) {}
  weft::detail::file_backend* open(const std::string& path, int flags, unsigned perm) override;
  std::optional<std::string> getenv(const std::string& name) override;
  std::string hostname() override;

 private:
  stub& stub_;
};

// WEFT_OS: "" or "local" (this process's resources), "server" (the runtime
// server's). Throws std::invalid_argument naming the values it accepts.
bool os_from_server();

}  // namespace weft::remote::detail
