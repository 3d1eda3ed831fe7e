// src/circuit/exports.cpp: the exports table and its reference counting
// (the protocol and invariants are in exports.hpp).
#include "circuit/exports.hpp"

#include <atomic>
#include <cstdlib>
#include <utility>
#include <vector>

namespace weft::circuit::detail {

namespace {

std::chrono::milliseconds env_ms(const char* name, std::chrono::milliseconds fallback) {
  const char* v = std::getenv(name);
  if (v == nullptr || *v == '\0') return fallback;
  char* end = nullptr;
  long long ms = std::strtoll(v, &end, 10);
  if (end == v || *end != '\0' || ms <= 0) return fallback;
  return std::chrono::milliseconds(ms);
}

// Object ids: one counter for the process's life (exports.hpp: never reused).
std::atomic<std::uint64_t> next_id{1};

}  // namespace

xref_times times_from_env() {
  xref_times t;
  t.lease = env_ms("WEFT_XREF_LEASE_MS", t.lease);
  t.transit = env_ms("WEFT_XREF_TRANSIT_MS", t.transit);
  return t;
}

exports& exported() {
  static exports* e = new exports;  // never destroyed: handles may end after main
  return *e;
}

void exports::set_transit(std::chrono::milliseconds t) {
  weft::detail::lock_scope lk(lock_);
  transit_ = t;
}

std::uint64_t exports::add(std::shared_ptr<void> obj, const void* raw, const std::string& type, bool perm) {
  weft::detail::lock_scope lk(lock_);
  auto known = by_raw_.find(raw);
  if (known != by_raw_.end()) {
    entry& e = objects_.at(known->second);
    if (e.type == type) {
      e.perm = e.perm || perm;
      ++e.holders[self];
      return known->second;
    }
  }
  std::uint64_t id = next_id.fetch_add(1, std::memory_order_relaxed);
  entry& e = objects_[id];
  e.obj = std::move(obj);
  e.raw = raw;
  e.type = type;
  e.perm = perm;
  e.holders[self] = 1;
  by_raw_[raw] = id;
  return id;
}

std::optional<exports::found> exports::find(std::uint64_t id) {
  weft::detail::lock_scope lk(lock_);
  auto it = objects_.find(id);
  if (it == objects_.end()) return std::nullopt;
  return found{it->second.obj, it->second.type};
}

std::optional<std::string> exports::type_of(std::uint64_t id) {
  weft::detail::lock_scope lk(lock_);
  auto it = objects_.find(id);
  if (it == objects_.end()) return std::nullopt;
  return it->second.type;
}

void exports::collect(std::uint64_t id, std::shared_ptr<void>* dead) {
  auto it = objects_.find(id);
  if (it == objects_.end()) return;
  const entry& e = it->second;
  if (e.perm || e.pins > 0 || !e.holders.empty()) return;
  *dead = std::move(it->second.obj);
  auto r = by_raw_.find(e.raw);
  if (r != by_raw_.end() && r->second == id) by_raw_.erase(r);
  objects_.erase(it);
}

void exports::pin(std::uint64_t id, const std::string& token) {
  weft::detail::lock_scope lk(lock_);
  auto t = tokens_.find(token);
  if (t != tokens_.end()) {
    // Acquired before its pin arrived (exports.hpp): the pair is complete.
    if (!t->second.pinned) tokens_.erase(t);
    return;
  }
  auto it = objects_.find(id);
  if (it == objects_.end()) return;
  ++it->second.pins;
  tokens_.emplace(token, token_state{id, clock::now() + transit_, true});
}

bool exports::acquire(std::uint64_t id, const std::string& holder, const std::string& token) {
  weft::detail::lock_scope lk(lock_);
  auto it = objects_.find(id);
  if (it == objects_.end()) return false;
  ++it->second.holders[holder];
  auto t = tokens_.find(token);
  if (t != tokens_.end() && t->second.pinned) {
    auto pinned = objects_.find(t->second.id);
    if (pinned != objects_.end() && pinned->second.pins > 0) --pinned->second.pins;
    tokens_.erase(t);
  } else if (t == tokens_.end() && !token.empty()) {
    tokens_.emplace(token, token_state{id, clock::now() + transit_, false});
  }
  return true;
}

void exports::release(std::uint64_t id, const std::string& holder, std::uint32_t n) {
  std::shared_ptr<void> dead;
  {
    weft::detail::lock_scope lk(lock_);
    auto it = objects_.find(id);
    if (it == objects_.end()) return;
    auto h = it->second.holders.find(holder);
    if (h == it->second.holders.end()) return;  // I3: nothing to release
    h->second -= std::min<std::uint64_t>(h->second, n);
    if (h->second == 0) it->second.holders.erase(h);
    collect(id, &dead);
  }
  // dead's object is destroyed here, outside the lock.
}

void exports::holder_lost(const std::string& holder, clock::time_point expires) {
  weft::detail::lock_scope lk(lock_);
  auto [it, fresh] = leases_.try_emplace(holder, expires);
  if (!fresh && it->second < expires) it->second = expires;
}

void exports::renew(const std::string& holder) {
  weft::detail::lock_scope lk(lock_);
  leases_.erase(holder);
}

void exports::drop_holder(const std::string& holder) {
  std::vector<std::shared_ptr<void>> dead;
  weft::detail::lock_scope lk(lock_);
  leases_.erase(holder);
  std::vector<std::uint64_t> touched;
  for (auto& [id, e] : objects_)
    if (e.holders.erase(holder) > 0) touched.push_back(id);
  for (std::uint64_t id : touched) {
    dead.emplace_back();
    collect(id, &dead.back());
  }
  lk.unlock();  // the objects go here, outside the lock
}

void exports::sweep(clock::time_point now, const std::function<bool(const std::string&)>& live) {
  std::vector<std::string> lost;
  {
    weft::detail::lock_scope lk(lock_);
    for (const auto& [holder, expires] : leases_)
      if (expires <= now) lost.push_back(holder);
  }
  std::vector<std::string> expired;
  for (const std::string& h : lost) {
    if (live(h))
      renew(h);  // heard from again on another connection
    else
      expired.push_back(h);
  }
  std::vector<std::shared_ptr<void>> dead;
  {
    weft::detail::lock_scope lk(lock_);
    for (const std::string& h : expired) leases_.erase(h);
    std::vector<std::uint64_t> touched;
    for (auto& [id, e] : objects_) {
      bool changed = false;
      for (const std::string& h : expired) changed |= e.holders.erase(h) > 0;
      if (changed) touched.push_back(id);
    }
    for (auto t = tokens_.begin(); t != tokens_.end();) {
      if (t->second.expires > now) {
        ++t;
        continue;
      }
      if (t->second.pinned) {
        auto it = objects_.find(t->second.id);
        if (it != objects_.end() && it->second.pins > 0) {
          --it->second.pins;
          touched.push_back(t->second.id);
        }
      }
      t = tokens_.erase(t);
    }
    for (std::uint64_t id : touched) {
      dead.emplace_back();
      collect(id, &dead.back());
    }
  }
}

std::size_t exports::size() {
  weft::detail::lock_scope lk(lock_);
  return objects_.size();
}

void exports::clear() {
  std::unordered_map<std::uint64_t, entry> gone;
  {
    weft::detail::lock_scope lk(lock_);
    gone.swap(objects_);
    by_raw_.clear();
    tokens_.clear();
    leases_.clear();
  }
}

}  // namespace weft::circuit::detail
