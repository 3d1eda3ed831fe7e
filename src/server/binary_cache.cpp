// src/server/binary_cache.cpp: binaries by content (binary_cache.hpp).
#include "server/binary_cache.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

#include <algorithm>
#include <cerrno>
#include <stdexcept>
#include <system_error>
#include <utility>
#include <vector>

#include <weft/blocking.hpp>

namespace weft::server {

namespace {

[[noreturn]] void throw_errno(const std::string& what) {
  throw std::system_error(errno, std::generic_category(), what);
}

void make_private_dir(const std::string& path) {
  // Parents first (~/.cache/weft on a first start), private as well.
  for (std::size_t slash = path.find('/', 1); slash != std::string::npos; slash = path.find('/', slash + 1))
    ::mkdir(path.substr(0, slash).c_str(), 0700);
  if (::mkdir(path.c_str(), 0700) != 0 && errno != EEXIST) throw_errno("binary cache: cannot make " + path);
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) throw_errno("binary cache: " + path);
  if (!S_ISDIR(st.st_mode)) throw std::system_error(ENOTDIR, std::generic_category(), "binary cache: " + path);
}

std::string hex(const unsigned char* p, unsigned n) {
  static const char digits[] = "0123456789abcdef";
  std::string s;
  s.reserve(2 * n);
  for (unsigned i = 0; i < n; ++i) {
    s.push_back(digits[p[i] >> 4]);
    s.push_back(digits[p[i] & 15]);
  }
  return s;
}

// Closes fd on every path out.
struct fd_guard {
  int fd;
  ~fd_guard() {
    if (fd >= 0) ::close(fd);
  }
};

}  // namespace

