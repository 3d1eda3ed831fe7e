// src/platform/thread_annotations.hpp: lock discipline that the compiler
// checks. weft's own targets build under clang with -Wthread-safety
// -Werror=thread-safety (CMakeLists.txt; the tsan preset uses clang, so CI
// enforces it); g++ sees empty macros.
//
// How to use it:
// - A lock type is a CAPABILITY: spinlock (platform/spinlock.hpp),
//   thread_mutex (platform/thread_mutex.hpp, a std::mutex the analysis can
//   see: libstdc++'s is not annotated), weft::mutex.
// - Data names its lock: `gqueue runq GUARDED_BY(lock);`. A pointer whose
//   target is guarded: PT_GUARDED_BY.
// - Take a lock with lock_scope (platform/lock_scope.hpp), not
//   std::lock_guard or std::unique_lock: the analysis cannot see those take
//   anything, and then reports every guarded access under them.
// - A function that expects its caller to hold a lock says REQUIRES(lock),
//   where the old comments said "REQUIRES: lock held". One that takes or
//   drops a lock for its caller says ACQUIRE(lock) / RELEASE(lock).
// - Data that is guarded only part of the time (set before any thread can
//   see it, read by one owner) keeps a comment instead; an annotation that
//   lies is worse than none.
//
// The rule for NO_THREAD_SAFETY_ANALYSIS: only where the protocol is one
// clang cannot express, and then only on the narrowest function that
// embodies it, with a comment saying why. The usual case in a scheduler: a
// lock that a goroutine takes and that the context running after its switch
// releases (park's unlock callback), or a lock's own implementation. Never on
// a whole file or class, and never just to silence a report: a report is
// either a bug or an annotation that does not say what the code does.
//
// The names are LevelDB's and clang's documentation's; the public
// WEFT_-prefixed forms are in <weft/detail/thread_annotations.hpp>.
#pragma once

#include <weft/detail/thread_annotations.hpp>

#define CAPABILITY(name) WEFT_CAPABILITY(name)
#define SCOPED_CAPABILITY WEFT_SCOPED_CAPABILITY
#define GUARDED_BY(x) WEFT_GUARDED_BY(x)
#define PT_GUARDED_BY(x) WEFT_PT_GUARDED_BY(x)
#define REQUIRES(...) WEFT_REQUIRES(__VA_ARGS__)
#define REQUIRES_SHARED(...) WEFT_REQUIRES_SHARED(__VA_ARGS__)
#define EXCLUDES(...) WEFT_EXCLUDES(__VA_ARGS__)
#define ACQUIRE(...) WEFT_ACQUIRE(__VA_ARGS__)
#define ACQUIRE_SHARED(...) WEFT_ACQUIRE_SHARED(__VA_ARGS__)
#define RELEASE(...) WEFT_RELEASE(__VA_ARGS__)
#define RELEASE_SHARED(...) WEFT_RELEASE_SHARED(__VA_ARGS__)
#define TRY_ACQUIRE(...) WEFT_TRY_ACQUIRE(__VA_ARGS__)
#define TRY_ACQUIRE_SHARED(...) WEFT_TRY_ACQUIRE_SHARED(__VA_ARGS__)
#define ASSERT_CAPABILITY(x) WEFT_ASSERT_CAPABILITY(x)
#define RETURN_CAPABILITY(x) WEFT_RETURN_CAPABILITY(x)
#define NO_THREAD_SAFETY_ANALYSIS WEFT_NO_THREAD_SAFETY_ANALYSIS
