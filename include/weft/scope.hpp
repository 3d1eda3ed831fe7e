// weft/scope.hpp: structured concurrency. Goroutines started through a scope
// are joined before the scope ends; the first exception one of them throws
// requests stop on the others (through the scope's std::stop_token) and is
// rethrown by the scope. What Go needs errgroup.WithContext for, C++ gets
// through RAII:
//
//   weft::scope s;
//   for (auto& url : urls) s.go([](std::stop_token st, std::string u) { fetch(st, u); }, url);
//   s.wait();  // joins all; rethrows the first failure
//
// Design. A scope is a wait_group (one count per goroutine started through
// it), a std::stop_source, and a slot for the first exception. The
// goroutine's body catches whatever escapes f, so an exception in a scope's
// goroutine is a result, not a panic (goroutines started by weft::go keep
// the panic behaviour). The body destroys f and its arguments before it
// counts itself done, so their destructors, too, happen before wait()
// returns; goroutine_local values are the exception (they die when the
// goroutine exits, after the count).
//
// Limits and deadlines, for what Go does with errgroup.SetLimit and
// context.WithTimeout:
//
//   weft::scope s(5s);   // stop is requested on every goroutine after 5 s
//   s.set_limit(8);      // go() parks while 8 of s's goroutines run
//   for (auto& url : urls) s.go(fetch, url);
//   s.wait();
//
// A limit is a semaphore of permits: go() takes one before it starts the
// goroutine, which gives it back before it counts itself done. A deadline
// is kept by a goroutine of the scope's own (named "weft::scope deadline",
// not counted by wait()): it sleeps until the deadline or until the scope
// ends, and then requests stop. It holds copies of two stop_sources (their
// shared states are reference-counted), never the scope, so it may outlive
// the scope by the moment it takes to notice. Rejected: requesting stop from
// a runtime timer's fire function, which runs on a scheduler thread and must
// not block; request_stop runs the stop callbacks of user code, which may.
//
// Rejected: passing the exception through a channel (allocates, and needs a
// receiver); a stop_source per wait() round (resetting it would race with
// goroutines reading the token; stop is sticky instead, as in std::jthread).
#pragma once

#include <weft/detail/cxx20.hpp>

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <functional>
#include <new>
#include <optional>
#include <stop_token>
#include <tuple>
#include <type_traits>
#include <utility>

#include <weft/detail/closure.hpp>
#include <weft/detail/saturated.hpp>
#include <weft/go.hpp>
#include <weft/semaphore.hpp>
#include <weft/wait_group.hpp>

namespace weft {

class scope;

namespace detail {
template <class F, class... Args>
struct scope_closure;
}  // namespace detail

// Joins the goroutines started through it. Not copyable or movable (its
// goroutines refer to it).
//
// Exceptions: the first exception that escapes one of the scope's goroutines
// is kept and request_stop() is called; later ones are dropped (usually they
// are the others' reactions to the stop). wait() rethrows the kept exception
// once and clears it (when several callers wait at once, one of them gets
// it).
//
// Reuse: wait() may be called again, and go() may be called after wait();
// the next wait() (or the destructor) joins those goroutines and rethrows an
// exception kept since the previous wait(). Stop is sticky: once requested
// it stays requested, and goroutines started later see it at once.
//
// The destructor joins every goroutine of the scope, then:
//   - if an exception is kept (wait() was not called, or goroutines failed
//     after the last wait()) and no exception newer than the scope is
//     unwinding (std::uncaught_exceptions() is not above its value at
//     construction), it rethrows it: the destructor is noexcept(false);
//   - if the scope is being destroyed by an unwinding exception, it first
//     requests stop (so goroutines waiting on the token end and the join
//     cannot hang on them), and drops any kept exception.
// A deadline still applies while the destructor joins; after the join the
// deadline's goroutine is told to leave.
class scope {
 public:
  using clock = std::chrono::steady_clock;

  scope() : uncaught_(std::uncaught_exceptions()) {}
  // A scope with a deadline (Go's context.WithDeadline): once it has
  // passed, stop is requested on every goroutine of the scope, as by
  // request_stop(). A deadline already passed requests stop at once;
  // clock::time_point::max() is no deadline. Any other deadline needs a
  // goroutine to keep it, so the constructor then throws misuse_error when
  // called from a plain thread, as weft::go does.
  explicit scope(clock::time_point deadline);
  // A scope whose deadline is timeout from now (Go's context.WithTimeout).
  template <class Rep, class Period>
  explicit scope(std::chrono::duration<Rep, Period> timeout) : scope(deadline_after(detail::saturated_ns(timeout))) {}
  scope(const scope&) = delete;
  scope& operator=(const scope&) = delete;
  ~scope() noexcept(false);

