// src/server/control.cpp: the attached processes and the control requests
// forwarded to them (design in control.hpp).
#include "server/control.hpp"

#include <algorithm>
#include <utility>
#include <vector>

namespace weft::server {

const char* action_name(v1::Control::Action a) noexcept {
  switch (a) {
    case v1::Control::DUMP_GOROUTINES: return "DUMP_GOROUTINES";
    case v1::Control::EXIT: return "EXIT";
    case v1::Control::STATS: return "STATS";
    case v1::Control::LIST: return "LIST";
    case v1::Control::GOROUTINE_STATS: return "GOROUTINE_STATS";
    case v1::Control::INSTRUMENT_OFF: return "INSTRUMENT_OFF";
    case v1::Control::CPU_PROFILE: return "CPU_PROFILE";
    case v1::Control::TRACE: return "TRACE";
    default: return "ACTION_UNSPECIFIED";
  }
}

std::string control_host::who(const process& p) const { return "pid " + std::to_string(p.info.pid()); }

void control_host::attach(std::uint64_t process_id, client& stub, const v1::ProcessInfo& info, std::string worker_id) {
  const auto now = std::chrono::system_clock::now().time_since_epoch();
  detail::lock_scope lk(mu_);
  procs_[process_id] = process{
      &stub, info, std::chrono::duration_cast<std::chrono::milliseconds>(now).count(), std::move(worker_id), 1, {}};
}

void control_host::detach(std::uint64_t process_id) {
  detail::lock_scope lk(mu_);
  auto it = procs_.find(process_id);
  if (it == procs_.end()) return;
  for (auto& entry : it->second.calls) {
    call& c = entry.second;
    if (c.tool)
      c.tool->post(error_frame(c.tool_id, v1::Error::NOT_FOUND,
                               who(it->second) + " detached before answering " + action_name(c.action)));
  }
  procs_.erase(it);
}

void control_host::forget_tool(std::uint64_t tool_process_id) {
  detail::lock_scope lk(mu_);
  for (auto& entry : procs_)
    for (auto& c : entry.second.calls)
      if (c.second.tool_process_id == tool_process_id) c.second.tool = nullptr;
}

control_host::process* control_host::target(client& tool, std::uint64_t id, const v1::Control& m) {
  if (m.pid() == 0 && m.process_id() == 0) {
    tool.post(error_frame(id, v1::Error::REFUSED,
                          std::string(action_name(m.action())) + " names no process: set pid or process_id"));
    return nullptr;
  }
  if (m.pid() == 0) {
    auto it = procs_.find(m.process_id());
    if (it != procs_.end()) return &it->second;
    tool.post(error_frame(id, v1::Error::NOT_FOUND,
                          "no process with process_id " + std::to_string(m.process_id()) +
                              " is attached to this weftd (weft ps lists them)"));
    return nullptr;
  }
  std::vector<std::uint64_t> same;
  for (auto& entry : procs_)
    if (entry.second.info.pid() == m.pid()) same.push_back(entry.first);
  if (same.size() == 1) return &procs_.at(same.front());
  if (same.empty()) {
    // Name the ones there are (a few): the caller may have mistyped.
    std::string there;
    std::size_t n = 0;
    for (auto& entry : procs_) {
      if (n++ == 8) {
        there += ", ...";
        break;
      }
      there += (there.empty() ? "" : ", ") + std::to_string(entry.second.info.pid());
    }
    tool.post(error_frame(id, v1::Error::NOT_FOUND,
                          "no process with pid " + std::to_string(m.pid()) + " is attached to this weftd (" +
                              (there.empty() ? std::string("none is") : "attached: pid " + there) +
                              "; weft ps lists them)"));
    return nullptr;
  }
  std::string ids;
  for (std::uint64_t p : same) ids += (ids.empty() ? "" : ", ") + std::to_string(p);
  tool.post(error_frame(id, v1::Error::REFUSED,
                        "pid " + std::to_string(m.pid()) + " names " + std::to_string(same.size()) +
                            " attached processes (on different hosts; process_ids " + ids +
                            "): name one by process_id"));
  return nullptr;
}

void control_host::request(client& tool, std::uint64_t tool_process_id, std::uint64_t id, const v1::Control& m) {
  const v1::Control::Action a = m.action();
  if (a != v1::Control::DUMP_GOROUTINES && a != v1::Control::EXIT && a != v1::Control::STATS &&
      a != v1::Control::LIST && a != v1::Control::GOROUTINE_STATS && a != v1::Control::INSTRUMENT_OFF &&
      a != v1::Control::CPU_PROFILE && a != v1::Control::TRACE) {
    tool.post(error_frame(id, v1::Error::REFUSED,
                          "Control action " + std::to_string(a) +
                              " is not DUMP_GOROUTINES, STATS, EXIT, LIST, GOROUTINE_STATS, INSTRUMENT_OFF, "
                              "CPU_PROFILE or TRACE"));
    return;
  }
  // How long the stub records before it answers (C4).
  std::chrono::milliseconds recording{0};
  if (a == v1::Control::TRACE) {
    if (m.duration_ms() <= 0 || m.duration_ms() > limits_.max_duration.count()) {
      tool.post(error_frame(id, v1::Error::REFUSED,
                            "TRACE duration_ms " + std::to_string(m.duration_ms()) + " is not between 1 and " +
                                std::to_string(limits_.max_duration.count())));
      return;
    }
    recording = std::chrono::milliseconds(m.duration_ms());
  } else if (a == v1::Control::CPU_PROFILE) {
    // The stub refuses a duration out of its range at once, in its words;
    // one in range answers after it.
    recording = std::chrono::milliseconds(std::clamp<std::int64_t>(m.duration_ms(), 0, limits_.max_duration.count()));
  }
  detail::lock_scope lk(mu_);
  if (a == v1::Control::LIST) {
    wire::frame r;
    r.set_id(id);
    v1::ControlReply* reply = r.mutable_control_reply();
    for (auto& entry : procs_) {
      v1::ProcessEntry* e = reply->add_processes();
      e->set_process_id(entry.first);
      *e->mutable_process() = entry.second.info;
      e->set_attached_unix_ms(entry.second.attached_unix_ms);
      e->set_worker_id(entry.second.worker_id);
    }
    tool.post(r);
    return;
  }
  process* p = target(tool, id, m);
  if (!p) return;
  if (p->calls.size() >= limits_.max_outstanding) {
    tool.post(error_frame(
        id, v1::Error::REFUSED,
        who(*p) + " already has " + std::to_string(p->calls.size()) + " control requests outstanding (the limit)"));
    return;
  }
  const std::uint64_t sid = p->next_id++;
  const std::chrono::nanoseconds allowed =
      limits_.timeout + recording + (a == v1::Control::TRACE ? limits_.trace_build : std::chrono::nanoseconds{0});
  p->calls.emplace(sid,
                   call{&tool, tool_process_id, id, a, std::chrono::steady_clock::now() + allowed, allowed, nullptr});
  wire::frame fwd;
  fwd.set_id(sid);
  v1::Control* c = fwd.mutable_control();
  c->set_action(a);
  c->set_code(m.code());
  if (recording.count() > 0 || a == v1::Control::CPU_PROFILE) c->set_duration_ms(m.duration_ms());
  p->stub->post(fwd);
}

bool control_host::answer(std::uint64_t process_id, const wire::frame& f) {
  detail::lock_scope lk(mu_);
  auto it = procs_.find(process_id);
  if (it == procs_.end()) return false;
  process& p = it->second;
  auto ct = p.calls.find(f.id());
  if (ct == p.calls.end()) return f.id() < p.next_id;  // late, after a timeout (C2)
  call c = ct->second;
  p.calls.erase(ct);
  if (c.inbox != nullptr) c.inbox.try_send(f);
  if (!c.tool) return true;
  wire::frame r;
  if (f.has_control_reply()) {
    r = f;
    r.set_id(c.tool_id);
  } else {
    r = error_frame(c.tool_id, f.error().code() == v1::Error::CODE_UNSPECIFIED ? v1::Error::INTERNAL : f.error().code(),
                    who(p) + ": " + f.error().message());
  }
  c.tool->post(r);
  return true;
}

void control_host::expire(std::uint64_t process_id, std::chrono::steady_clock::time_point now) {
  detail::lock_scope lk(mu_);
  auto it = procs_.find(process_id);
  if (it == procs_.end()) return;
  process& p = it->second;
  for (auto ct = p.calls.begin(); ct != p.calls.end();) {
    if (ct->second.deadline > now) {
      ++ct;
      continue;
    }
    const call& c = ct->second;
    if (c.tool) {
      auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(c.allowed).count();
      c.tool->post(error_frame(c.tool_id, v1::Error::TIMEOUT,
                               who(p) + " did not answer " + action_name(c.action) + " within " +
                                   (ms % 1000 == 0 ? std::to_string(ms / 1000) + " s" : std::to_string(ms) + " ms")));
    }
    ct = p.calls.erase(ct);
  }
}

bool control_host::ask(std::uint64_t process_id, v1::Control::Action action, weft::chan<wire::frame> inbox) {
  detail::lock_scope lk(mu_);
  auto it = procs_.find(process_id);
  if (it == procs_.end() || it->second.calls.size() >= limits_.max_outstanding) return false;
  process& p = it->second;
  const std::uint64_t sid = p.next_id++;
  p.calls.emplace(sid, call{nullptr, 0, 0, action, std::chrono::steady_clock::now() + limits_.timeout, limits_.timeout,
                            std::move(inbox)});
  wire::frame fwd;
  fwd.set_id(sid);
  fwd.mutable_control()->set_action(action);
  p.stub->post(fwd);
  return true;
}

}  // namespace weft::server
