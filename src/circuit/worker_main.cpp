// src/circuit/worker_main.cpp: a worker's life (worker_main.hpp).
#include "circuit/worker_main.hpp"

#include <unistd.h>

#include <weft/go.hpp>
#include <weft/spawn.hpp>
#include <weft/wait_group.hpp>

#include "circuit/exception_info.hpp"
#include "circuit/peer_listener.hpp"
#include "circuit/peers.hpp"
#include "circuit/registry.hpp"
#include "remote/stub.hpp"
#include "runtime/fatal.hpp"
#include "wire/utf8.hpp"

namespace weft::circuit::detail {

namespace v1 = weft::runtime::v1;

namespace {

bool worker_mode = false;
weft::wait_group daemons;

std::string self_binary() {
  char buf[4096];
  ssize_t n = ::readlink("/proc/self/exe", buf, sizeof buf - 1);
  return n > 0 ? std::string(buf, static_cast<std::size_t>(n)) : std::string("this binary");
}

// Runs the job into d; returns the exit status.
int run_job(const v1::WorkerJob& job, v1::WorkerDone& d) {
  const spawnable* f = find_spawnable(job.function());
  if (f == nullptr) {
    d.set_refused(self_binary() + " has no spawnable function \"" + job.function() +
                  "\" (WEFT_SPAWNABLE): was the binary rebuilt since the caller started?");
    return 1;
  }
  if (f->ambiguous) {
    d.set_refused(self_binary() + " registers two functions as \"" + job.function() + "\"");
    return 1;
  }
  if (f->signature != job.signature()) {
    d.set_refused("spawnable function \"" + job.function() + "\" is " + f->signature + " in " + self_binary() +
                  ", the caller spawned it as " + job.signature() +
                  ": was the binary rebuilt since the caller started?");
    return 1;
  }
  v1::SpawnResult* r = d.mutable_result();
  try {
    r->set_value(f->invoke(job.args()));
    return 0;
  } catch (...) {
    exception_info info = current_exception_info();
    r->set_threw(true);
    r->set_type_name(info.type_name);
    r->set_what(info.what);
    return 1;
  }
}

}  // namespace

void worker_start_early(const worker_ticket& ticket, v1::Frame& start) {
  // Listening before WorkerStart: weftd tells the caller the worker runs
  // (Spawned, with this address) only then, so a dial never finds nobody.
  try {
    start_peer_listener();
  } catch (const std::exception& e) {
    weft::detail::fatal("worker " + ticket.id + ": cannot listen for peers: " + e.what());
  }
  // Where it listens: weftd tells callers (a TCP port is known only now).
  start.mutable_worker_start()->set_address(self_address());
}

int worker_main(const worker_ticket& ticket) {
  worker_mode = true;
  remote::detail::stub* s = remote::detail::current();
  if (s == nullptr) weft::detail::fatal("worker " + ticket.id + " has no runtime server (WEFT_RUNTIME is unset)");
  v1::Frame job;
  if (s->sent_first()) {  // WorkerStart went behind the Hello (worker_main.hpp, step 2)
    job = s->first_reply();
  } else {
    v1::Frame start;
    worker_start_early(ticket, start);
    job = s->call(std::move(start));
  }
  if (!job.has_worker_job())
    weft::detail::fatal("worker " + ticket.id + ": runtime server " + s->address() + " gave no job: " +
                        (job.has_error() ? job.error().message() : std::string("an unexpected reply")));
  v1::Frame done;
  int status = run_job(job.worker_job(), *done.mutable_worker_done());
  if (!done.worker_done().refused().empty())  // it quotes the binary's path
    done.mutable_worker_done()->set_refused(wire::utf8_text(done.worker_done().refused()));
  // A refusal of the result is a bug of ours (this connection claimed the
  // ticket): fatal, whenever its answer comes.
  auto refused = [id = ticket.id, address = s->address()](const v1::Frame& ok) {
    if (ok.has_error())
      weft::detail::fatal("worker " + id + ": runtime server " + address +
                          " refused the result: " + ok.error().message());
  };
  if (s->has_capability("exit_after_done")) {
    // The server reads this connection to its end before it decides how
    // the worker ended (docs/protocol.md, "Workers"): no need to wait for
    // its Ok before exiting, a round trip through weftd on every spawn's
    // path to the caller's wait.
    auto p = std::make_shared<remote::detail::pending>();
    p->on_reply = [refused](v1::Frame& ok) {
      refused(ok);
      return true;
    };
    s->start_request(std::move(done), std::move(p));
  } else {
    refused(s->call(std::move(done)));
  }
  daemons.wait();
  return status;
}

}  // namespace weft::circuit::detail

namespace weft {

void daemonize(std::function<void()> f) {
  if (!circuit::detail::worker_mode) {
    weft::go(std::move(f));
    return;
  }
  circuit::detail::daemons.add(1);
  weft::go([f = std::move(f)] {
    struct done_at_end {
      ~done_at_end() { circuit::detail::daemons.done(); }
    } guard;
    f();
  });
}

bool is_worker() noexcept {
  try {
    return circuit::detail::worker_ticket_from_env().has_value();
  } catch (...) {
    return false;
  }
}

}  // namespace weft
