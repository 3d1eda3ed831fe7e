// src/platform/send_ring_cost.cpp: see send_ring_cost.hpp.
#include "platform/send_ring_cost.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <limits>

#include "platform/send_ring.hpp"

namespace weft::detail::os {

namespace {

constexpr int sends_per_round = 32;
constexpr std::size_t message_bytes = 64;

double now_ns() {
  return static_cast<double>(
      std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch())
          .count());
}

// A connected loopback pair (TCP_NODELAY on the sender, as weft::net sets
// it), or false.
bool loopback_pair(int* sender, int* receiver) {
  int listener = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (listener < 0) return false;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  int s = -1, r = -1;
  bool ok = ::bind(listener, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 && ::listen(listener, 1) == 0 &&
            ::getsockname(listener, reinterpret_cast<sockaddr*>(&addr), &len) == 0 &&
            (s = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) >= 0 &&
            ::connect(s, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 &&
            (r = ::accept4(listener, nullptr, nullptr, SOCK_CLOEXEC)) >= 0;
  ::close(listener);
  if (!ok) {
    if (s >= 0) ::close(s);
    if (r >= 0) ::close(r);
    return false;
  }
  int one = 1;
  ::setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  *sender = s;
  *receiver = r;
  return true;
}

void drain(int fd) {
  char sink[16384];
  while (::recv(fd, sink, sizeof sink, MSG_DONTWAIT) > 0) {}
}

}  // namespace

bool measure_send_costs(int rounds, send_costs* out) noexcept {
  int err = 0;
  send_ring* ring = send_ring_new(sends_per_round, &err);
  if (ring == nullptr) return false;
  int s = -1, r = -1;
  if (!loopback_pair(&s, &r)) {
    send_ring_free(ring);
    return false;
  }
  const char message[message_bytes] = {};
  double best_direct = std::numeric_limits<double>::max(), best_ring = best_direct;
  bool ok = true;
  for (int round = 0; round < rounds && ok; ++round) {
    double t0 = now_ns();
    for (int i = 0; i < sends_per_round; ++i)
      ok = ok && ::send(s, message, sizeof message, MSG_DONTWAIT | MSG_NOSIGNAL) == sizeof message;
    double t1 = now_ns();
    drain(r);
    double t2 = now_ns();
    for (int i = 0; i < sends_per_round; ++i) ok = ok && send_ring_post(ring, s, message, sizeof message, 0);
    ok = ok && send_ring_flush(
                   ring, [](void*, std::uint64_t, long) {}, nullptr) == sends_per_round;
    double t3 = now_ns();
    drain(r);
    best_direct = std::min(best_direct, (t1 - t0) / sends_per_round);
    best_ring = std::min(best_ring, (t3 - t2) / sends_per_round);
  }
  ::close(s);
  ::close(r);
  send_ring_free(ring);
  if (!ok) return false;
  out->direct_ns = best_direct;
  out->ring_ns = best_ring;
  return true;
}

}  // namespace weft::detail::os
