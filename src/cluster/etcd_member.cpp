// src/cluster/etcd_member.cpp: this weftd as a host of the circuit, in
// etcd (etcd_member.hpp).
#include "cluster/etcd_member.hpp"

#include <algorithm>
#include <exception>
#include <optional>
#include <stdexcept>
#include <utility>

#include <weft/errors.hpp>
#include <weft/go.hpp>
#include <weft/select.hpp>
#include <weft/timer.hpp>

#include "server/worker_host.hpp"

namespace weft::cluster {

std::string etcd_member::selector_base(std::string s) {
  if (s.size() >= 3 && s.compare(s.size() - 3, 3, "...") == 0) s.resize(s.size() - 3);
  while (!s.empty() && s.back() == '/') s.pop_back();
  return s;
}

etcd_member::etcd_member(member_options o, server::host_identity self, std::function<std::uint32_t()> workers_now,
                         std::function<void(std::string_view)> log)
    : opts_(std::move(o)),
      self_(std::move(self)),
      workers_now_(std::move(workers_now)),
      log_(std::move(log)),
      etcd_(opts_.etcd) {}

etcd_member::~etcd_member() { stop(); }

void etcd_member::note_down(const std::string& what) {
  detail::lock_scope lk(mu_);
  if (down_logged_ || stopping_) return;
  down_logged_ = true;
  lk.unlock();
  log_("etcd: " + what + "; this host's workers keep running, and it rejoins when etcd answers");
}

void etcd_member::join() {
  etcd::lease l = etcd_.grant(opts_.ttl);
  std::string value = server::collect_host_info(self_, workers_now_()).SerializeAsString();
  if (!etcd_.put_if_absent(host_key(), value, l.id)) {
    // Ours from before a restart (same address): taken over. Another
    // weftd's: refused (M3).
    std::optional<etcd::key_value> cur = etcd_.get(host_key());
    v1::HostInfo other;
    if (cur && other.ParseFromString(cur->value) && other.address() != self_.address) {
      etcd_.revoke(l.id);
      throw std::runtime_error("another weftd, at " + other.address() + ", is host \"" + self_.name +
                               "\" in this circuit (etcd " + host_key() + "): give this one another --name");
    }
    etcd_.put(host_key(), value, l.id);
  }
  auto keeper = std::make_unique<etcd::lease_keeper>(etcd_, l);
  bool was_down;
  {
    detail::lock_scope lk(mu_);
    std::swap(keeper, host_keeper_);
    host_lease_ = l.id;
    joined_ = true;
    was_down = std::exchange(down_logged_, false);
  }
  keeper.reset();  // the lost lease's keeper, outside the lock (it parks)
  log_(std::string(was_down ? "etcd: back; " : "") + "joined the circuit as host \"" + self_.name + "\" (etcd " +
       opts_.etcd.front() + ", lease TTL " + std::to_string(opts_.ttl.count()) + " s)");
}

void etcd_member::start() {
  try {
    join();
  } catch (const remote_error& e) {
    note_down(e.what());
  }
  loops_.add(2);
  weft::go(weft::go_options{.name = "weftd etcd joiner"}, [this] {
    joiner_loop();
    loops_.done();
  });
  weft::go(weft::go_options{.name = "weftd etcd host watch"}, [this] {
    watcher_loop();
    loops_.done();
  });
}

void etcd_member::stop() {
  std::map<std::string, worker_entry> workers;
  std::unique_ptr<etcd::lease_keeper> host_keeper;
  etcd::lease_id host_lease;
  bool down;
  {
    detail::lock_scope lk(mu_);
    if (stopping_) return;
    stopping_ = true;
    workers.swap(workers_);
    host_keeper = std::move(host_keeper_);
    host_lease = host_lease_;
    down = down_logged_;
  }
  stop_.close();
  loops_.wait();
  for (auto& [id, w] : workers) w.keeper.reset();
  host_keeper.reset();
  if (down) return;  // nothing to revoke from: the leases lapse by themselves
  try {
    for (auto& [id, w] : workers)
      if (w.lease != 0) etcd_.revoke(w.lease);
    if (host_lease != 0) etcd_.revoke(host_lease);
  } catch (const std::exception& e) {
    log_(std::string("etcd: leaving: ") + e.what() + "; this host's entries lapse within " +
         std::to_string(opts_.ttl.count()) + " s");
  }
}

void etcd_member::publish(const std::string& id, worker_entry& w) {
  etcd::lease l = etcd_.grant(opts_.ttl);
  for (const v1::AnchorEntry& e : w.entries) etcd_.put(anchor_key(e), e.SerializeAsString(), l.id);
  auto keeper = std::make_unique<etcd::lease_keeper>(etcd_, l);
  detail::lock_scope lk(mu_);
  auto it = workers_.find(id);
  if (it == workers_.end()) {
    // It ended while we wrote: its entries go with the lease.
    lk.unlock();
    keeper.reset();
    etcd_.revoke(l.id);
    return;
  }
  std::swap(it->second.keeper, keeper);
  it->second.lease = l.id;
  lk.unlock();
  keeper.reset();  // a lost lease's keeper, if any
}

void etcd_member::worker_started(const std::string& worker_id, const std::vector<v1::AnchorEntry>& entries) {
  {
    detail::lock_scope lk(mu_);
    if (stopping_) return;
    workers_[worker_id].entries = entries;
    loops_.add(1);  // under mu_, before stop() can wait: stop() outwaits it
  }
  // Off the spawn's path (M2): a goroutine writes the entries. It uses
  // etcd_ and mu_, so the member must outlive it: stop() waits for it.
  weft::go(weft::go_options{.name = "weftd etcd publish"}, [this, worker_id] {
    publish_started(worker_id);
    loops_.done();
  });
}

void etcd_member::publish_started(const std::string& worker_id) {
  worker_entry w;
  {
    detail::lock_scope lk(mu_);
    auto it = workers_.find(worker_id);
    if (it == workers_.end()) return;
    w.entries = it->second.entries;
  }
  try {
    publish(worker_id, w);
  } catch (const std::exception& e) {
    note_down(std::string("publishing worker ") + worker_id + ": " + e.what());
  }
}

void etcd_member::worker_ended(const std::string& worker_id) {
  worker_entry w;
  {
    detail::lock_scope lk(mu_);
    auto it = workers_.find(worker_id);
    if (it == workers_.end()) return;
    w = std::move(it->second);
    workers_.erase(it);
  }
  w.keeper.reset();
  if (w.lease == 0) return;
  try {
    etcd_.revoke(w.lease);  // M1: every entry of it at once
  } catch (const std::exception& e) {
    note_down(std::string("removing worker ") + worker_id + ": " + e.what());
  }
}

std::vector<v1::HostInfo> etcd_member::hosts() {
  std::vector<v1::HostInfo> out;
  {
    detail::lock_scope lk(mu_);
    for (const auto& [name, h] : hosts_)
      if (name != self_.name) out.push_back(h);
  }
  out.push_back(server::collect_host_info(self_, workers_now_()));
  return out;
}

std::vector<v1::AnchorEntry> etcd_member::anchors(const std::string& selector) {
  etcd::snapshot s = etcd_.get_prefix(opts_.prefix + "/anchors" + selector_base(selector));
  std::vector<v1::AnchorEntry> out;
  for (const etcd::key_value& kv : s.kvs) {
    v1::AnchorEntry e;
    if (!e.ParseFromString(kv.value)) continue;  // not ours: another writer's key
    if (server::worker_host::selects(selector, e.path())) out.push_back(std::move(e));
  }
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.path() < b.path(); });
  return out;
}

