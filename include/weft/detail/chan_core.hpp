// weft/detail/chan_core.hpp: the type-erased channel behind weft::chan<T>.
// Internal; the design is described in src/chan/chan.cpp.
#pragma once

#include <cstddef>
#include <memory>
#include <new>
#include <type_traits>
#include <utility>

namespace weft::detail {

// How the core moves and destroys elements it does not know the type of.
// move_construct must not throw (chan<T> boxes T whose move can).
struct elem_ops {
  std::size_t size;
  std::size_t align;
  void (*move_construct)(void* dst, void* src) noexcept;
  void (*destroy)(void* p) noexcept;
};

template <class E>
inline constexpr elem_ops elem_ops_for = {
    sizeof(E), alignof(E), [](void* dst, void* src) noexcept { ::new (dst) E(std::move(*static_cast<E*>(src))); },
    [](void* p) noexcept { static_cast<E*>(p)->~E(); }};

struct chan_core;
struct adopt_core_t {};
chan_core* chan_make(std::size_t capacity, const elem_ops* ops);
void chan_retain(chan_core*) noexcept;
void chan_release(chan_core*) noexcept;
// A nil core (nullptr) blocks forever in send and recv.
void chan_send(chan_core*, void* elem);  // moves from elem; throws closed_channel_error
bool chan_try_send(chan_core*, void* elem);  // moves from elem only on success
bool chan_recv(chan_core*, void* out);  // constructs *out; false: closed and drained
bool chan_try_recv(chan_core*, void* out, bool* closed);
// As chan_try_send and chan_try_recv, which are yield points (a goroutine
// that loops on them must let others run), but never yield: for the
// runtime's own code that holds a lock or runs on a scheduler's stack
// (timers' fire functions).
bool chan_try_send_no_yield(chan_core*, void* elem);
bool chan_try_recv_no_yield(chan_core*, void* out, bool* closed);
void chan_close(chan_core*);
std::size_t chan_size(const chan_core*) noexcept;
std::size_t chan_capacity(const chan_core*) noexcept;

// The element type the core stores for T: T itself when its move cannot
// throw, otherwise a box, so that no element is lost or duplicated mid-move.
template <class T>
using chan_elem_t = std::conditional_t<std::is_nothrow_move_constructible_v<T>, T, std::unique_ptr<T>>;

template <class T>
chan_elem_t<T> chan_box(T&& v) {
  if constexpr (std::is_same_v<chan_elem_t<T>, T>)
    return std::move(v);
  else
    return std::make_unique<T>(std::move(v));
}

// Raw storage the core constructs a chan_elem_t<T> into; take() moves the
// value out as a T and destroys the element.
template <class T>
struct chan_slot {
  using E = chan_elem_t<T>;
  alignas(E) unsigned char buf[sizeof(E)];
  void* ptr() { return buf; }
  T take() {
    E* e = std::launder(reinterpret_cast<E*>(buf));
    struct guard {
      E* e;
      ~guard() { e->~E(); }
    } g{e};
    if constexpr (std::is_same_v<E, T>)
      return std::move(*e);
    else
      return std::move(**e);
  }
};

}  // namespace weft::detail
