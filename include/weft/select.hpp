// weft/select.hpp: Go's select.
#pragma once

#include <weft/detail/cxx20.hpp>

#include <concepts>
#include <cstddef>
#include <memory>
#include <optional>
#include <span>
#include <stop_token>
#include <type_traits>
#include <utility>
#include <vector>

#include <weft/chan.hpp>
#include <weft/detail/select_core.hpp>
#include <weft/errors.hpp>

namespace weft {

namespace detail {

struct select_case_base {};

template <class T, class F>
class recv_case : public select_case_base {
 public:
  recv_case(chan_core* c, F f) : c_(c), f_(std::move(f)) {}
  select_arm arm() {
    select_arm a;
    a.dir = select_dir::recv;
    a.chan = c_;
    a.elem = slot_.ptr();
    return a;
  }
  void complete(const select_arm& a) {
    std::optional<T> v;
    if (a.ok) v.emplace(slot_.take());
    if constexpr (std::is_invocable_v<F&, std::optional<T>&&>)
      f_(std::move(v));
    else
      f_();
  }
  chan_core* core() const noexcept { return c_; }

 private:
  chan_core* c_;
  F f_;
  chan_slot<T> slot_;
};

// The value is sent at most once: after that the element is moved-from (a
// null box for a T whose move may throw), so arming the case again is
// misuse. The dynamic form (select_case) sends a fresh copy of a copyable
// T each time instead (arm_copy).
template <class T, class F>
class send_case : public select_case_base {
 public:
  send_case(chan_core* c, T v, F f) : c_(c), v_(chan_box(std::move(v))), f_(std::move(f)) {}
  select_arm arm() {
    if (sent_)
      throw misuse_error(
          "weft::select: a send case was chosen again after it sent its value; "
          "make a new case for each value");
    return arm_of(&v_);
  }
  // Arms a copy of the value; the case's own value is never moved.
  select_arm arm_copy() requires std::is_copy_constructible_v<T> {
    copy_.reset();
    copy_.emplace(chan_box(T(value())));
    return arm_of(&*copy_);
  }
  void complete(const select_arm&) {
    sent_ = true;
    f_();
  }
  chan_core* core() const noexcept { return c_; }

 private:
  select_arm arm_of(void* elem) {
    select_arm a;
    a.dir = select_dir::send;
    a.chan = c_;
    a.elem = elem;
    return a;
  }
  const T& value() const {
    if constexpr (std::is_same_v<chan_elem_t<T>, T>)
      return v_;
    else
      return *v_;
  }
  chan_core* c_;
  chan_elem_t<T> v_;
  std::optional<chan_elem_t<T>> copy_;  // arm_copy's element
  bool sent_ = false;
  F f_;
};

template <class F>
class stop_case : public select_case_base {
 public:
  stop_case(std::stop_token t, F f) : t_(std::move(t)), f_(std::move(f)) {}
  select_arm arm() {
    select_arm a;
    a.dir = select_dir::stop;
    a.token = &t_;
    return a;
  }
  void complete(const select_arm&) { f_(); }
  chan_core* core() const noexcept { return nullptr; }

 private:
  std::stop_token t_;
  F f_;
};

template <class F>
class default_case : public select_case_base {
 public:
  explicit default_case(F f) : f_(std::move(f)) {}
  select_arm arm() { return {}; }
  void complete(const select_arm&) { f_(); }
  chan_core* core() const noexcept { return nullptr; }

