// src/server/worker_end.cpp: a worker's end: the reaper that waits for
// its process (W6: not before its last frames are read), and how it ended
// in the words `weft kill` prints (WorkerExit.text) and weftd logs.
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

#include <weft/select.hpp>
#include <weft/timer.hpp>

#include "runtime/runtime.hpp"
#include "server/server.hpp"
#include "server/worker_host.hpp"
#include "wire/utf8.hpp"

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

wire::frame worker_host::exit_frame(std::uint64_t id, int status, const std::string& text) {
  wire::frame f;
  f.set_id(id);
  f.mutable_worker_exit()->set_status(status);
  f.mutable_worker_exit()->set_text(wire::utf8_text(text));
  return f;
}

void worker_host::reap(std::shared_ptr<record> r) {
  struct done_at_end {
    weft::wait_group& wg;
    ~done_at_end() { wg.done(); }
  } guard{reapers_};
  int status = 0;
  try {
    status = r->proc->wait();
  } catch (const std::exception&) {
    return;  // stop(): the server goes; the worker ends when it loses it
  }
  // W6: its last frames (a WorkerDone sent just before it exited) are read
  // before its end is decided. Its process is gone, so the kernel has
  // closed its end of the connection: the session ends as soon as its
  // reader has handled what is left, unless a descendant holds the socket.
  bool claimed;
  {
    detail::lock_scope lk(mu_);
    claimed = r->claimed;
  }
  if (claimed) select(on_recv(r->session_over, [] {}), on_recv(after(std::chrono::seconds(2)), [] {}));
  // What the end readies (the caller's and the waiters' writers) runs on
  // this P once this goroutine, which only posts and ends, is gone: no
  // other thread is woken for it (runtime.hpp, parks_soon_scope).
  detail::parks_soon_scope ends_soon;
  detail::lock_scope lk(mu_);
  r->ended = true;
  running_.erase(r.get());
  r->status = status;
  r->end = describe_end(*r, status, r->proc->signalled(), std::chrono::steady_clock::now());
  left(*r);
  // Its pidfd goes now: a remembered worker holds no descriptor (W4).
  r->proc.reset();
  std::remove(r->peer_socket.c_str());
  const std::string& how = r->end;
  log_("worker " + r->id + " (" + r->function + ") " + how);
  answer_caller(*r, error_frame(r->caller_id, v1::Error::LOST,
                                "worker " + r->id + " (pid " + std::to_string(r->pid) + ") " + how + " before " +
                                    r->function + " returned"));
  for (auto& [c, id] : r->waiters) c->post(exit_frame(id, status, how));
  r->waiters.clear();
  r->args.clear();
  ended_.push_back(r->id);
  while (ended_.size() > limits_.max_ended) {
    auto it = workers_.find(ended_.front());
    if (it != workers_.end()) {
      std::remove(it->second->log_path.c_str());
      forget_record(ended_.front());
    }
    ended_.pop_front();
  }
  lk.unlock();
  if (cluster_ != nullptr) cluster_->worker_ended(r->id);
}

}  // namespace weft::server