  // Starts f as a goroutine of this scope: f(token, args...) if f is
  // invocable so (token: get_stop_token()), else f(args...). f and args are
  // decay-copied (moved when given rvalues), as by weft::go. Same rule as
  // weft::go outside a goroutine: called from a plain thread (outside
  // weft::run, or a std::thread inside it) it throws misuse_error, and
  // nothing is started. May be called by the scope's own goroutines, also
  // while another goroutine is in wait(): that wait() joins them too. With
  // a limit (set_limit), parks first until fewer than the limit run.
  template <class F, class... Args>
  requires(!std::is_same_v<std::remove_cvref_t<F>, go_options>) [[gnu::noinline]] void go(F&& f, Args&&... args) {
    start(nullptr, __builtin_return_address(0), true, std::forward<F>(f), std::forward<Args>(args)...);
  }
  // As go(f, args...) with a stack size and a name (see go_options).
  template <class F, class... Args>
  [[gnu::noinline]] void go(const go_options& opts, F&& f, Args&&... args) {
    start(&opts, __builtin_return_address(0), true, std::forward<F>(f), std::forward<Args>(args)...);
  }
  // As go(f, args...), but when the limit is reached returns false at once
  // and starts nothing, instead of parking (Go's errgroup.TryGo). True if
  // it started f.
  template <class F, class... Args>
  requires(!std::is_same_v<std::remove_cvref_t<F>, go_options>) [[gnu::noinline]] bool try_go(F&& f, Args&&... args) {
    return start(nullptr, __builtin_return_address(0), false, std::forward<F>(f), std::forward<Args>(args)...);
  }

  // Limits the scope to n goroutines running at once (Go's
  // errgroup.SetLimit): go() parks while n goroutines started under the
  // limit still run. n < 0 removes the limit (the default); 0 lets no
  // goroutine start. Goroutines started before the call do not count.
  // Changing the limit while goroutines started under the previous one
  // still run is misuse (misuse_error). REQUIRES: not concurrent with go()
  // or try_go() on this scope.
  void set_limit(std::ptrdiff_t n);

  // The deadline given at construction; clock::time_point::max() if none.
  clock::time_point deadline() const noexcept { return deadline_; }
  // True once the scope's deadline has passed (stop is requested then, if
  // nothing requested it before). Go's context.DeadlineExceeded: wait()
  // throws nothing for it, since goroutines that see stop just return.
  bool deadline_exceeded() const noexcept { return deadline_ != clock::time_point::max() && clock::now() >= deadline_; }

  // The token every goroutine of this scope gets.
  std::stop_token get_stop_token() const noexcept { return stop_.get_token(); }
  // Requests stop on every goroutine of the scope, without an error.
  // Returns true if this call made the request.
  bool request_stop() noexcept { return stop_.request_stop(); }

  // Parks the caller until every goroutine started through the scope so far
  // has finished, including those they start through it meanwhile; then
  // rethrows the kept exception, if any. Plain threads may call it.
  // REQUIRES: not called by one of the scope's own goroutines (it would
  // wait for itself).
  void wait();

 private:
  template <class F, class... Args>
  friend struct detail::scope_closure;

  // Starts f(args...) as a goroutine of the scope; false if the limit is
  // reached and may_wait is false.
  template <class F, class... Args>
  bool start(const go_options* opts, void* pc, bool may_wait, F&& f, Args&&... args);

  // Keeps e if no exception is kept yet, and requests stop.
  void fail(std::exception_ptr e) noexcept;
  // Takes the kept exception (null if none).
  std::exception_ptr take_error() noexcept;
  // Takes a permit when the scope has a limit: parks for one (may_wait) or
  // fails. Returns whether the goroutine runs under the limit, through
  // *under_limit; false if no permit could be had.
  bool take_slot(bool may_wait, bool* under_limit);
  void give_slot() noexcept;
  // now + timeout, saturating at time_point::max().
  static clock::time_point deadline_after(std::chrono::nanoseconds timeout) noexcept;