 private:
  F f_;
};

template <class C>
concept select_case_type = std::derived_from<C, select_case_base>;

template <class C>
inline constexpr bool is_default_case = false;
template <class F>
inline constexpr bool is_default_case<default_case<F>> = true;

struct no_action {
  void operator()() const noexcept {}
};

}  // namespace detail

// The cases of select. A case refers to its channel: the channel must
// outlive the select call (in the dynamic form, select_case keeps it alive).
// Callbacks run after select has let go of every channel, so they may use
// the channels again; what a callback returns is ignored.

// Ready when ch has a value or is closed; f gets the value, or std::nullopt
// once ch is closed and drained (f may also take no argument). A nil ch is
// never ready.
template <class T, class F>
requires std::is_invocable_v<F&, std::optional<T> &&> ||
    std::is_invocable_v<F&> detail::recv_case<T, std::decay_t<F>> on_recv(const chan<T>& ch, F&& f) {
  return {ch.core(), std::forward<F>(f)};
}

// Ready when a receiver or buffer slot can take v; then v is sent and f runs.
// If ch is closed, select throws closed_channel_error, like send. A nil ch
// is never ready. v is moved into the case when it is made.
template <class T, class U, class F = detail::no_action>
requires std::convertible_to<U, T> && std::is_invocable_v<F&> detail::send_case<T, std::decay_t<F>> on_send(
    const chan<T>& ch, U&& v, F&& f = {}) {
  return {ch.core(), T(std::forward<U>(v)), std::forward<F>(f)};
}

// Ready once stop is requested on token.
template <class F>
requires std::is_invocable_v<F&> detail::stop_case<std::decay_t<F>> on_stop(std::stop_token token, F&& f) {
  return {std::move(token), std::forward<F>(f)};
}

// Makes select non-blocking: taken when no other case is ready.
template <class F = detail::no_action>
requires std::is_invocable_v<F&> detail::default_case<std::decay_t<F>> on_default(F&& f = {}) {
  return detail::default_case<std::decay_t<F>>(std::forward<F>(f));
}

// Waits until one of the cases is ready, performs it (exactly one), runs its
// callback and returns its position among the arguments. Among several ready
// cases one is chosen uniformly at random. With on_default (at most one),
// never waits. Channels are locked in one global order, so any number of
// goroutines may select over overlapping channels.
template <class... Cases>
requires(sizeof...(Cases) > 0 && (detail::select_case_type<std::remove_cvref_t<Cases>> && ...)) std::size_t
    select(Cases&&... cases) {
  constexpr std::size_t n = sizeof...(Cases);
  constexpr bool is_default[n] = {detail::is_default_case<std::remove_cvref_t<Cases>>...};
  std::size_t default_at = n;
  for (std::size_t i = 0; i < n; ++i) {
    if (is_default[i]) default_at = i;
  }
  static_assert((int(detail::is_default_case<std::remove_cvref_t<Cases>>) + ...) <= 1,
                "weft::select: at most one on_default");
  detail::select_arm arms[n] = {cases.arm()...};
  int k = detail::select_core(arms, static_cast<int>(n), default_at != n);
  std::size_t chosen = k >= 0 ? static_cast<std::size_t>(k) : default_at;
  [&]<std::size_t... I>(std::index_sequence<I...>) { ((I == chosen ? cases.complete(arms[I]) : void()), ...); }
  (std::index_sequence_for<Cases...>{});
  return chosen;
}

// `select {}`: blocks the caller forever.
inline void select() { detail::select_core(nullptr, 0, false); }

// A case for the dynamic form (Go's reflect.Select): made from any on_*
// case; keeps its channel alive. A send case of a copyable T sends a copy
// of its value each time it is chosen, as Go's does; one of a move-only T
// sends its value once, and a select that finds it spent throws
// misuse_error.
class select_case {
 public:
  template <class C>
  requires detail::select_case_type<C> select_case(C c) : impl_(std::make_unique<model<C>>(std::move(c))) {}

  bool is_default() const noexcept { return impl_->is_default(); }

 private:
  struct concept_t {
    virtual ~concept_t() = default;
    virtual detail::select_arm arm() = 0;
    virtual void complete(const detail::select_arm& a) = 0;
    virtual bool is_default() const noexcept = 0;
  };
  template <class C>
  struct model final : concept_t {
    explicit model(C&& c) : c_(std::move(c)) {
      if (detail::chan_core* core = c_.core()) detail::chan_retain(core);
    }
    ~model() override {
      if (detail::chan_core* core = c_.core()) detail::chan_release(core);
    }
    detail::select_arm arm() override {
      if constexpr (requires { c_.arm_copy(); })
        return c_.arm_copy();
      else
        return c_.arm();
    }
    void complete(const detail::select_arm& a) override { c_.complete(a); }
    bool is_default() const noexcept override { return detail::is_default_case<C>; }
    C c_;
  };
  std::unique_ptr<concept_t> impl_;

  friend std::size_t select(std::span<select_case> cases);
};

// The dynamic form: as the variadic select, over a run-time list of cases;
// returns the chosen case's index. At most one default case (more is
// std::invalid_argument). An empty list blocks forever, as `select {}`.
inline std::size_t select(std::span<select_case> cases) {
  std::vector<detail::select_arm> arms(cases.size());
  std::size_t default_at = cases.size();
  for (std::size_t i = 0; i < cases.size(); ++i) {
    arms[i] = cases[i].impl_->arm();
    if (cases[i].is_default()) {
      if (default_at != cases.size()) throw std::invalid_argument("weft::select: more than one default case");
      default_at = i;
    }
  }
  int k = detail::select_core(arms.data(), static_cast<int>(arms.size()), default_at != cases.size());
  std::size_t chosen = k >= 0 ? static_cast<std::size_t>(k) : default_at;
  cases[chosen].impl_->complete(arms[chosen]);
  return chosen;
}

}  // namespace weft
