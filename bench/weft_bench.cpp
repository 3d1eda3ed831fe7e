// bench/weft_bench.cpp: weft's side of the peer benchmark kit.
//
//   weft-bench -bench NAME|all -procs P [-size smoke|full] [-smoke] [-stack BYTES] [-list]
//
// runs one workload of shared/bench/WORKLOADS.md inside weft::run with
// options{.procs = P} and prints its result line(s) with impl=weft, exactly as
// the Go peer (shared/bench/peers/go) does for impl=go. `-bench all` runs each
// workload in a fresh child process (fork and exec of /proc/self/exe), so that
// none inherits another's heap or cached stacks: parked measures RSS growth.
//
// -size smoke (or -smoke) divides each workload's N or R by 100, for CI; its
// lines carry extra=size:smoke and are not comparable with full runs. -stack
// sets go_options::stack_size for every goroutine a workload starts (default:
// weft's own, 64 KiB; the runtime rounds sizes up to a power of two); lines
// name the stack size asked for (extra=stack:64KiB).
//
// A failed check prints `bench=NAME impl=weft procs=P FAILED: reason` on
// stderr and exits 1 (a workload of several lines may fail one of them: its
// other lines are still printed); a usage error exits 2.

#include "bench.hpp"

#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <string>
#include <thread>

#include <weft/run.hpp>

namespace bench {
namespace {

// Every workload weft-bench has, in the order that -bench all runs them: the
// kit's in the Go peer's order, then weft's own (no peer has them).
const workload workloads[] = {
    {"spawn", bench_spawn},
    {"pingpong", bench_pingpong},
    {"skynet", bench_skynet},
    {"chan_mpmc", bench_chan_mpmc},
    {"mutex", bench_mutex},
    {"timers", bench_timers},
    {"parked", bench_parked},
    {"locked_server", bench_locked_server},
    {"tcp_echo", bench_tcp_echo},
    {"blocking", bench_blocking},
};

config the_config;

const workload* find(const std::string& name) {
  for (const auto& w : workloads)
    if (name == w.name) return &w;
  return nullptr;
}

[[noreturn]] void usage(const std::string& why) {
  std::fprintf(stderr,
               "weft-bench: %s\n"
               "usage: weft-bench -bench NAME|all -procs P [-size smoke|full] [-smoke] [-stack BYTES] [-list]\n"
               "workloads:",
               why.c_str());
  for (const auto& w : workloads) std::fprintf(stderr, " %s", w.name);
  std::fprintf(stderr, " all\n");
  std::exit(2);
}

// Go's flag syntax: -name value, -name=value, --name; -smoke and -list take no value.
void parse(int argc, char** argv, config& c, bool& list) {
  c.procs = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  for (int i = 1; i < argc; ++i) {
    std::string flag = argv[i], value;
    if (flag.size() < 2 || flag[0] != '-') usage("unexpected argument '" + flag + "'");
    flag.erase(0, flag.find_first_not_of('-'));
    bool has_value = false;
    if (auto eq = flag.find('='); eq != std::string::npos) {
      value = flag.substr(eq + 1);
      flag.erase(eq);
      has_value = true;
    }
    if (flag == "smoke" || flag == "list") {
      if (has_value) usage("-" + flag + " takes no value");
      (flag == "smoke" ? c.smoke : list) = true;
      continue;
    }
    if (!has_value) {
      if (i + 1 >= argc) usage("missing value for -" + flag);
      value = argv[++i];
    }
    try {
      std::size_t used = 0;
      if (flag == "bench") {
        c.bench = value;
      } else if (flag == "procs") {
        c.procs = std::stoi(value, &used);
      } else if (flag == "stack") {
        c.stack = std::stoul(value, &used);
      } else if (flag == "size") {
        if (value != "smoke" && value != "full") usage("-size must be smoke or full, not '" + value + "'");
        c.smoke = value == "smoke";
      } else {
        usage("unknown flag -" + flag);
      }
      if (used != 0 && used != value.size()) usage("bad number for -" + flag + ": " + value);
    } catch (const std::logic_error&) {
      usage("bad number for -" + flag + ": " + value);
    }
  }
  if (c.procs < 1) usage("-procs must be at least 1");
  if (c.stack != 0 && c.stack < 16 * 1024) usage("-stack must be at least 16384");
}

void report_failure(const std::string& name, const std::string& why) {
  std::fflush(stdout);
  std::fprintf(stderr, "bench=%s impl=weft procs=%d FAILED: %s\n", name.c_str(), cfg().procs, why.c_str());
  std::fflush(stderr);
}

// Runs every workload in a fresh child process with this process's flags.
int run_all() {
  int failed = 0;
  for (const auto& w : workloads) {
    std::string procs = std::to_string(cfg().procs), stack = std::to_string(cfg().stack);
    std::fflush(nullptr);
    pid_t pid = fork();
    if (pid < 0) {
      std::perror("weft-bench: fork");
      return 1;
    }
    if (pid == 0) {
      execl("/proc/self/exe", "weft-bench", "-bench", w.name, "-procs", procs.c_str(), "-stack", stack.c_str(),
            "-size", cfg().smoke ? "smoke" : "full", static_cast<char*>(nullptr));
      std::perror("weft-bench: exec /proc/self/exe");
      std::_Exit(127);
    }
    int status = 0;
    while (waitpid(pid, &status, 0) < 0) {
      if (errno != EINTR) {
        std::perror("weft-bench: waitpid");
        return 1;
      }
    }
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
      report_failure(w.name, WIFEXITED(status) ? "exit status " + std::to_string(WEXITSTATUS(status))
                                               : "killed by signal " + std::to_string(WTERMSIG(status)));
      ++failed;
    }
  }
  return failed ? 1 : 0;
}

// Runs w as the driver of a fresh runtime. The result lines are printed by
// the driver itself, before weft::run tears the runtime down.
int run_one(const workload& w) {
  try {
    return weft::run(
        [&w]() -> int {
          try {
            int status = 0;
            for (const auto& r : w.run()) {
              if (r.failed.empty()) {
                std::printf("%s\n", line(r).c_str());
              } else {
                report_failure(r.bench, r.failed);
                status = 1;
              }
            }
            std::fflush(stdout);
            return status;
          } catch (const std::exception& e) {
            report_failure(w.name, e.what());
            return 1;
          }
        },
        weft::options{.procs = cfg().procs});
  } catch (const std::exception& e) {  // the runtime would not start
    report_failure(w.name, std::string("weft::run: ") + e.what());
    return 1;
  }
}

}  // namespace

const config& cfg() { return the_config; }

}  // namespace bench

int main(int argc, char** argv) {
  using namespace bench;
  bool list = false;
  parse(argc, argv, the_config, list);
  if (list) {
    for (const auto& w : workloads) std::printf("%s\n", w.name);
    return 0;
  }
  if (cfg().bench == "all") return run_all();
  const workload* w = find(cfg().bench);
  if (!w) usage("unknown workload '" + cfg().bench + "'");
  return run_one(*w);
}
