// src/remote/migrate.cpp: migratable goroutines in the stub (design in
// migration.hpp): the registry of functions, each goroutine's context, the
// server's pushes, and weft/migrate.hpp's entry points.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <map>
#include <mutex>
#include <string>
#include <unordered_map>
#include <utility>

#include <weft/errors.hpp>
#include <weft/go.hpp>
#include <weft/goroutine_local.hpp>
#include <weft/migrate.hpp>
#include <weft/timer.hpp>

#include "remote/migration.hpp"
#include "remote/stub.hpp"
#include "wire/utf8.hpp"

namespace weft {

namespace remote::detail {

namespace {

struct registered {
  std::string signature;
  weft::detail::migratable_start start;
};

// Filled before main (weft/migrate.hpp: migratable_entry::registered), read after.
std::map<std::string, registered>& registry() {
  static std::map<std::string, registered> r;
  return r;
}

// The running contexts, by goroutine id, for the reader's pushes.
weft::detail::spinlock contexts_lock;
std::unordered_map<std::string, migration_ctx*>& contexts() {
  static std::unordered_map<std::string, migration_ctx*> c;
  return c;
}

std::atomic<bool> accepting{false};
std::atomic<std::uint64_t> arrived{0};  // goroutines moved here (serve_migrations)

// States arriving in pieces (on_migrate_in), by goroutine id.
weft::detail::spinlock incoming_lock;
std::unordered_map<std::string, v1::MigrateIn>& incoming() {
  static std::unordered_map<std::string, v1::MigrateIn> m;
  return m;
}

std::size_t ctx_key() {
  static const std::size_t key = weft::detail::gls_new_key();
  return key;
}

void send_or_ignore(stub& s, const v1::Frame& f) {
  try {
    s.send(f);
  } catch (const remote_error&) {}  // the connection is going: the stub ends the process (stub.hpp)
}

}  // namespace

std::vector<std::pair<std::string, std::uint64_t>> migratable_running() {
  std::vector<std::pair<std::string, std::uint64_t>> r;
  weft::detail::lock_scope lk(contexts_lock);
  for (const auto& [id, ctx] : contexts()) r.emplace_back(id, ctx->runtime_id());
  return r;
}

std::shared_ptr<wire::peer_tally> migratable_tally(const std::string& id) {
  weft::detail::lock_scope lk(contexts_lock);
  auto it = contexts().find(id);
  return it == contexts().end() ? nullptr : it->second->tally();
}

migration_ctx* current_migration() noexcept {
  if (current() == nullptr) return nullptr;
  try {
    return static_cast<migration_ctx*>(weft::detail::gls_get(ctx_key()));
  } catch (...) {
    return nullptr;  // not in a goroutine
  }
}

std::stop_token migration_ctx::interrupt_token() {
  weft::detail::lock_scope lk(lock_);
  if (!requested_.load(std::memory_order_relaxed) && interrupt_.stop_requested()) interrupt_ = std::stop_source();
  return interrupt_.get_token();
}

void migration_ctx::ask(std::uint64_t ticket) {
  weft::detail::lock_scope lk(lock_);
  ticket_ = ticket;
  requested_.store(true, std::memory_order_release);
  interrupt_.request_stop();  // readies a waiting remote operation; does not park
}

void migration_ctx::verdict(bool moved) {
  weft::detail::lock_scope lk(lock_);
  if (parked_) {
    moved_ = moved;
    verdict_.release();
    return;
  }
  requested_.store(false, std::memory_order_relaxed);  // G2: it had not stopped
}

void migration_ctx::safe_point() {
  if (!requested_.load(std::memory_order_acquire)) return;
  std::uint64_t ticket = 0;
  {
    weft::detail::lock_scope lk(lock_);
    if (!requested_.load(std::memory_order_relaxed)) return;  // G2
    parked_ = true;
    ticket = ticket_;
  }
  stub* s = current();
  v1::Frame f;
  v1::MigrateState* st = f.mutable_migrate_state();
  st->set_goroutine(id_);
  st->set_epoch(epoch_);
  st->set_ticket(ticket);
  std::string bytes;
  try {
    bytes = ops_.encode(ops_.state);
  } catch (const std::exception& e) {
    st->set_error(weft::wire::utf8_text(std::string("its state would not encode: ") + e.what()));
    {
      weft::detail::lock_scope lk(lock_);
      parked_ = false;
      requested_.store(false, std::memory_order_relaxed);
    }
    send_or_ignore(*s, f);
    return;
  }
  st->set_total(bytes.size());
  std::size_t at = 0;
  do {
    const std::size_t n = std::min(state_piece, bytes.size() - at);
    st->set_offset(at);
    st->set_state(bytes.substr(at, n));
    send_or_ignore(*s, f);
    at += n;
  } while (at < bytes.size());
  bytes = std::string();
  verdict_.acquire();  // G1
  bool moved = false;
  {
    weft::detail::lock_scope lk(lock_);
    parked_ = false;
    requested_.store(false, std::memory_order_relaxed);
    moved = moved_;
  }
  if (moved) throw goroutine_moved{};
}

void on_migrate_out(stub& s, const v1::MigrateOut& m) {
  {
    weft::detail::lock_scope lk(contexts_lock);
    auto it = contexts().find(m.goroutine());
    if (it != contexts().end() && it->second->epoch() == m.epoch()) {
      it->second->ask(m.ticket());
      return;
    }
  }
  v1::Frame f;
  v1::MigrateState* st = f.mutable_migrate_state();
  st->set_goroutine(m.goroutine());
  st->set_epoch(m.epoch());
  st->set_ticket(m.ticket());
  st->set_error("it is not running in this process (it ended)");
  send_or_ignore(s, f);
}

void on_migrate_verdict(const v1::MigrateVerdict& m) {
  weft::detail::lock_scope lk(contexts_lock);
  auto it = contexts().find(m.goroutine());
  if (it != contexts().end() && it->second->epoch() == m.epoch()) it->second->verdict(m.moved());
}

void on_migrate_in(stub& s, const v1::MigrateIn& piece) {
  // A state in pieces is put together here first (the reader's: in order).
  v1::MigrateIn m;
  if (piece.total() > piece.state().size()) {
    weft::detail::lock_scope lk(incoming_lock);
    v1::MigrateIn& whole = incoming()[piece.goroutine()];
    if (piece.offset() == 0) {
      whole = piece;
      whole.mutable_state()->reserve(piece.total());
      return;
    }
    if (whole.ticket() != piece.ticket() || whole.state().size() != piece.offset()) {
      incoming().erase(piece.goroutine());
      return;  // a piece of a move the server gave up on: it says so itself
    }
    whole.mutable_state()->append(piece.state());
    if (whole.state().size() < whole.total()) return;
    m = std::move(whole);
    incoming().erase(piece.goroutine());
  } else {
    m = piece;
  }
  // Decoding the state may open remote channels (requests): not on the reader.
  weft::go(weft::go_options{.name = "weft: migrate in"}, [&s, m] {
    std::string error;
    auto it = registry().find(m.function());
    if (!accepting.load()) {
      error = "this process does not accept migrated goroutines (it never called weft::accept_migrations)";
    } else if (it == registry().end()) {
      error = "this binary has no migratable function " + m.function();
    } else if (it->second.signature != m.signature()) {
      error = "its state here is " + it->second.signature + ", not " + m.signature();
    } else {
      try {
        it->second.start(m.goroutine(), m.epoch(), m.state());
        arrived.fetch_add(1);
      } catch (const std::exception& e) {
        error = std::string("its state did not decode: ") + e.what();
      }
    }
    v1::Frame f;
    v1::MigrateInResult* r = f.mutable_migrate_in_result();
    r->set_goroutine(m.goroutine());
    r->set_epoch(m.epoch());
    r->set_ticket(m.ticket());
    r->set_error(weft::wire::utf8_text(error));
    send_or_ignore(s, f);
  });
}

}  // namespace remote::detail

namespace detail {

bool register_migratable(std::string name, std::string signature, migratable_start start) {
  remote::detail::registry()[std::move(name)] = remote::detail::registered{std::move(signature), start};
  return true;
}

std::pair<std::string, std::uint64_t> migratable_begin(const std::string& name, const std::string& signature) {
  remote::detail::stub* s = remote::detail::current();
  if (s == nullptr || !s->has_capability("migrate")) return {"", 0};
  remote::detail::v1::Frame req;
  req.mutable_migrate_begin()->set_function(name);
  req.mutable_migrate_begin()->set_signature(signature);
  remote::detail::v1::Frame r = s->call(std::move(req));
  if (r.has_error()) remote::detail::throw_error(r.error(), "starting migratable goroutine " + name);
  if (!r.has_migrate_ticket())
    throw remote_error(remote_errc::protocol,
                       "runtime server " + s->address() + " answered MigrateBegin with something else");
  return {r.migrate_ticket().goroutine(), r.migrate_ticket().epoch()};
}

void run_migratable(std::string id, std::uint64_t epoch, migratable_ops ops) {
  remote::detail::stub* s = remote::detail::current();
  if (id.empty() || s == nullptr) return ops.call(ops.state);  // not attached: never moves
  remote::detail::migration_ctx ctx(id, epoch, ops);
  {
    weft::detail::lock_scope lk(remote::detail::contexts_lock);
    remote::detail::contexts()[id] = &ctx;
  }
  gls_set(remote::detail::ctx_key(), &ctx, nullptr);
  auto leave = [&] {
    gls_set(remote::detail::ctx_key(), nullptr, nullptr);
    weft::detail::lock_scope lk(remote::detail::contexts_lock);
    remote::detail::contexts().erase(id);
  };
  auto ended = [&](const std::string& what) {
    remote::detail::v1::Frame f;
    f.mutable_migrate_end()->set_goroutine(id);
    f.mutable_migrate_end()->set_epoch(epoch);
    f.mutable_migrate_end()->set_what(weft::wire::utf8_text(what));
    remote::detail::send_or_ignore(*s, f);
  };
  try {
    ops.call(ops.state);
  } catch (const remote::detail::goroutine_moved&) {
    leave();  // it runs elsewhere now: nothing more to say
    return;
  } catch (const std::exception& e) {
    leave();
    ended(e.what());
    throw;
  } catch (...) {
    leave();
    ended("an exception that is not a std::exception");
    throw;
  }
  leave();
  ended("");
}

}  // namespace detail

namespace remote::detail {

int serve_migrations() {
  stub* s = current();
  if (s == nullptr) return 2;
  accept_migrations();
  // Until the goroutines it was started for have come and gone; a process
  // that none reaches in 30 s was not needed after all.
  const auto start = std::chrono::steady_clock::now();
  for (;;) {
    weft::this_goroutine::sleep_for(std::chrono::milliseconds(50));
    bool any = false;
    {
      weft::detail::lock_scope lk(contexts_lock);
      any = !contexts().empty();
    }
    if (any) continue;
    if (arrived.load() > 0) return 0;
    if (std::chrono::steady_clock::now() - start > std::chrono::seconds(30)) {
      std::fprintf(stderr, "weft: started to run a moved goroutine (WEFT_MIGRATE_HOST=1), but none came in 30 s\n");
      return 0;
    }
  }
}

}  // namespace remote::detail

void accept_migrations() {
  remote::detail::stub* s = remote::detail::current();
  if (s == nullptr || !s->has_capability("migrate")) return;
  remote::detail::accepting.store(true);
  remote::detail::v1::Frame req;
  req.mutable_migrate_host();
  remote::detail::v1::Frame r = s->call(std::move(req));
  if (r.has_error()) remote::detail::throw_error(r.error(), "accepting migrated goroutines");
}

namespace this_goroutine {
void checkpoint() {
  if (remote::detail::migration_ctx* m = remote::detail::current_migration()) m->safe_point();
}
}  // namespace this_goroutine

}  // namespace weft
