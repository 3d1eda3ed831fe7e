// src/remote/remote_os.cpp: files, environment and host name from the
// runtime server (design in remote_os.hpp).
#include "remote/remote_os.hpp"

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <stdexcept>

#include <weft/mutex.hpp>

#include "platform/lock_scope.hpp"

namespace weft::remote::detail {

namespace {

using weft::detail::os_fail;

class remote_file final : public weft::detail::file_backend {
 public:
  remote_file(stub& s, std::uint64_t handle, std::string path) : stub_(s), handle_(handle), path_(std::move(path)) {}

  std::size_t read(std::span<std::byte> buf) override {
    weft::detail::lock_scope lk(io_mu_);
    return read_some("read", v1::FileOp::READ, buf, 0);
  }

  void write(std::span<const std::byte> buf) override {
    weft::detail::lock_scope lk(io_mu_);
    for (std::size_t done = 0; done < buf.size();) {
      std::size_t n = std::min(buf.size() - done, remote_os::chunk);
      call("write", v1::FileOp::WRITE, 0, 0, buf.subspan(done, n));
      done += n;
    }
  }

  std::size_t read_at(std::span<std::byte> buf, std::int64_t offset) override {
    if (offset < 0) os_fail("read_at", path_, EINVAL);
    std::size_t got = 0;
    while (got < buf.size()) {
      std::size_t n =
          read_some("read_at", v1::FileOp::READ_AT, buf.subspan(got), offset + static_cast<std::int64_t>(got));
      if (n == 0) break;  // end of file
      got += n;
    }
    return got;
  }

  void write_at(std::span<const std::byte> buf, std::int64_t offset) override {
    if (offset < 0) os_fail("write_at", path_, EINVAL);
    for (std::size_t done = 0; done < buf.size();) {
      std::size_t n = std::min(buf.size() - done, remote_os::chunk);
      call("write_at", v1::FileOp::WRITE_AT, offset + static_cast<std::int64_t>(done), 0, buf.subspan(done, n));
      done += n;
    }
  }

  std::int64_t size() override { return call("size", v1::FileOp::SIZE).value(); }

  void sync() override { call("sync", v1::FileOp::SYNC); }

  void close() override {
    if (closed_.exchange(true)) return;
    call("close", v1::FileOp::CLOSE, 0, 0, {}, /*after_close=*/true);
  }

  std::string name() const override { return path_; }

  void destroy() noexcept override {
    try {
      close();
    } catch (...) {}  // the server may be gone; it closes a lost client's files itself
    delete this;
  }

 private:
  std::size_t read_some(const char* op, v1::FileOp::Op kind, std::span<std::byte> buf, std::int64_t offset) {
    std::size_t want = std::min(buf.size(), remote_os::chunk);
    v1::FileResult r = call(op, kind, offset, want);
    std::size_t n = std::min(r.data().size(), want);  // a server that sent more is not believed
    std::memcpy(buf.data(), r.data().data(), n);
    return n;
  }

  v1::FileResult call(const char* op, v1::FileOp::Op kind, std::int64_t offset = 0, std::uint64_t length = 0,
                      std::span<const std::byte> data = {}, bool after_close = false) {
    if (closed_.load() && !after_close) os_fail(op, path_, EBADF);
    v1::Frame req;
    v1::FileOp* m = req.mutable_file_op();
    m->set_handle(handle_);
    m->set_op(kind);
    m->set_offset(offset);
    m->set_length(length);
    if (!data.empty()) m->set_data(reinterpret_cast<const char*>(data.data()), data.size());
    v1::Frame reply = stub_.call(std::move(req));
    if (reply.has_error()) throw_error(reply.error(), std::string("weft::os::") + op + " " + path_);
    if (!reply.has_file_result())
      throw remote_error(remote_errc::protocol, "runtime server " + stub_.address() + " answered FileOp with " +
                                                    "something other than FileResult");
    if (int err = reply.file_result().errno_value()) os_fail(op, path_, err);
    return std::move(*reply.mutable_file_result());
  }

  stub& stub_;
  const std::uint64_t handle_;
  const std::string path_;
  std::atomic<bool> closed_{false};
  weft::mutex io_mu_;  // read and write: the file offset is the server's, one at a time
};

}  // namespace

weft::detail::file_backend* remote_os::open(const std::string& path, int flags, unsigned perm) {
  v1::Frame req;
  v1::FileOpen* m = req.mutable_file_open();
  m->set_path(path);
  m->set_flags(flags);
  m->set_perm(perm);
  v1::Frame reply = stub_.call(std::move(req));
  if (reply.has_error()) throw_error(reply.error(), "weft::os::open " + path);
  if (reply.has_file_result())
    os_fail("open", path, reply.file_result().errno_value() ? reply.file_result().errno_value() : EIO);
  if (!reply.has_file_opened())
    throw remote_error(remote_errc::protocol,
                       "runtime server " + stub_.address() + " answered FileOpen with something other than FileOpened");
  return new remote_file(stub_, reply.file_opened().handle(), path);
}

namespace {

v1::OsAnswer query(stub& s, v1::OsQuery::What what, const std::string& name) {
  v1::Frame req;
  req.mutable_os_query()->set_what(what);
  req.mutable_os_query()->set_name(name);
  v1::Frame reply = s.call(std::move(req));
  if (reply.has_error()) throw_error(reply.error(), "weft::os: runtime server " + s.address());
  if (!reply.has_os_answer())
    throw remote_error(remote_errc::protocol,
                       "runtime server " + s.address() + " answered OsQuery with something other than OsAnswer");
  return reply.os_answer();
}

}  // namespace

std::optional<std::string> remote_os::getenv(const std::string& name) {
  v1::OsAnswer a = query(stub_, v1::OsQuery::GETENV, name);
  if (!a.found()) return std::nullopt;
  return a.value();
}

std::string remote_os::hostname() {
  v1::OsAnswer a = query(stub_, v1::OsQuery::HOSTNAME, "");
  if (!a.found()) os_fail("hostname", "", EIO);
  return a.value();
}

bool os_from_server() {
  const char* v = std::getenv("WEFT_OS");
  if (v == nullptr || *v == '\0' || std::strcmp(v, "local") == 0) return false;
  if (std::strcmp(v, "server") == 0) return true;
  throw std::invalid_argument(std::string("WEFT_OS=") + v + ": write WEFT_OS=server (the runtime server's files, " +
                              "environment and host name) or WEFT_OS=local (this process's, the default)");
}

}  // namespace weft::remote::detail
