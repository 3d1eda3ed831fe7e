// src/server/os_host.cpp: files, environment and host name for a client
// (design in os_host.hpp).
#include "server/os_host.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <utility>

#include <weft/blocking.hpp>
#include <weft/go.hpp>

#include "platform/file.hpp"
#include "platform/lock_scope.hpp"

namespace weft::server {

namespace os = weft::detail::os;

struct os_host::entry {
  explicit entry(int f) : fd(f) {}
  ~entry() {
    int f = fd;
    weft::blocking([f] { return os::file_close(f); });
  }
  entry(const entry&) = delete;
  entry& operator=(const entry&) = delete;
  const int fd;
  weft::mutex offset_mu;  // READ and WRITE move the file offset: one at a time
};

namespace {

wire::frame result(std::uint64_t id, int err) {
  wire::frame f;
  f.set_id(id);
  f.mutable_file_result()->set_errno_value(err);
  return f;
}

// Reads up to len bytes (pread when at >= 0); a short count only at the end.
int read_into(int fd, std::string& out, std::uint64_t len, std::int64_t at) {
  out.resize(len);
  std::size_t got = 0;
  while (got < len) {
    long n = weft::blocking([&] {
      return at < 0 ? os::file_read(fd, out.data() + got, len - got)
                    : os::file_pread(fd, out.data() + got, len - got, at + static_cast<std::int64_t>(got));
    });
    if (n == -EINTR) continue;
    if (n < 0) return static_cast<int>(-n);
    if (n == 0) break;
    got += static_cast<std::size_t>(n);
    if (at < 0) break;  // read(2)'s meaning: what is there now
  }
  out.resize(got);
  return 0;
}

int write_all(int fd, const std::string& data, std::int64_t at) {
  std::size_t done = 0;
  while (done < data.size()) {
    long n = weft::blocking([&] {
      return at < 0 ? os::file_write(fd, data.data() + done, data.size() - done)
                    : os::file_pwrite(fd, data.data() + done, data.size() - done, at + static_cast<std::int64_t>(done));
    });
    if (n == -EINTR) continue;
    if (n < 0) return static_cast<int>(-n);
    if (n == 0) return EIO;
    done += static_cast<std::size_t>(n);
  }
  return 0;
}

}  // namespace

template <class F>
void os_host::start(client& c, std::uint64_t id, F f) {
  {
    detail::lock_scope lk(mu_);
    if (calls_ >= limits_.max_calls) {
      c.post(error_frame(id, v1::Error::REFUSED,
                         "more than " + std::to_string(limits_.max_calls) + " OS calls in flight from one client"));
      return;
    }
    ++calls_;
  }
  in_flight_.add(1);
  weft::go(weft::go_options{.stack_size = 0, .name = "weftd os call"}, [this, &c, id, f = std::move(f)]() mutable {
    wire::frame reply;
    try {
      reply = f();
    } catch (const std::exception& e) {
      reply = error_frame(id, v1::Error::INTERNAL, std::string("weftd: ") + e.what());
    }
    reply.set_id(id);
    c.post(reply);
    {
      detail::lock_scope lk(mu_);
      --calls_;
    }
    in_flight_.done();
  });
}

std::shared_ptr<os_host::entry> os_host::find(std::uint64_t handle, bool remove) {
  detail::lock_scope lk(mu_);
  auto it = files_.find(handle);
  if (it == files_.end()) return nullptr;
  std::shared_ptr<entry> e = it->second;
  if (remove) files_.erase(it);
  return e;
}

void os_host::open(client& c, std::uint64_t id, const v1::FileOpen& m) {
  start(c, id, [this, path = m.path(), flags = m.flags(), perm = m.perm()]() -> wire::frame {
    if (path.empty() || path.find('\0') != std::string::npos) return result(0, EINVAL);
    {
      detail::lock_scope lk(mu_);
      if (files_.size() >= limits_.max_open) return result(0, EMFILE);
    }
    // O_NONBLOCK: opening a FIFO must not wait for its other end; it is
    // refused just below anyway, and means nothing to a regular file.
    int fd = weft::blocking([&] { return os::file_open(path.c_str(), flags | O_NONBLOCK, perm & 07777); });
    if (fd < 0) return result(0, -fd);
    auto e = std::make_shared<entry>(fd);
    int regular = os::file_is_regular(fd);
    if (regular <= 0) return result(0, regular < 0 ? -regular : EINVAL);
    if (!(flags & O_NONBLOCK)) ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) & ~O_NONBLOCK);
    wire::frame f;
    detail::lock_scope lk(mu_);
    std::uint64_t h = next_handle_++;
    files_.emplace(h, std::move(e));
    f.mutable_file_opened()->set_handle(h);
    return f;
  });
}

