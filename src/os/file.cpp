// src/os/file.cpp: weft::os::file and the environment calls, over the
// service in use (service.hpp): this process's own, or a runtime server's.
#include <weft/os.hpp>

#include <cerrno>
#include <utility>

#include "os/service.hpp"

namespace weft::os {

namespace {

detail::file_backend* open_one(std::string_view path, int flags, unsigned perm) {
  return detail::current_os().open(std::string(path), flags, perm);
}

detail::file_backend& backend(detail::file_backend* f, const char* op) {
  if (f == nullptr) detail::os_fail(op, "", EBADF);  // default-constructed or moved from
  return *f;
}

}  // namespace

file file::open(std::string_view path, int flags, unsigned perm) { return file(open_one(path, flags, perm)); }

file file::create(std::string_view path, unsigned perm) { return open(path, O_RDWR | O_CREAT | O_TRUNC, perm); }

file::file(file&& other) noexcept : f_(std::exchange(other.f_, nullptr)) {}

file& file::operator=(file&& other) noexcept {
  if (this != &other) {
    if (f_) f_->destroy();
    f_ = std::exchange(other.f_, nullptr);
  }
  return *this;
}

file::~file() {
  if (f_) f_->destroy();
}

std::size_t file::read(std::span<std::byte> buf) { return backend(f_, "read").read(buf); }
void file::write(std::span<const std::byte> buf) { backend(f_, "write").write(buf); }
void file::write(std::string_view s) { write(std::as_bytes(std::span<const char>(s.data(), s.size()))); }
std::size_t file::read_at(std::span<std::byte> buf, std::int64_t offset) {
  return backend(f_, "read_at").read_at(buf, offset);
}
void file::write_at(std::span<const std::byte> buf, std::int64_t offset) {
  backend(f_, "write_at").write_at(buf, offset);
}
std::int64_t file::size() { return backend(f_, "size").size(); }
void file::sync() { backend(f_, "sync").sync(); }
void file::close() {
  if (f_) f_->close();
}
std::string file::name() const { return f_ ? f_->name() : std::string(); }

std::optional<std::string> getenv(std::string_view name) { return detail::current_os().getenv(std::string(name)); }

std::string hostname() { return detail::current_os().hostname(); }

}  // namespace weft::os