  wait_group wg_;
  std::stop_source stop_;
  std::atomic<std::uint32_t> error_lock_{0};  // guards error_
  std::exception_ptr error_;
  int uncaught_;  // std::uncaught_exceptions() at construction
  // The limit's permits (free ones); limit_ < 0: no limit. limit_ is
  // atomic because the scope's goroutines read it in go().
  detail::semaphore_core slots_{0};
  std::atomic<std::ptrdiff_t> limit_{-1};
  clock::time_point deadline_ = clock::time_point::max();
  std::stop_source deadline_cancel_{std::nostopstate};  // ends the deadline's goroutine
};

namespace detail {

// A scope goroutine's closure: the user's f and arguments (destroyed as soon
// as f returns, before the goroutine counts itself done) and its scope.
template <class F, class... Args>
struct scope_closure {
  scope* owner;
  bool under_limit;  // holds one of the scope's permits, given back at the end
  std::optional<closure<F, Args...>> body;  // empty once invoke has run it

  template <class FF, class... AA>
  explicit scope_closure(scope* s, bool limited, FF&& f, AA&&... a) : owner(s), under_limit(limited) {
    body.emplace(std::forward<FF>(f), std::forward<AA>(a)...);
  }

  static void invoke(void* self) {
    auto* c = static_cast<scope_closure*>(self);
    scope* s = c->owner;
    try {
      std::apply(
          [&](Args&... a) {
            if constexpr (std::is_invocable_v<F, std::stop_token, Args...>)
              std::invoke(std::move(c->body->fn), s->get_stop_token(), std::move(a)...);
            else
              std::invoke(std::move(c->body->fn), std::move(a)...);
          },
          c->body->args);
    } catch (...) {
      s->fail(std::current_exception());
    }
    c->body.reset();
    if (c->under_limit) s->give_slot();
    s->wg_.done();  // the last touch of *s: wait() may return and the scope vanish
  }
  // Runs after invoke (then a no-op), or at the end of weft::run for a
  // goroutine that never ran.
  static void destroy(void* self) noexcept { static_cast<scope_closure*>(self)->~scope_closure(); }
};

// As go_fits (go.hpp) for scope::go, where f may also take the scope's
// std::stop_token first.
template <class F, class... Args>
consteval bool scope_fits() {
  constexpr bool copies = closure_copies<F, Args...>;
  static_assert(copies,
                "weft::scope::go: f or an argument cannot be copied or moved into the goroutine "
                "(pass a move-only value with std::move)");
  constexpr bool calls = !copies || closure_calls<F, std::stop_token, Args...> || closure_calls<F, Args...>;
  constexpr bool by_ref =
      copies && !calls && (closure_calls_lvalues<F, std::stop_token, Args...> || closure_calls_lvalues<F, Args...>);
  static_assert(calls || by_ref,
                "weft::scope::go: f cannot be called with these arguments, neither as f(std::stop_token, "
                "args...) nor as f(args...): check their number and types (the goroutine calls f with a "
                "copy of each one)");
  static_assert(!by_ref,
                "weft::scope::go: f takes a parameter by non-const reference, but the goroutine gets a "
                "copy of each argument: pass std::ref(x) to share x (x must outlive the goroutine), or "
                "take the parameter by value");
  return copies && calls;
}

}  // namespace detail

template <class F, class... Args>
bool scope::start(const go_options* opts, void* pc, bool may_wait, F&& f, Args&&... args) {
  if constexpr (detail::scope_fits<F, Args...>()) {
    using C = detail::scope_closure<std::decay_t<F>, std::decay_t<Args>...>;
    void* storage = nullptr;
    // Allocated first: from a plain thread this throws before anything parks.
    detail::g* gp = detail::g_alloc(sizeof(C), alignof(C), opts, &storage);
    bool under_limit = false;
    C* c = nullptr;
    try {
      if (!take_slot(may_wait, &under_limit)) {
        detail::g_discard(gp);
        return false;
      }
      c = ::new (storage) C(this, under_limit, std::forward<F>(f), std::forward<Args>(args)...);
      // Counted before it can run, so its done() never precedes this add.
      wg_.add(1);
    } catch (...) {
      if (c) C::destroy(c);
      if (under_limit) give_slot();
      detail::g_discard(gp);
      throw;
    }
    detail::g_start(gp, &detail::closure_ops_of<C>, pc);
  }
  return true;
}

}  // namespace weft
