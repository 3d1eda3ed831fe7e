// bench/bench_util.cpp: clocks, CPU time, RSS and the result line.

#include "bench.hpp"

#include <sys/resource.h>

#include <cstdio>
#include <fstream>

namespace bench {

double ns_per(steady::duration d, std::int64_t ops) {
  return static_cast<double>(std::chrono::duration_cast<std::chrono::nanoseconds>(d).count()) /
         static_cast<double>(ops);
}

double ms(steady::duration d) { return std::chrono::duration<double, std::milli>(d).count(); }

std::string kv(const char* key, double value) {
  char buf[96];
  std::snprintf(buf, sizeof buf, "%s:%.2f", key, value);
  return buf;
}

double cpu_ms() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  auto tv_ms = [](const timeval& tv) { return static_cast<double>(tv.tv_sec) * 1e3 + static_cast<double>(tv.tv_usec) / 1e3; };
  return tv_ms(ru.ru_utime) + tv_ms(ru.ru_stime);
}

std::int64_t vm_rss() {
  std::ifstream status("/proc/self/status");
  std::string key;
  std::int64_t kb = 0;
  while (status >> key) {
    if (key == "VmRSS:" && status >> kb) return kb * 1024;
    status.ignore(1 << 16, '\n');
  }
  throw std::runtime_error("no VmRSS line in /proc/self/status");
}

// Notes on how this process ran come first (the stack size, a smoke run),
// then the workload's own extras.
std::string line(const result& r) {
  char head[256];
  std::snprintf(head, sizeof head, "bench=%s impl=weft procs=%d value=%.2f unit=%s", r.bench.c_str(),
                cfg().procs, r.value, r.unit.c_str());
  std::size_t stack = cfg().stack ? cfg().stack : default_stack;
  std::string extra = stack % 1024 == 0 ? "stack:" + std::to_string(stack / 1024) + "KiB"
                                        : "stack:" + std::to_string(stack) + "B";
  if (cfg().smoke) extra += ",size:smoke";
  for (const auto& e : r.extra) extra += "," + e;
  return std::string(head) + " extra=" + extra;
}

}  // namespace bench
