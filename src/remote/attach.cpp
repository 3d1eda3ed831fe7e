// src/remote/attach.cpp: weft::run's entry when a runtime server may be
// named (DESIGN.md, "Which server" and "Attaching and losing the server").
//
// options.runtime, else WEFT_RUNTIME, names the server; neither: the
// program runs as it would without a stub. Attaching happens on goroutine 1
// before main's function (dialing parks on the netpoller, so it needs the
// runtime), and detaching after it returns, still inside weft::run, so the
// stub's goroutines can see the close. The stub object outlives run_main:
// its goroutines, abandoned when main returns, still point at it.
//
// A program not attached at the start may attach later (attach_late: the
// circuit's first spawn, listen or dial); that stub is kept in `late` and
// detached at the same point.
//
// WEFT_OS=server (checked before anything runs) installs the server's OS
// resources (remote_os.hpp) for main's whole run; the server must offer
// "os".
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <memory>
#include <stdexcept>

#include <weft/errors.hpp>
#include <weft/run.hpp>

#include <weft/mutex.hpp>

#include "os/service.hpp"
#include "remote/attach.hpp"
#include "remote/remote_os.hpp"
#include "remote/stub.hpp"
#include "remote/worker_exit.hpp"
#include "runtime/runtime.hpp"

namespace weft::remote::detail {

namespace {

using weft::detail::fatal;

[[noreturn]] void refuse(const std::string& msg) {
  std::fflush(stdout);
  std::fprintf(stderr, "weft: %s\n", msg.c_str());
  std::fflush(stderr);
  ::_exit(2);
}

// The stub a late attach made, for this weft::run.
weft::mutex late_mu;
std::unique_ptr<stub> late;

// Detaches a late stub when main returns. Its object stays (moved to
// `ended`) for the same reason as the early one: abandoned goroutines.
struct detach_late_at_end {
  ~detach_late_at_end() {
    std::unique_ptr<stub> s;
    {
      std::lock_guard lk(late_mu);
      s = std::move(late);
    }
    if (!s) return;
    set_current(nullptr);
    s->detach();
    static std::vector<std::unique_ptr<stub>> ended;
    ended.push_back(std::move(s));
  }
};

}  // namespace

stub& attach_late(const wire::endpoint& server) {
  std::lock_guard lk(late_mu);
  if (stub* s = current()) return *s;
  late = std::make_unique<stub>(server);
  late->start();
  set_current(late.get());
  return *late;
}

int run_with_runtime(std::function<int()> main, const weft::options& opts, bool required,
                     const std::string& worker_ticket, int worker_fd,
                     std::function<void(weft::runtime::v1::Frame&)> first_request) {
  using weft::detail::run_main;
  using weft::detail::trace_hooks_for_runtime;
  std::string address = opts.runtime;
  if (address.empty()) {
    const char* env = std::getenv("WEFT_RUNTIME");
    if (env) address = env;
  }
  bool os_remote = false;
  try {
    os_remote = os_from_server();
  } catch (const std::invalid_argument& e) {
    refuse(std::string("fatal error: ") + e.what());
  }
  if (address.empty()) {
    if (required) refuse("this program requires a runtime server (set WEFT_RUNTIME)");
    if (os_remote) refuse("WEFT_OS=server needs a runtime server to take them from (set WEFT_RUNTIME)");
    return run_main(
        [&] {
          detach_late_at_end guard;
          return main();
        },
        opts, trace_hooks_for_runtime());
  }
  wire::endpoint server;
  try {
    server = wire::parse_endpoint(address);
  } catch (const std::invalid_argument& e) {
    refuse(std::string("fatal error: ") + e.what());
  }
  std::unique_ptr<stub> early;
  int code = run_main(
      [&] {
        try {
          v1::Frame first;
          const bool has_first = worker_fd >= 0 && first_request;
          if (has_first) first_request(first);
          early = std::make_unique<stub>(server, worker_ticket, worker_fd, has_first ? &first : nullptr);
        } catch (const remote_error& e) {
          fatal(e.what());
        }
        early->start();
        set_current(early.get());
        std::unique_ptr<remote_os> server_os;
        if (os_remote) {
          if (!early->has_capability("os"))
            fatal("WEFT_OS=server, but runtime server " + early->address() +
                  " does not offer \"os\" (its files, environment and host name)");
          server_os = std::make_unique<remote_os>(*early);
          weft::detail::install_os(server_os.get());
        }
        struct detach_at_end {
          stub* s;
          ~detach_at_end() {
            weft::detail::install_os(nullptr);
            set_current(nullptr);
            s->detach();
          }
        };
        int status = 0;
        {
          detach_at_end guard{early.get()};
          status = main();
        }
        // A worker ends here, its Goodbye written, without joining the
        // runtime's threads (worker_exit.hpp says why nothing is lost).
        if (worker_exits_fast && !worker_ticket.empty()) end_worker_process(status);
        return status;
      },
      opts, trace_hooks_for_runtime());
  return code;
}

}  // namespace weft::remote::detail
