// weft/spawn.hpp: running a function in a new worker process (the
// circuit, DESIGN.md).
//
//   int compute(std::string s, int n);
//   WEFT_SPAWNABLE(compute);                  // at namespace scope
//
//   weft::spawned<int> w = weft::spawn(weft::spawn_options{.anchors = {"/db/shard"}}, compute, "x", 3);
//   int r = w.get();                          // parks until compute returns in the worker
//
// The worker is the same binary, started by the weftd this program is
// attached to (or the local one, started if none runs: one host needs no
// configuration). In the worker, weft::run runs the spawned function
// instead of main, then exits: unless the function called
// weft::daemonize(f), then it lives until the goroutine f returns too.
// Arguments and the result cross by weft::codec. Failures keep apart the
// application's (weft::remote_exception: the function threw) and the
// system's (weft::remote_error: the worker died, the binary could not
// start, no weftd).
#pragma once

#include <weft/detail/cxx20.hpp>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#include <weft/codec.hpp>
#include <weft/detail/spawn_core.hpp>
#include <weft/errors.hpp>

namespace weft {

struct spawn_options {
  // The worker is listed under each of these anchors, as ANCHOR/ID, while
  // it lives ("/db/shard" -> "/db/shard/R8efd95a09bcde325").
  std::vector<std::string> anchors = {};
  // "": the cluster chooses; a host name pins it (one host: its own name).
  std::string host = {};
  // Requirements the host must meet, or the spawn is refused
  // (remote_error{refused}, saying what each host lacks): each label with
  // this value (weftd --label NAME=VALUE), at least this much available
  // memory (bytes) and this many CPUs. Among the hosts that meet them the
  // least loaded runs the worker (docs/cluster.md, "Placement").
  std::map<std::string, std::string> labels = {};
  std::uint64_t min_memory = 0;
  unsigned min_cpus = 0;
};

// A worker process of the circuit.
class worker {
 public:
  worker() = default;
  worker(std::string id, std::string address, long pid = 0)
      : id_(std::move(id)), address_(std::move(address)), pid_(pid) {}

  // "R" + 16 hex digits.
  const std::string& id() const noexcept { return id_; }
  // Where peers dial it (weft::dial).
  const std::string& address() const noexcept { return address_; }
  // Its process id on its host (0 if unknown).
  long pid() const noexcept { return pid_; }

  // Ends it gracefully: SIGTERM, then SIGKILL after 5 s. Returns once it
  // has been signalled; wait() for its end.
  void kill() const { detail::worker_kill(id_, false); }
  // SIGKILL at once.
  void kill_hard() const { detail::worker_kill(id_, true); }
  // Parks until it has exited; returns its exit status (128 + N when
  // signal N ended it).
  int wait() const { return detail::worker_wait(id_); }

 private:
  std::string id_;
  std::string address_;
  long pid_ = 0;
};

// The handle spawn returns: the worker, and the function's outcome.
template <class T>
class spawned {
 public:
  explicit spawned(std::shared_ptr<detail::spawn_state> s) : s_(std::move(s)) {}

  // Parks until the function has returned in the worker and returns its
  // result; throws remote_exception if it threw, remote_error if the
  // system failed (kind() lost: the worker died first). May be called
  // again (the same value).
  T get() const {
    const std::string& bytes = detail::spawn_result(*s_);
    if constexpr (!std::is_void_v<T>) return weft::decode<T>(bytes);
  }
  // The worker (parks until it has started: its process runs and listens
  // for peers, so its address() may be dialed at once).
  weft::worker worker() const { return detail::spawn_worker(*s_); }

 private:
  std::shared_ptr<detail::spawn_state> s_;
};

namespace detail {

// "RESULT(ARG,...)" in weft::codec's signatures: what a worker checks
// before it runs a spawn.
template <class R, class... A>
std::string spawn_signature() {
  std::string s = signature_or_void<R>() + "(";
  bool first = true;
  ((s += (first ? "" : ","), s += codec<std::decay_t<A>>::signature(), first = false), ...);
  return s + ")";
}

template <class R, class... A>
std::string (*signature_fn(R (*)(A...)))() {
  return &spawn_signature<R, A...>;
}

template <auto F, class R, class... A>
std::string invoke_decoded(std::string_view args) {
  auto values = weft::decode<std::tuple<std::decay_t<A>...>>(args);
  if constexpr (std::is_void_v<R>) {
    std::apply(F, std::move(values));
    return {};
  } else {
    return weft::encode<R>(std::apply(F, std::move(values)));
  }
}

template <auto F, class R, class... A>
spawn_invoker invoker_for(R (*)(A...)) {
  return &invoke_decoded<F, R, A...>;
}

template <auto F>
bool register_spawnable_fn(const char* name) {
  return register_spawnable(name, reinterpret_cast<any_function>(F), signature_fn(F), invoker_for<F>(F));
}

}  // namespace detail

// Runs f(args...) in a new worker process and returns at once. f must be
// registered with WEFT_SPAWNABLE (misuse_error otherwise); args convert to
// f's parameter types here, in the caller.
template <class R, class... P, class... A>
spawned<R> spawn(const spawn_options& opts, R (*f)(P...), A&&... args) {
  static_assert(sizeof...(P) == sizeof...(A), "weft::spawn: the arguments do not match the function's parameters");
  std::tuple<std::decay_t<P>...> values(std::forward<A>(args)...);
  return spawned<R>(detail::spawn_start(opts, detail::spawnable_name(reinterpret_cast<detail::any_function>(f)),
                                        detail::spawn_signature<R, P...>(), weft::encode(values)));
}

// In a worker: f runs as a goroutine, and the worker lives until it has
// returned, after the spawned function has. Elsewhere: weft::go(f).
void daemonize(std::function<void()> f);

// Whether this process is a circuit worker (a weftd started it to run a
// spawned function). A program with a main of its own around weft::run
// (a test runner) checks this before doing its own work.
bool is_worker() noexcept;

}  // namespace weft

#define WEFT_DETAIL_SPAWN_CAT2(a, b) a##b
#define WEFT_DETAIL_SPAWN_CAT(a, b) WEFT_DETAIL_SPAWN_CAT2(a, b)

// At namespace scope: fn may be spawned (by its name, which must be the
// same in the caller's binary and the worker's: they are one binary).
#define WEFT_SPAWNABLE(fn)                                                                            \
  [[maybe_unused]] static const bool WEFT_DETAIL_SPAWN_CAT(weft_spawnable_registered_, __COUNTER__) = \
      ::weft::detail::register_spawnable_fn<&fn>(#fn)
