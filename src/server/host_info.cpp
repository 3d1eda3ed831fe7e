// src/server/host_info.cpp: the host as placement sees it (host_info.hpp).
#include "server/host_info.hpp"

#include <sched.h>
#include <stdlib.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <mutex>
#include <cctype>
#include <cstdio>
#include <cstring>

#include "platform/spinlock.hpp"
#include "wire/version.hpp"

namespace weft::server {

namespace {

std::uint32_t usable_cpus() {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (::sched_getaffinity(0, sizeof set, &set) == 0) return static_cast<std::uint32_t>(CPU_COUNT(&set));
  long n = ::sysconf(_SC_NPROCESSORS_ONLN);
  return n > 0 ? static_cast<std::uint32_t>(n) : 1;
}

// MemTotal and MemAvailable from /proc/meminfo, in bytes (0 if unknown).
void memory(std::uint64_t& total, std::uint64_t& available) {
  total = available = 0;
  std::FILE* f = std::fopen("/proc/meminfo", "re");
  if (!f) return;
  char line[256];
  while (std::fgets(line, sizeof line, f)) {
    unsigned long long kb = 0;
    if (std::sscanf(line, "MemTotal: %llu kB", &kb) == 1) total = kb * 1024;
    if (std::sscanf(line, "MemAvailable: %llu kB", &kb) == 1) available = kb * 1024;
  }
  std::fclose(f);
}

// The kernel's figures, read again when older than 50 ms (host_info.hpp).
struct kernel_figures {
  std::uint32_t cpus = 0;
  std::uint64_t mem_total = 0, mem_available = 0;
  double load1 = 0;
};

kernel_figures current_figures() {
  constexpr auto max_age = std::chrono::milliseconds(50);
  static weft::detail::spinlock lock;
  static kernel_figures cached;
  static std::chrono::steady_clock::time_point read_at{};
  const auto now = std::chrono::steady_clock::now();
  {
    std::lock_guard<weft::detail::spinlock> lk(lock);
    if (read_at != std::chrono::steady_clock::time_point{} && now - read_at < max_age) return cached;
  }
  kernel_figures k;  // read outside the lock: two callers may both read, and both are right
  k.cpus = usable_cpus();
  memory(k.mem_total, k.mem_available);
  double load[1] = {0};
  if (::getloadavg(load, 1) == 1) k.load1 = load[0];
  std::lock_guard<weft::detail::spinlock> lk(lock);
  cached = k;
  read_at = now;
  return k;
}

}  // namespace

v1::HostInfo collect_host_info(const host_identity& id, std::uint32_t workers) {
  const kernel_figures now = current_figures();
  v1::HostInfo h;
  h.set_name(id.name);
  h.set_address(id.address);
  h.set_cpus(now.cpus);
  h.set_mem_total(now.mem_total);
  h.set_mem_available(now.mem_available);
  h.set_load1(now.load1);
  h.set_workers(workers);
  for (const auto& [k, v] : id.labels) (*h.mutable_labels())[k] = v;
  h.set_started_unix_ms(id.started_unix_ms);
  h.set_version(wire::version_text());
  return h;
}

bool valid_host_name(const std::string& s) noexcept {
  return !s.empty() && s.size() <= 63 && std::all_of(s.begin(), s.end(), [](unsigned char c) {
    return std::isalnum(c) || c == '.' || c == '-' || c == '_';
  });
}

bool parse_label(const std::string& text, std::string& name, std::string& value, std::string& why) {
  std::size_t eq = text.find('=');
  if (eq == std::string::npos || eq == 0) {
    why = "a label is NAME=VALUE (zone=a), not \"" + text.substr(0, 100) + "\"";
    return false;
  }
  name = text.substr(0, eq);
  value = text.substr(eq + 1);
  bool name_ok = name.size() <= 63 && std::all_of(name.begin(), name.end(), [](unsigned char c) {
                   return std::isalnum(c) || c == '.' || c == '-' || c == '_' || c == '/';
                 });
  if (!name_ok) {
    why = "label name \"" + name.substr(0, 100) + "\": letters, digits, '.', '-', '_' and '/' only, at most 63";
    return false;
  }
  bool value_ok =
      value.size() <= 255 && std::all_of(value.begin(), value.end(), [](unsigned char c) { return std::isgraph(c); });
  if (!value_ok) {
    why = "label " + name + ": its value must be printable, without spaces, at most 255 bytes";
    return false;
  }
  return true;
}

}  // namespace weft::server
