// src/wire/cluster_key.cpp: key files, challenges and proofs (OpenSSL's
// HMAC and random generator; see cluster_key.hpp).
#include "wire/cluster_key.hpp"

#include "wire/endpoint.hpp"

#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <stdexcept>

namespace weft::wire {

namespace {

[[noreturn]] void bad_key(const std::string& path, const std::string& why, bool suggest = true) {
  std::string msg = "cluster key " + path + ": " + why;
  if (suggest) msg += "; " + how_to_make_a_key(path);
  throw std::runtime_error(msg);
}

}  // namespace

std::string how_to_make_a_key(const std::string& path) {
  return "make one with: (umask 077; head -c 32 /dev/urandom > " + path +
         ") and give the same file to every weftd and program of the cluster";
}

std::string load_cluster_key(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) bad_key(path, std::strerror(errno), errno == ENOENT);
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    bad_key(path, "not a regular file");
  }
  if ((st.st_mode & 077) != 0) {
    ::close(fd);
    bad_key(path,
            "readable by others than its owner (mode " + std::to_string((st.st_mode >> 6) & 7) +
                std::to_string((st.st_mode >> 3) & 7) + std::to_string(st.st_mode & 7) +
                "); a key others can read is not a secret: chmod 600 " + path,
            false);
  }
  std::string key;
  char buf[4096];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      int err = errno;
      ::close(fd);
      bad_key(path, std::strerror(err), false);
    }
    if (n == 0) break;
    key.append(buf, static_cast<std::size_t>(n));
    if (key.size() > 64 * 1024) {
      ::close(fd);
      bad_key(path, "larger than 64 KiB: is this the right file?", false);
    }
  }
  ::close(fd);
  if (key.size() < min_key_size)
    bad_key(path, "holds " + std::to_string(key.size()) + " bytes, fewer than the " + std::to_string(min_key_size) +
                      " a key needs");
  return key;
}

std::string default_key_path() { return user_runtime_dir() + "/cluster.key"; }

std::string cluster_key_from_env() {
  const char* path = std::getenv("WEFT_KEY_FILE");
  if (path != nullptr && *path != '\0') return load_cluster_key(path);
  const std::string fallback = default_key_path();
  if (::access(fallback.c_str(), F_OK) != 0) return {};
  return load_cluster_key(fallback);
}

std::string ensure_default_key() {
  const std::string dir = user_runtime_dir();
  if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST)
    throw std::runtime_error("cannot make " + dir + ": " + std::strerror(errno));
  const std::string path = default_key_path();
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd >= 0) {
    std::string key(32, '\0');
    bool ok = RAND_bytes(reinterpret_cast<unsigned char*>(key.data()), static_cast<int>(key.size())) == 1;
    ok = ok && ::write(fd, key.data(), key.size()) == static_cast<ssize_t>(key.size());
    ::close(fd);
    if (!ok) {
      ::unlink(path.c_str());
      throw std::runtime_error("cannot write a new cluster key to " + path);
    }
  } else if (errno != EEXIST) {
    throw std::runtime_error("cannot make the cluster key " + path + ": " + std::strerror(errno));
  }
  // Made now or by an earlier start (or a weftd starting at the same time:
  // O_EXCL let one write it): its mode and size are checked as any key's.
  return load_cluster_key(path);
}

std::string new_challenge() {
  std::string c(challenge_size, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(c.data()), static_cast<int>(c.size())) != 1)
    throw std::runtime_error("the system's random generator failed (OpenSSL RAND_bytes)");
  return c;
}

std::string auth_proof(std::string_view key, std::string_view challenge) {
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
           reinterpret_cast<const unsigned char*>(challenge.data()), challenge.size(), mac, &len) == nullptr)
    throw std::runtime_error("HMAC-SHA256 failed (OpenSSL)");
  return std::string(reinterpret_cast<const char*>(mac), len);
}

bool proof_matches(std::string_view key, std::string_view challenge, std::string_view mac) {
  std::string expected = auth_proof(key, challenge);
  return mac.size() == expected.size() && CRYPTO_memcmp(mac.data(), expected.data(), mac.size()) == 0;
}

}  // namespace weft::wire
