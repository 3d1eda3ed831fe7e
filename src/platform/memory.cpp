// src/platform/memory.cpp: mmap, madvise and mprotect, returning -errno.
#include "platform/memory.hpp"

#include <sys/mman.h>

#include <cerrno>
#include <cstdio>

#include "platform/checked.hpp"
#include "platform/faults.hpp"

namespace weft::detail::os {

namespace {

#ifndef MADV_POPULATE_WRITE
constexpr int MADV_POPULATE_WRITE = 23;
#endif
#ifndef MADV_GUARD_INSTALL
constexpr int MADV_GUARD_INSTALL = 102;
#endif

}  // namespace

void* mem_map(std::size_t bytes, bool no_reserve, int* err) noexcept {
  if (fault f; take_fault(fault_point::mmap, &f)) {
    *err = f.err != 0 ? f.err : ENOMEM;
    return nullptr;
  }
  int saved = errno;
  int flags = MAP_PRIVATE | MAP_ANONYMOUS | (no_reserve ? MAP_NORESERVE : 0);
  void* p = ::mmap(nullptr, bytes, PROT_READ | PROT_WRITE, flags, -1, 0);
  *err = p == MAP_FAILED ? errno : 0;
  errno = saved;
  return p == MAP_FAILED ? nullptr : p;
}

int mem_unmap(void* addr, std::size_t bytes) noexcept {
  return checked([&] { return ::munmap(addr, bytes); });
}

int mem_huge_pages(void* addr, std::size_t bytes, bool want) noexcept {
  return checked([&] { return ::madvise(addr, bytes, want ? MADV_HUGEPAGE : MADV_NOHUGEPAGE); });
}

int mem_populate(void* addr, std::size_t bytes) noexcept {
  return checked([&] { return ::madvise(addr, bytes, MADV_POPULATE_WRITE); });
}

int mem_release(void* addr, std::size_t bytes) noexcept {
  return checked([&] { return ::madvise(addr, bytes, MADV_DONTNEED); });
}

int mem_guard_install(void* addr, std::size_t bytes) noexcept {
  return checked([&] { return ::madvise(addr, bytes, MADV_GUARD_INSTALL); });
}

int mem_protect_none(void* addr, std::size_t bytes) noexcept {
  return checked([&] { return ::mprotect(addr, bytes, PROT_NONE); });
}

long max_map_count() noexcept {
  long v = 65530;
  if (FILE* f = std::fopen("/proc/sys/vm/max_map_count", "r")) {
    if (std::fscanf(f, "%ld", &v) != 1) v = 65530;
    std::fclose(f);
  }
  return v;
}

long mapping_count() noexcept {
  long n = 0;
  if (FILE* f = std::fopen("/proc/self/maps", "r")) {
    for (int c; (c = std::fgetc(f)) != EOF;) n += (c == '\n');
    std::fclose(f);
  }
  return n;
}

}  // namespace weft::detail::os
