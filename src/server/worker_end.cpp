// src/server/worker_end.cpp: how a worker ended, in the words `weft kill`
// prints (WorkerExit.text) and weftd logs.
//
// The status alone cannot say whether a graceful kill went well: 143 is
// both a weft program's exit(143) after its shutdown hooks returned
// (src/os/shutdown.cpp) and SIGTERM's default action (no hook, or the
// hooks cut short). waitid tells the two apart (child::signalled), and
// the kill's record says who sent which signal when (worker_host::kill):
// a SIGKILL at the end of the grace period is weftd's, not the operator's.
#include <signal.h>

#include <cstdio>
#include <string>

#include "server/worker_host.hpp"

namespace weft::server {

namespace {

std::string seconds(double s) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f s", s);
  return buf;
}

std::string period(std::chrono::milliseconds d) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g s", static_cast<double>(d.count()) / 1000.0);
  return buf;
}

}  // namespace

std::string worker_host::describe_end(const record& r, int status, bool signalled,
                                      std::chrono::steady_clock::time_point now) {
  const bool termed = r.term_at != std::chrono::steady_clock::time_point{};
  const std::string after = termed ? seconds(std::chrono::duration<double>(now - r.term_at).count()) : "";
  if (signalled && status == 128 + SIGKILL) {
    if (r.grace_expired)
      return "killed by SIGKILL after the " + period(r.grace) +
             " grace period (its shutdown hooks had not returned since SIGTERM)";
    if (r.hard_killed) return "killed by SIGKILL (weft kill --hard: no shutdown hooks ran)";
  }
  if (termed && status == 128 + SIGTERM) {
    if (!signalled) return "exited after its shutdown hooks (" + after + " after SIGTERM)";
    return "killed by SIGTERM, " + after +
           " after it (no weft::on_shutdown hook registered, or the hooks were cut short)";
  }
  if (termed) return child::describe(status) + " (" + after + " after SIGTERM)";
  return child::describe(status);
}

}  // namespace weft::server