void os_host::op(client& c, std::uint64_t id, const v1::FileOp& m) {
  const bool closing = m.op() == v1::FileOp::CLOSE;
  std::shared_ptr<entry> e = find(m.handle(), closing);
  if (!e) {
    c.post(result(id, EBADF));
    return;
  }
  if (closing) {  // the descriptor closes when the last call holding it ends
    c.post(result(id, 0));
    return;
  }
  start(c, id, [this, e, m]() -> wire::frame {
    wire::frame f = result(0, 0);
    v1::FileResult* r = f.mutable_file_result();
    switch (m.op()) {
      case v1::FileOp::READ:
      case v1::FileOp::READ_AT: {
        const bool at = m.op() == v1::FileOp::READ_AT;
        if (at && m.offset() < 0) return result(0, EINVAL);
        std::uint64_t len = std::min<std::uint64_t>(m.length(), limits_.max_read);
        std::string data;
        int err;
        if (at) {
          err = read_into(e->fd, data, len, m.offset());
        } else {
          detail::lock_scope lk(e->offset_mu);
          err = read_into(e->fd, data, len, -1);
        }
        if (err) return result(0, err);
        r->set_data(std::move(data));
        return f;
      }
      case v1::FileOp::WRITE: {
        detail::lock_scope lk(e->offset_mu);
        r->set_errno_value(write_all(e->fd, m.data(), -1));
        return f;
      }
      case v1::FileOp::WRITE_AT:
        r->set_errno_value(m.offset() < 0 ? EINVAL : write_all(e->fd, m.data(), m.offset()));
        return f;
      case v1::FileOp::SIZE: {
        std::int64_t n = weft::blocking([&] { return os::file_size(e->fd); });
        if (n < 0) return result(0, static_cast<int>(-n));
        r->set_value(n);
        return f;
      }
      case v1::FileOp::SYNC: r->set_errno_value(-weft::blocking([&] { return os::file_sync(e->fd); })); return f;
      default: return result(0, EINVAL);  // an operation of a later minor version
    }
  });
}

void os_host::query(client& c, std::uint64_t id, const v1::OsQuery& m) {
  wire::frame f;
  f.set_id(id);
  v1::OsAnswer* a = f.mutable_os_answer();
  switch (m.what()) {
    case v1::OsQuery::GETENV:
      if (const char* v = std::getenv(m.name().c_str())) {
        a->set_found(true);
        a->set_value(v);
      }
      break;
    case v1::OsQuery::HOSTNAME: {
      char buf[256] = {};
      if (::gethostname(buf, sizeof buf - 1) == 0) {
        a->set_found(true);
        a->set_value(buf);
      }
      break;
    }
    default: break;  // a query of a later minor version: not found
  }
  c.post(f);
}

void os_host::end() {
  in_flight_.wait();
  std::unordered_map<std::uint64_t, std::shared_ptr<entry>> files;
  {
    detail::lock_scope lk(mu_);
    files.swap(files_);
  }
}

}  // namespace weft::server
