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

#include "os/service.hpp"
#include "remote/remote_os.hpp"
#include "remote/stub.hpp"
#include "runtime/runtime.hpp"

namespace weft::detail {

namespace {

[[noreturn]] void refuse(const std::string& msg) {
  std::fflush(stdout);
  std::fprintf(stderr, "weft: %s\n", msg.c_str());
  std::fflush(stderr);
  ::_exit(2);
}

}  // namespace

int run_attached(std::function<int()> main, const options& opts, bool required) {
  std::string address = opts.runtime;
  if (address.empty()) {
    const char* env = std::getenv("WEFT_RUNTIME");
    if (env) address = env;
  }
  bool os_from_server = false;
  try {
    os_from_server = remote::detail::os_from_server();
  } catch (const std::invalid_argument& e) {
    refuse(std::string("fatal error: ") + e.what());
  }
  if (address.empty()) {
    if (required) refuse("this program requires a runtime server (set WEFT_RUNTIME)");
    if (os_from_server) refuse("WEFT_OS=server needs a runtime server to take them from (set WEFT_RUNTIME)");
    return run_main(std::move(main), opts, trace_hooks_for_runtime());
  }
  wire::endpoint server;
  try {
    server = wire::parse_endpoint(address);
  } catch (const std::invalid_argument& e) {
    refuse(std::string("fatal error: ") + e.what());
  }
  std::unique_ptr<remote::detail::stub> stub;
  int code = run_main(
      [&] {
        try {
          stub = std::make_unique<remote::detail::stub>(server);
        } catch (const remote_error& e) {
          fatal(e.what());
        }
        stub->start();
        remote::detail::set_current(stub.get());
        std::unique_ptr<remote::detail::remote_os> server_os;
        if (os_from_server) {
          if (!stub->has_capability("os"))
            fatal("WEFT_OS=server, but runtime server " + stub->address() +
                  " does not offer \"os\" (its files, environment and host name)");
          server_os = std::make_unique<remote::detail::remote_os>(*stub);
          install_os(server_os.get());
        }
        struct detach_at_end {
          remote::detail::stub* s;
          ~detach_at_end() {
            install_os(nullptr);
            remote::detail::set_current(nullptr);
            s->detach();
          }
        } guard{stub.get()};
        return main();
      },
      opts, trace_hooks_for_runtime());
  return code;
}

}  // namespace weft::detail
