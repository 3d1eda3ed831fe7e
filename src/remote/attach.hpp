// src/remote/attach.hpp: attaching a weft::run to its runtime server
// (DESIGN.md, "Which server" and "Attaching and losing the server").
#pragma once

#include <functional>
#include <string>

#include <weft/run.hpp>

#include "wire/endpoint.hpp"

namespace weft::runtime::v1 {
class Frame;
}

namespace weft::remote::detail {

class stub;

// weft::run below the circuit: attaches to options.runtime, else
// WEFT_RUNTIME (neither: not attached), runs main, detaches. required:
// refuse to start without a server. worker_ticket (non-empty: the circuit
// started this process as a worker) goes in the Hello, and then it does
// not return: the process ends once main has returned and the stub has
// detached (worker_exit.hpp).
// worker_fd >= 0: the worker's connection to weftd, made by weftd before
// it forked the process (stub.hpp); then first_request, if set, fills a
// request that the stub sends right behind the Hello (stub.hpp, "first").
int run_with_runtime(std::function<int()> main, const weft::options& opts, bool required,
                     const std::string& worker_ticket = {}, int worker_fd = -1,
                     std::function<void(weft::runtime::v1::Frame&)> first_request = {});

// The stub of this weft::run, attaching to `server` first if it has none
// (the circuit's first call in a program that was not attached). That
// stub detaches when main returns, like one attached at the start. Throws
// remote_error if the server cannot be reached. REQUIRES: inside weft::run.
stub& attach_late(const wire::endpoint& server);

}  // namespace weft::remote::detail
