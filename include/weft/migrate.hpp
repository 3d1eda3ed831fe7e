// weft/migrate.hpp: goroutines that move between processes
// (docs/migration.md).
//
//   struct tally {
//     weft::remote::chan<long> in;  // crosses by name: the server's channel
//     long sum = 0, count = 0;
//   };
//   WEFT_FIELDS(tally, in, sum, count);
//
//   void consume(tally& t) {
//     while (auto v = t.in.recv()) {  // a safe point while it waits
//       t.sum += *v;
//       ++t.count;
//     }
//   }
//
//   std::string id = weft::go_migratable<consume>(tally{weft::remote::chan<long>("numbers", 64)});
//
// A migratable goroutine runs f(state) like weft::go, and the runtime
// server it is attached to may stop it at a safe point, ship its state and
// resume it in another process of the same binary (one that called
// weft::accept_migrations), on this host or another (`weft migrate`).
//
// What moves is `state`, by weft::codec, and nothing else: C++ cannot
// carry a stack between processes. Resuming calls f(state) again, from its
// start, with the state as it was at the safe point. So keep in `state`
// everything f needs to go on, and make every safe point a place where
// starting f over with that state is right (the top of a loop, as above).
// Safe points:
//   - weft::this_goroutine::checkpoint();
//   - while a remote::chan's recv or send (without a stop token) waits: the
//     operation is withdrawn first, so no value is lost or taken twice;
//   - while a remote::var's wait waits (it is cancelled first; a wait
//     changes nothing, so it is retried after the safe point).
// Handles that cross (weft::remote::chan, remote::var, xref) keep working
// in the new process; a local weft::chan or a pointer does not compile
// into a state (weft::codec has no encoding for them).
//
// Not attached to a runtime server, the goroutine never moves: safe points
// cost a load each and do nothing.
#pragma once

#include <weft/detail/cxx20.hpp>

#include <cstdint>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

#include <weft/codec.hpp>
#include <weft/go.hpp>

namespace weft {

namespace detail {

// The state of a migratable goroutine, type-erased for the runtime.
struct migratable_ops {
  void* state;
  std::string (*encode)(const void* state);
  void (*call)(void* state);
};
// Resumes a moved goroutine: decodes its state and starts it (a
// goroutine), or throws (bytes that are not a state).
using migratable_start = void (*)(std::string id, std::uint64_t epoch, std::string_view state);

// src/remote/migrate.cpp.
bool register_migratable(std::string name, std::string signature, migratable_start start);
// The server's id and epoch for a new migratable goroutine; {"", 0} when
// not attached.
std::pair<std::string, std::uint64_t> migratable_begin(const std::string& name, const std::string& signature);
// The body of a migratable goroutine.
void run_migratable(std::string id, std::uint64_t epoch, migratable_ops ops);

// F's name, as the compiler spells it: the same in every process of one
// binary, which is all a move needs.
template <auto F>
std::string migratable_name() {
  std::string_view p = __PRETTY_FUNCTION__;
  std::size_t at = p.find("F = ");
  if (at == std::string_view::npos) return std::string(p);
  p.remove_prefix(at + 4);
  return std::string(p.substr(0, p.find_first_of(";]")));
}

template <auto F, class State>
struct migratable_entry {
  static void call(void* s) { F(*static_cast<State*>(s)); }
  static std::string encode(const void* s) { return weft::encode(*static_cast<const State*>(s)); }
  static void start(std::string id, std::uint64_t epoch, std::string_view bytes) {
    State st = weft::decode<State>(bytes);
    weft::go([id = std::move(id), epoch, st = std::move(st)]() mutable {
      run_migratable(std::move(id), epoch, migratable_ops{&st, &encode, &call});
    });
  }
  // Every process of the binary knows F before main (a move may bring it).
  static inline const bool registered = register_migratable(migratable_name<F>(), codec<State>::signature(), &start);
};

}  // namespace detail

// Starts f(state) in a migratable goroutine; returns its id in the runtime
// server ("M" + 16 hex digits: `weft migrate` names it so), or "" when not
// attached. F: a function `void f(State&)`.
template <auto F, class State>
std::string go_migratable(State state) {
  static_assert(std::is_invocable_v<decltype(F), State&>,
                "weft::go_migratable<f>(state): f must be callable as f(State&)");
  static_assert(detail::codec_supported<State>,
                "weft::go_migratable: the state must cross processes by weft::codec (list its fields with "
                "WEFT_FIELDS); a local weft::chan or a pointer cannot move: use weft::remote::chan, or an xref");
  if constexpr (std::is_invocable_v<decltype(F), State&> && detail::codec_supported<State>) {  // one error above
    (void)detail::migratable_entry<F, State>::registered;
    using entry = detail::migratable_entry<F, State>;
    auto [id, epoch] = detail::migratable_begin(detail::migratable_name<F>(), codec<State>::signature());
    weft::go([id = id, epoch = epoch, st = std::move(state)]() mutable {
      detail::run_migratable(std::move(id), epoch, detail::migratable_ops{&st, &entry::encode, &entry::call});
    });
    return id;
  } else {
    return {};
  }
}

// From now until weft::run ends, this process accepts goroutines moved
// from other processes of its binary. Not attached: nothing.
void accept_migrations();

namespace this_goroutine {
// A safe point: when the runtime server asked to move this goroutine, its
// state leaves here and it ends (a move) or goes on (the move failed).
// Elsewhere, and outside a migratable goroutine, it returns at once.
void checkpoint();
}  // namespace this_goroutine

}  // namespace weft
