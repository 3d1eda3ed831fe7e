// weft/detail/thread_annotations.hpp: clang's thread-safety attributes as
// macros, so that `clang -Wthread-safety` checks lock discipline at compile
// time. Under any compiler without the attributes (g++) they expand to
// nothing.
//
// They are WEFT_-prefixed because public headers use them (weft::mutex is a
// capability, so a user's `int n WEFT_GUARDED_BY(mu);` is checked too) and a
// user's program may define its own GUARDED_BY. weft's sources use the short
// names of src/platform/thread_annotations.hpp.
//
// How to use them, and the rule for opting out: see that file.
// Reference: https://clang.llvm.org/docs/ThreadSafetyAnalysis.html
#pragma once

#if defined(__has_attribute)
#if __has_attribute(guarded_by)
#define WEFT_THREAD_ANNOTATION(x) __attribute__((x))
#endif
#endif
#ifndef WEFT_THREAD_ANNOTATION
#define WEFT_THREAD_ANNOTATION(x)
#endif

// On a type: it is a lock ("capability"). On a RAII type: it holds one.
#define WEFT_CAPABILITY(name) WEFT_THREAD_ANNOTATION(capability(name))
#define WEFT_SCOPED_CAPABILITY WEFT_THREAD_ANNOTATION(scoped_lockable)

// On data: read and written only with the lock held (PT_: the pointee).
#define WEFT_GUARDED_BY(x) WEFT_THREAD_ANNOTATION(guarded_by(x))
#define WEFT_PT_GUARDED_BY(x) WEFT_THREAD_ANNOTATION(pt_guarded_by(x))

// On functions: the caller holds (REQUIRES) or must not hold (EXCLUDES) the
// locks; the function takes (ACQUIRE) or drops (RELEASE) them; TRY_ACQUIRE
// takes them when it returns `succeeded`.
#define WEFT_REQUIRES(...) WEFT_THREAD_ANNOTATION(requires_capability(__VA_ARGS__))
#define WEFT_REQUIRES_SHARED(...) WEFT_THREAD_ANNOTATION(requires_shared_capability(__VA_ARGS__))
#define WEFT_EXCLUDES(...) WEFT_THREAD_ANNOTATION(locks_excluded(__VA_ARGS__))
#define WEFT_ACQUIRE(...) WEFT_THREAD_ANNOTATION(acquire_capability(__VA_ARGS__))
#define WEFT_ACQUIRE_SHARED(...) WEFT_THREAD_ANNOTATION(acquire_shared_capability(__VA_ARGS__))
#define WEFT_RELEASE(...) WEFT_THREAD_ANNOTATION(release_capability(__VA_ARGS__))
#define WEFT_RELEASE_SHARED(...) WEFT_THREAD_ANNOTATION(release_shared_capability(__VA_ARGS__))
#define WEFT_TRY_ACQUIRE(...) WEFT_THREAD_ANNOTATION(try_acquire_capability(__VA_ARGS__))
#define WEFT_TRY_ACQUIRE_SHARED(...) WEFT_THREAD_ANNOTATION(try_acquire_shared_capability(__VA_ARGS__))
// A run-time check that the lock is held; the analysis believes it after.
#define WEFT_ASSERT_CAPABILITY(x) WEFT_THREAD_ANNOTATION(assert_capability(x))
// The function returns a reference to lock x (an accessor).
#define WEFT_RETURN_CAPABILITY(x) WEFT_THREAD_ANNOTATION(lock_returned(x))

// Turns the analysis off for one function (see the rule in
// src/platform/thread_annotations.hpp).
#define WEFT_NO_THREAD_SAFETY_ANALYSIS WEFT_THREAD_ANNOTATION(no_thread_safety_analysis)