void etcd_member::joiner_loop() {
  for (;;) {
    bool stop = false;
    weft::select(weft::on_recv(stop_, [&](std::optional<bool>) { stop = true; }),
                 weft::on_recv(weft::after(opts_.refresh), [] {}));
    if (stop) return;
    bool rejoin;
    etcd::lease_id lease;
    std::vector<std::string> unpublished;
    {
      detail::lock_scope lk(mu_);
      rejoin = !joined_ || (host_keeper_ && host_keeper_->lost());
      lease = host_lease_;
      for (auto& [id, w] : workers_)
        if (rejoin || w.lease == 0 || (w.keeper && w.keeper->lost())) unpublished.push_back(id);
    }
    try {
      if (rejoin) {
        join();
      } else {
        etcd_.put(host_key(), server::collect_host_info(self_, workers_now_()).SerializeAsString(), lease);
        bool was_down;
        {
          detail::lock_scope lk(mu_);
          was_down = std::exchange(down_logged_, false);
        }
        if (was_down) log_("etcd: back");
      }
      // Workers whose leases lapsed while etcd was away, or that started
      // then: written again under fresh leases.
      for (const std::string& id : unpublished) {
        worker_entry w;
        {
          detail::lock_scope lk(mu_);
          auto it = workers_.find(id);
          if (it == workers_.end()) continue;
          w.entries = it->second.entries;
        }
        publish(id, w);
      }
    } catch (const std::runtime_error& e) {
      note_down(e.what());
    }
  }
}

void etcd_member::watcher_loop() {
  const std::string prefix = opts_.prefix + "/hosts/";
  std::int64_t from = 0;  // 0: read the whole table first
  for (;;) {
    try {
      if (from == 0) {
        etcd::snapshot s = etcd_.get_prefix(prefix);
        std::map<std::string, v1::HostInfo> table;
        for (const etcd::key_value& kv : s.kvs) {
          v1::HostInfo h;
          if (h.ParseFromString(kv.value)) table[h.name()] = h;
        }
        detail::lock_scope lk(mu_);
        hosts_.swap(table);
        from = s.revision + 1;
      }
      etcd::watcher w = etcd_.watch(prefix, from);
      for (bool open = true; open;) {
        bool stop = false;
        weft::select(weft::on_recv(stop_, [&](std::optional<bool>) { stop = true; }),
                     weft::on_recv(w.events(), [&](std::optional<etcd::event> ev) {
                       if (!ev) {
                         open = false;
                         return;
                       }
                       std::string name = ev->kv.key.substr(prefix.size());
                       detail::lock_scope lk(mu_);
                       v1::HostInfo h;
                       if (ev->type == etcd::event::kind::erase)
                         hosts_.erase(name);
                       else if (h.ParseFromString(ev->kv.value))
                         hosts_[name] = std::move(h);
                     }));
        if (stop) return;
      }
      from = w.next_revision();
      if (std::exception_ptr err = w.error()) std::rethrow_exception(err);
    } catch (const remote_error& e) {
      if (e.kind() == remote_errc::refused) from = 0;  // compacted: read the table again
      note_down(std::string("watching hosts: ") + e.what());
      bool stop = false;
      weft::select(weft::on_recv(stop_, [&](std::optional<bool>) { stop = true; }),
                   weft::on_recv(weft::after(std::chrono::seconds(1)), [] {}));
      if (stop) return;
    }
  }
}

}  // namespace weft::cluster
