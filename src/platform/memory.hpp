// src/platform/memory.hpp: the virtual-memory calls the runtime makes
// (goroutine stacks, G slabs, signal stacks), behind one seam. As in
// socket.hpp, calls that can fail return 0 or -errno and leave errno alone.
#pragma once

#include <cstddef>

namespace weft::detail::os {

// Maps `bytes` of private, anonymous, read-write memory, committed only as
// it is touched; no_reserve: no swap space is set aside for it either
// (MAP_NORESERVE), for reservations much larger than what is used. Returns
// null on failure, with *err = the errno (ENOMEM). A fault point (faults.hpp).
void* mem_map(std::size_t bytes, bool no_reserve, int* err) noexcept;
int mem_unmap(void* addr, std::size_t bytes) noexcept;
// Asks for transparent huge pages (true) or none (false) over the range.
int mem_huge_pages(void* addr, std::size_t bytes, bool want) noexcept;
// Commits the range now, in one call (MADV_POPULATE_WRITE, Linux 5.14+;
// -EINVAL on older kernels, which then fault it in as it is touched).
int mem_populate(void* addr, std::size_t bytes) noexcept;
// Gives the range's memory back to the kernel (MADV_DONTNEED): it reads as
// zeros when touched again; guard markers stay.
int mem_release(void* addr, std::size_t bytes) noexcept;
// Makes the range fault on any access with MADV_GUARD_INSTALL (Linux 6.13+:
// the guard lives in the page tables and adds no mapping). -EINVAL on older
// kernels.
int mem_guard_install(void* addr, std::size_t bytes) noexcept;
// Makes the range fault on any access with mprotect(PROT_NONE): works
// everywhere, but splits the mapping (vm.max_map_count).
int mem_protect_none(void* addr, std::size_t bytes) noexcept;
// vm.max_map_count (65530 if it cannot be read), and the mappings this
// process has now (/proc/self/maps).
long max_map_count() noexcept;
long mapping_count() noexcept;

}  // namespace weft::detail::os
