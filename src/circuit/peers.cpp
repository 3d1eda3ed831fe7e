// src/circuit/peers.cpp: the peer table and the run's cross-reference
// machinery (design in peers.hpp).
#include "circuit/peers.hpp"

#include <algorithm>
#include <map>
#include <mutex>
#include <optional>
#include <vector>

#include <weft/go.hpp>
#include <weft/mutex.hpp>
#include <weft/select.hpp>
#include <weft/timer.hpp>
#include <weft/wait_group.hpp>

#include "circuit/identity.hpp"
#include "circuit/run_end.hpp"
#include "circuit/xref_serve.hpp"

namespace weft::circuit::detail {

namespace {

using namespace std::chrono_literals;

// One address's entry: `ready` closes once the first dial is over.
struct slot {
  weft::chan<bool> ready;
  std::shared_ptr<peer_link> link;  // set before ready closes, if the dial worked
  std::optional<remote_error> failure;
};

struct run_state {
  xref_times times;
  weft::wait_group wg;
  weft::chan<bool> stop;  // closed at the run's end: the sweeper returns
  weft::detail::spinlock lock;
  std::map<std::string, std::shared_ptr<slot>> slots GUARDED_BY(lock);
  std::vector<std::shared_ptr<peer_link>> links GUARDED_BY(lock);
  bool stopping GUARDED_BY(lock) = false;
  bool listening GUARDED_BY(lock) = false;
  std::function<void()> listener_stop GUARDED_BY(lock);
  std::size_t dialed GUARDED_BY(lock) = 0;
  std::size_t accepted GUARDED_BY(lock) = 0;
};

weft::mutex start_mu;  // one goroutine starts a run's state
weft::detail::spinlock current_lock;
std::shared_ptr<run_state> the_run GUARDED_BY(current_lock);
std::string listened_at GUARDED_BY(current_lock);  // this run's listener's address, if any

std::shared_ptr<run_state> current() {
  weft::detail::lock_scope lk(current_lock);
  return the_run;
}

void teardown() {
  std::shared_ptr<run_state> rs;
  {
    weft::detail::lock_scope lk(current_lock);
    rs = std::move(the_run);
    listened_at.clear();
  }
  if (!rs) return;
  std::function<void()> stop_listener;
  std::vector<std::shared_ptr<peer_link>> links;
  {
    weft::detail::lock_scope lk(rs->lock);
    rs->stopping = true;
    stop_listener = std::move(rs->listener_stop);
    links = rs->links;
  }
  if (stop_listener) stop_listener();
  names_clear();  // their releases go out before the links close
  for (auto& l : links) l->shutdown("weft::run ended in " + self_id());
  rs->stop.close();
  rs->wg.wait();
  exported().clear();
}

void sweep_loop(run_state& rs) {
  const auto tick = std::clamp<std::chrono::milliseconds>(rs.times.lease / 4, 10ms, 1000ms);
  for (;;) {
    bool stopped = false;
    weft::select(weft::on_recv(rs.stop, [&] { stopped = true; }), weft::on_recv(weft::after(tick), [] {}));
    if (stopped) return;
    exported().sweep(std::chrono::steady_clock::now(), [](const std::string& a) { return peer_live(a); });
  }
}

run_state& ensure() {
  if (auto rs = current()) return *rs;
  std::lock_guard lk(start_mu);
  if (auto rs = current()) return *rs;
  auto rs = std::make_shared<run_state>();
  rs->times = times_from_env();
  exported().set_transit(rs->times.transit);
  at_run_end(teardown);
  {
    weft::detail::lock_scope cl(current_lock);
    the_run = rs;
  }
  rs->wg.add(1);
  weft::go(weft::go_options{.name = "weft: xref sweeper"}, [r = rs.get()] {
    sweep_loop(*r);
    r->wg.done();
  });
  return *rs;
}

}  // namespace

void ensure_xref_run() { (void)ensure(); }

xref_times run_times() { return ensure().times; }

std::string self_address() {
  {
    weft::detail::lock_scope lk(current_lock);
    if (!listened_at.empty()) return listened_at;
  }
  static const std::string a = peer_address(self_id());
  return a;
}

void set_self_address(const std::string& a) {
  weft::detail::lock_scope lk(current_lock);
  listened_at = a;
}

std::shared_ptr<peer_link> peer_for(const std::string& address) {
  run_state& rs = ensure();
  std::shared_ptr<slot> s;
  bool mine = false;
  {
    weft::detail::lock_scope lk(rs.lock);
    if (rs.stopping) throw remote_error(remote_errc::lost, "weft: peer " + address + ": weft::run is ending");
    auto it = rs.slots.find(address);
    // A dead link (peers.hpp) stays with the xrefs that used it, whose
    // calls fail at once; a new reference (a dial, an xref decoded) dials
    // afresh: after a partition heals the peer is back, and the new link's
    // requests are new ones (nothing is sent twice).
    if (it == rs.slots.end() || (it->second->link && it->second->link->dead())) {
      s = std::make_shared<slot>();
      rs.slots[address] = s;
      mine = true;
    } else {
      s = it->second;
    }
  }
  if (!mine) {
    (void)s->ready.recv();
    if (s->link) return s->link;
    throw *s->failure;
  }
  std::shared_ptr<peer_link> link;
  try {
    link = peer_link::dial(address, rs.times.lease);
  } catch (const remote_error& e) {
    {
      weft::detail::lock_scope lk(rs.lock);
      rs.slots.erase(address);  // a failed dial is not remembered
    }
    s->failure.emplace(e);
    s->ready.close();
    throw;
  }
  bool stopping;
  {
    weft::detail::lock_scope lk(rs.lock);
    stopping = rs.stopping;
    if (!stopping) {
      rs.links.push_back(link);
      ++rs.dialed;
    }
    s->link = link;  // under the lock: peer_for and adopt read it to see a dead link
  }
  if (!stopping) link->start(rs.wg);
  s->ready.close();
  if (stopping) link->close("weft::run ended");
  return link;
}

void adopt(std::shared_ptr<peer_link> link) {
  std::shared_ptr<run_state> rs = current();
  bool stopping = !rs;
  bool reborn = false;
  if (rs) {
    weft::detail::lock_scope lk(rs->lock);
    stopping = rs->stopping;
    if (!stopping) {
      rs->links.push_back(link);
      ++rs->accepted;
      auto it = rs->slots.find(link->address());
      // A dead peer that dials again is a new weft::run of that process
      // (or the same run's, after a partition healed): its link replaces
      // the dead one.
      reborn = it != rs->slots.end() && it->second->link && it->second->link->dead();
      if (it == rs->slots.end() || reborn) {
        auto s = std::make_shared<slot>();
        s->link = link;
        s->ready.close();
        rs->slots[link->address()] = std::move(s);
      }
    }
  }
  if (stopping) {
    link->close("weft::run ended");
    return;
  }
  // Before the link reads: the new incarnation's references come after.
  if (reborn)
    exported().drop_holder(link->address());
  else
    exported().renew(link->address());
  link->start(rs->wg);
}

bool peer_live(const std::string& address) {
  std::shared_ptr<run_state> rs = current();
  if (!rs) return false;
  weft::detail::lock_scope lk(rs->lock);
  for (const auto& l : rs->links)
    if (l->address() == address && !l->dead()) return true;
  return false;
}

bool register_listener(std::function<void()> stop) {
  run_state& rs = ensure();
  weft::detail::lock_scope lk(rs.lock);
  if (rs.listening || rs.stopping) return false;
  rs.listening = true;
  rs.listener_stop = std::move(stop);
  return true;
}

void unregister_listener() {
  run_state& rs = ensure();
  weft::detail::lock_scope lk(rs.lock);
  rs.listening = false;
  rs.listener_stop = nullptr;
}

void go_counted(const char* name, std::function<void()> f) {
  run_state& rs = ensure();
  rs.wg.add(1);
  weft::go(weft::go_options{.name = name}, [f = std::move(f), r = &rs] {
    f();
    r->wg.done();
  });
}

std::size_t links_dialed() {
  std::shared_ptr<run_state> rs = current();
  if (!rs) return 0;
  weft::detail::lock_scope lk(rs->lock);
  return rs->dialed;
}

std::size_t links_accepted() {
  std::shared_ptr<run_state> rs = current();
  if (!rs) return 0;
  weft::detail::lock_scope lk(rs->lock);
  return rs->accepted;
}

}  // namespace weft::circuit::detail