bool is_sha256_hex(std::string_view s) noexcept {
  return s.size() == 64 &&
         std::all_of(s.begin(), s.end(), [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

std::string sha256_file(const std::string& path) {
  return weft::blocking([&] {
    fd_guard f{::open(path.c_str(), O_RDONLY | O_CLOEXEC)};
    if (f.fd < 0) throw_errno("cannot read " + path);
    std::unique_ptr<EVP_MD_CTX, void (*)(EVP_MD_CTX*)> ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
    if (!ctx || EVP_DigestInit_ex(ctx.get(), EVP_sha256(), nullptr) != 1)
      throw std::runtime_error("SHA-256 failed (OpenSSL)");
    std::vector<char> buf(1 << 20);
    for (;;) {
      ssize_t n = ::read(f.fd, buf.data(), buf.size());
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) throw_errno("cannot read " + path);
      if (n == 0) break;
      EVP_DigestUpdate(ctx.get(), buf.data(), static_cast<std::size_t>(n));
    }
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned len = 0;
    if (EVP_DigestFinal_ex(ctx.get(), md, &len) != 1) throw std::runtime_error("SHA-256 failed (OpenSSL)");
    return hex(md, len);
  });
}

binary_cache::binary_cache(std::string dir, std::uint64_t max_bytes) : dir_(std::move(dir)), max_bytes_(max_bytes) {
  make_private_dir(dir_);
  make_private_dir(dir_ + "/.incoming");
  struct found {
    std::string name;
    std::uint64_t size;
    std::int64_t mtime;
  };
  std::vector<found> seen;
  weft::blocking([&] {
    // Uploads a crash cut short are of no use.
    if (DIR* d = ::opendir((dir_ + "/.incoming").c_str())) {
      while (dirent* e = ::readdir(d))
        if (e->d_name[0] != '.') ::unlink((dir_ + "/.incoming/" + e->d_name).c_str());
      ::closedir(d);
    }
    DIR* d = ::opendir(dir_.c_str());
    if (!d) throw_errno("binary cache: cannot list " + dir_);
    while (dirent* e = ::readdir(d)) {
      struct stat st {};
      if (!is_sha256_hex(e->d_name) || ::stat((dir_ + "/" + e->d_name).c_str(), &st) != 0 || !S_ISREG(st.st_mode))
        continue;
      seen.push_back({e->d_name, static_cast<std::uint64_t>(st.st_size), static_cast<std::int64_t>(st.st_mtime)});
    }
    ::closedir(d);
  });
  std::sort(seen.begin(), seen.end(), [](const found& a, const found& b) { return a.mtime < b.mtime; });
  detail::lock_scope lk(lock_);
  for (const found& f : seen) {
    files_[f.name] = entry{f.size, ++use_clock_};
    total_ += f.size;
  }
}

std::optional<std::string> binary_cache::find(const std::string& sha256) {
  if (!is_sha256_hex(sha256)) return std::nullopt;
  detail::lock_scope lk(lock_);
  auto it = files_.find(sha256);
  if (it == files_.end()) return std::nullopt;
  it->second.used = ++use_clock_;
  return dir_ + "/" + sha256;
}

std::uint64_t binary_cache::bytes() const {
  detail::lock_scope lk(lock_);
  return total_;
}

binary_cache::upload binary_cache::begin(const std::string& sha256, std::uint64_t size) {
  if (!is_sha256_hex(sha256))
    throw std::invalid_argument("binary cache: '" + sha256.substr(0, 80) +
                                "' is not a SHA-256 (64 lowercase hex digits)");
  if (size > max_bytes_)
    throw std::invalid_argument("binary cache: a binary of " + std::to_string(size) + " bytes is over the cache's " +
                                std::to_string(max_bytes_) + " (weftd --binary-cache-bytes)");
  std::uint64_t n;
  {
    detail::lock_scope lk(lock_);
    n = next_temp_++;
  }
  std::string temp = dir_ + "/.incoming/" + sha256 + "." + std::to_string(::getpid()) + "." + std::to_string(n);
  int fd = weft::blocking([&] { return ::open(temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0700); });
  if (fd < 0) throw_errno("binary cache: cannot make " + temp);
  return upload(*this, sha256, size, std::move(temp), fd);
}

void binary_cache::admit(const std::string& sha256, std::uint64_t size) {
  std::vector<std::string> evicted;
  {
    detail::lock_scope lk(lock_);
    entry& e = files_[sha256];
    total_ += size - e.size;
    e.size = size;
    e.used = ++use_clock_;
    while (total_ > max_bytes_ && files_.size() > 1) {
      auto oldest = files_.end();
      for (auto it = files_.begin(); it != files_.end(); ++it)
        if (it->first != sha256 && (oldest == files_.end() || it->second.used < oldest->second.used)) oldest = it;
      total_ -= oldest->second.size;
      evicted.push_back(oldest->first);
      files_.erase(oldest);
    }
  }
  if (!evicted.empty())
    weft::blocking([&] {
      for (const std::string& h : evicted) ::unlink((dir_ + "/" + h).c_str());
    });
}

binary_cache::upload::upload(binary_cache& cache, std::string sha256, std::uint64_t size, std::string temp, int fd)
    : cache_(&cache), sha256_(std::move(sha256)), size_(size), temp_(std::move(temp)), fd_(fd) {}

binary_cache::upload::upload(upload&& o) noexcept
    : cache_(o.cache_),
      sha256_(std::move(o.sha256_)),
      size_(o.size_),
      written_(o.written_),
      temp_(std::move(o.temp_)),
      fd_(std::exchange(o.fd_, -1)) {}

binary_cache::upload::~upload() {
  if (fd_ < 0) return;
  ::close(fd_);
  ::unlink(temp_.c_str());
}

void binary_cache::upload::write(std::string_view bytes) {
  if (fd_ < 0) throw std::logic_error("binary cache: write after commit");
  if (bytes.size() > size_ - written_)
    throw std::invalid_argument("binary cache: more than the announced " + std::to_string(size_) + " bytes of " +
                                sha256_.substr(0, 12));
  weft::blocking([&] {
    std::size_t at = 0;
    while (at < bytes.size()) {
      ssize_t n = ::write(fd_, bytes.data() + at, bytes.size() - at);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) throw_errno("binary cache: cannot write " + temp_);
      at += static_cast<std::size_t>(n);
    }
  });
  written_ += bytes.size();
}

std::string binary_cache::upload::commit() {
  if (fd_ < 0) throw std::logic_error("binary cache: commit twice");
  int fd = std::exchange(fd_, -1);
  bool closed = weft::blocking([&] {
    const bool synced = ::fsync(fd) == 0;
    return ::close(fd) == 0 && synced;  // closed either way: a failed fsync must not leak fd
  });
  struct remove_temp {
    const std::string& path;
    ~remove_temp() { ::unlink(path.c_str()); }
  } cleanup{temp_};
  if (!closed) throw_errno("binary cache: cannot write " + temp_);
  if (written_ != size_)
    throw std::invalid_argument("binary cache: " + sha256_.substr(0, 12) + " arrived with " + std::to_string(written_) +
                                " bytes of the announced " + std::to_string(size_));
  std::string got = sha256_file(temp_);
  if (got != sha256_)
    throw std::invalid_argument("binary cache: the bytes sent as " + sha256_.substr(0, 12) + " hash to " +
                                got.substr(0, 12) + "; not kept");
  std::string path = cache_->dir_ + "/" + sha256_;
  // I3: a rename over an identical file is harmless; the index counts it once.
  if (weft::blocking([&] { return ::rename(temp_.c_str(), path.c_str()); }) != 0)
    throw_errno("binary cache: cannot place " + path);
  cache_->admit(sha256_, size_);
  return path;
}

}  // namespace weft::server
