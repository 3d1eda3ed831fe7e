// weft/goroutine_local.hpp: per-goroutine storage, what thread_local cannot be.
//
// A goroutine may resume on another OS thread after any blocking call, so a
// thread_local seen before a channel operation may be another goroutine's (or
// another thread's) afterwards. goroutine_local<T> gives each goroutine its
// own T, created on first use and destroyed when the goroutine ends.
#pragma once

#include <weft/detail/cxx20.hpp>

#include <cstddef>
#include <memory>

namespace weft {

namespace detail {
// Slot `key` of the current goroutine (nullptr if unset). REQUIRES: in a goroutine.
void* gls_get(std::size_t key);
void gls_set(std::size_t key, void* value, void (*destroy)(void*));
std::size_t gls_new_key();
}  // namespace detail

template <class T>
class goroutine_local {
 public:
  goroutine_local() : key_(detail::gls_new_key()) {}
  goroutine_local(const goroutine_local&) = delete;
  goroutine_local& operator=(const goroutine_local&) = delete;

  // The calling goroutine's T, value-initialized on first use.
  // Throws misuse_error outside a goroutine.
  T& get() {
    if (void* p = detail::gls_get(key_)) return *static_cast<T*>(p);
    auto owned = std::make_unique<T>();
    T* raw = owned.get();
    detail::gls_set(key_, owned.release(), [](void* p) { delete static_cast<T*>(p); });
    return *raw;
  }
  T* operator->() { return &get(); }
  T& operator*() { return get(); }

 private:
  std::size_t key_;
};

}  // namespace weft
