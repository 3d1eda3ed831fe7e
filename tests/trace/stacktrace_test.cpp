// tests/trace/stacktrace_test.cpp: capture (this thread, a parked fcontext, a
// signal's ucontext), symbolization and the printed format.
//
// File and line checks run only when this binary carries DWARF line info
// (built with -g); without it the function names are still checked.
#include "trace/stacktrace.hpp"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/mman.h>

#include <dlfcn.h>
#include <elf.h>
#include <fcntl.h>
#include <unistd.h>

#include <boost/context/detail/fcontext.hpp>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <sstream>
#include <thread>
#include <string>
#include <vector>

#if defined(__SANITIZE_ADDRESS__)
#define WEFT_TEST_ASAN 1
#endif
#if defined(__SANITIZE_THREAD__)
#define WEFT_TEST_TSAN 1
#endif
#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define WEFT_TEST_ASAN 1
#endif
#if __has_feature(thread_sanitizer)
#define WEFT_TEST_TSAN 1
#endif
#endif
#if defined(WEFT_TEST_ASAN)
#include <sanitizer/common_interface_defs.h>
#endif
#if defined(WEFT_TEST_TSAN)
#include <sanitizer/tsan_interface.h>
#endif

namespace trace = weft::detail::trace;
namespace ctx = boost::context::detail;

namespace {

constexpr int kMax = 64;

// Whether this executable has a .debug_line section (was built with -g): looks
// for the name in the section-name string table.
bool has_line_info() {
  static const bool has = [] {
    std::string names;
    const int fd = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
    Elf64_Ehdr eh;
    Elf64_Shdr sh;
    const auto full = [](ssize_t got, std::size_t want) { return got == static_cast<ssize_t>(want); };
    if (fd >= 0 && full(pread(fd, &eh, sizeof eh, 0), sizeof eh) &&
        full(pread(fd, &sh, sizeof sh, static_cast<off_t>(eh.e_shoff + eh.e_shstrndx * sizeof sh)),
             sizeof sh)) {
      names.resize(sh.sh_size);
      if (!full(pread(fd, names.data(), names.size(), static_cast<off_t>(sh.sh_offset)), names.size()))
        names.clear();
    }
    if (fd >= 0) close(fd);
    const bool h = names.find(std::string(".debug_line\0", 12)) != std::string::npos;
    if (!h) std::fprintf(stderr, "note: no .debug_line in this test binary; file:line checks skipped\n");
    return h;
  }();
  return has;
}

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

std::vector<trace::frame> symbolize_all(void* const* pcs, int n) {
  std::vector<trace::frame> out;
  for (int i = 0; i < n; ++i) out.push_back(trace::symbolize(pcs[i]));
  return out;
}

std::string dump(const std::vector<trace::frame>& frames) {
  std::string s;
  for (const auto& f : frames) s += f.function + " at " + f.file + ":" + std::to_string(f.line) + "\n";
  return s;
}

// Index of the first frame whose function contains `name`, or -1.
int find_frame(const std::vector<trace::frame>& frames, const std::string& name) {
  for (std::size_t i = 0; i < frames.size(); ++i)
    if (frames[i].function.find(name) != std::string::npos) return static_cast<int>(i);
  return -1;
}

// ---- capture_here ----

int g_marker_line = 0;

[[gnu::noinline]] int weft_test_marker_fn(void** pcs, int skip) {
  // Keep the call out of tail position so this frame stays on the stack.
  g_marker_line = __LINE__ + 1;
  int n = trace::capture_here(pcs, kMax, skip);
  asm volatile("" : "+r"(n)::"memory");
  return n;
}

TEST(StackTrace, CaptureHereFindsCallerWithFileAndLine) {
  void* pcs[kMax];
  const int n = weft_test_marker_fn(pcs, 0);
  ASSERT_GT(n, 1);
  const auto frames = symbolize_all(pcs, n);
  // skip=0: the caller of capture_here is frame 0.
  ASSERT_NE(frames[0].function.find("weft_test_marker_fn"), std::string::npos) << dump(frames);
  if (has_line_info()) {
    EXPECT_TRUE(ends_with(frames[0].file, "stacktrace_test.cpp")) << dump(frames);
    EXPECT_GE(frames[0].line, g_marker_line - 1) << dump(frames);
    EXPECT_LE(frames[0].line, g_marker_line + 1) << dump(frames);
  }
  EXPECT_GT(frames[0].offset, 0u);
  // This test body is the next frame, also in this file.
  EXPECT_NE(find_frame(frames, "CaptureHereFindsCallerWithFileAndLine"), -1) << dump(frames);
}

TEST(StackTrace, CaptureHereSkipsFrames) {
  void* pcs[kMax];
  const int n = weft_test_marker_fn(pcs, 1);
  ASSERT_GT(n, 0);
  const auto frames = symbolize_all(pcs, n);
  EXPECT_EQ(find_frame(frames, "weft_test_marker_fn"), -1) << dump(frames);
  EXPECT_NE(frames[0].function.find("CaptureHereSkipsFrames"), std::string::npos) << dump(frames);
}

TEST(StackTrace, CaptureRespectsMaxAndNull) {
  void* pcs[2] = {nullptr, nullptr};
  EXPECT_EQ(trace::capture_here(pcs, 2, 0), 2);
  EXPECT_EQ(trace::capture_here(pcs, 0, 0), 0);
  EXPECT_EQ(trace::capture_fcontext(nullptr, pcs, 2), 0);
  EXPECT_EQ(trace::capture_ucontext(nullptr, pcs, 2), 0);
}

// ---- capture_fcontext ----

constexpr std::size_t kStackSize = 64 * 1024;

// State shared between the test (the creator) and the fcontext.
struct fiber {
  ctx::fcontext_t creator = nullptr;
  bool finished = false;
  void* asan_fake_stack = nullptr;                    // the fiber's, while it is switched out
  const void* creator_stack_bottom = nullptr;         // ASan: the creator's stack
  std::size_t creator_stack_size = 0;
  void* tsan_creator = nullptr;                       // TSan fibers
  void* tsan_self = nullptr;
};

// Leaves the fiber for the creator; `last`: the fiber never runs again.
ctx::transfer_t fiber_jump_to_creator(fiber* f, ctx::fcontext_t to, bool last) {
#if defined(WEFT_TEST_ASAN)
  __sanitizer_start_switch_fiber(last ? nullptr : &f->asan_fake_stack, f->creator_stack_bottom,
                                 f->creator_stack_size);
#else
  (void)last;
#endif
#if defined(WEFT_TEST_TSAN)
  __tsan_switch_to_fiber(f->tsan_creator, 0);
#endif
  ctx::transfer_t t = ctx::jump_fcontext(to, f);
#if defined(WEFT_TEST_ASAN)
  __sanitizer_finish_switch_fiber(f->asan_fake_stack, nullptr, nullptr);
#endif
  return t;
}

// The creator's side of a switch into the fiber.
ctx::transfer_t creator_jump_to_fiber(fiber* f, ctx::fcontext_t to, void* stack_bottom) {
#if defined(WEFT_TEST_ASAN)
  void* fake_stack = nullptr;
  __sanitizer_start_switch_fiber(&fake_stack, stack_bottom, kStackSize);
#else
  (void)stack_bottom;
#endif
#if defined(WEFT_TEST_TSAN)
  __tsan_switch_to_fiber(f->tsan_self, 0);
#endif
  ctx::transfer_t t = ctx::jump_fcontext(to, f);
#if defined(WEFT_TEST_ASAN)
  __sanitizer_finish_switch_fiber(fake_stack, nullptr, nullptr);
#endif
  return t;
}

[[gnu::noinline]] void weft_test_parked_fn(fiber* f) {
  // Parks: the creator unwinds us here, then resumes us.
  ctx::transfer_t t = fiber_jump_to_creator(f, f->creator, false);
  f->creator = t.fctx;
  asm volatile("" ::: "memory");
}

[[gnu::noinline]] void weft_test_entry_fn(ctx::transfer_t t) {
  auto* f = static_cast<fiber*>(t.data);
  f->creator = t.fctx;
#if defined(WEFT_TEST_ASAN)
  __sanitizer_finish_switch_fiber(nullptr, &f->creator_stack_bottom, &f->creator_stack_size);
#endif
  weft_test_parked_fn(f);
  f->finished = true;
  fiber_jump_to_creator(f, f->creator, true);
  __builtin_trap();  // never resumed; returning would _exit the process
}

TEST(StackTrace, CaptureFcontextUnwindsParkedStack) {
  void* stack = mmap(nullptr, kStackSize, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  ASSERT_NE(stack, MAP_FAILED);
  fiber f;
#if defined(WEFT_TEST_TSAN)
  f.tsan_creator = __tsan_get_current_fiber();
  f.tsan_self = __tsan_create_fiber(0);
#endif
  void* top = static_cast<char*>(stack) + kStackSize;
  ctx::fcontext_t fc = ctx::make_fcontext(top, kStackSize, weft_test_entry_fn);

  // Run it until it parks in weft_test_parked_fn.
  ctx::transfer_t t = creator_jump_to_fiber(&f, fc, stack);
  ASSERT_FALSE(f.finished);

  void* pcs[kMax];
  const int n = trace::capture_fcontext(t.fctx, pcs, kMax);
  const auto frames = symbolize_all(pcs, n);
  const int parked = find_frame(frames, "weft_test_parked_fn");
  const int entry = find_frame(frames, "weft_test_entry_fn");
  EXPECT_NE(parked, -1) << dump(frames);
  EXPECT_NE(entry, -1) << dump(frames);
  EXPECT_LT(parked, entry) << dump(frames);
  if (parked != -1 && has_line_info()) {
    EXPECT_TRUE(ends_with(frames[static_cast<std::size_t>(parked)].file, "stacktrace_test.cpp"))
        << dump(frames);
  }
  // The walk must end on the fiber's stack: nothing from the creator's side.
  EXPECT_EQ(find_frame(frames, "CaptureFcontextUnwindsParkedStack"), -1) << dump(frames);
  EXPECT_EQ(trace::capture_fcontext(t.fctx, pcs, 1), 1);

  // Resume it; it finishes and jumps back a final time.
  t = creator_jump_to_fiber(&f, t.fctx, stack);
  EXPECT_TRUE(f.finished);
#if defined(WEFT_TEST_TSAN)
  __tsan_destroy_fiber(f.tsan_self);
#endif
  munmap(stack, kStackSize);
}

// A saved context whose stack holds garbage: the walk must stop, not crash.
TEST(StackTrace, CaptureFcontextStopsOnGarbage) {
  void* real[kMax];
  ASSERT_GT(weft_test_marker_fn(real, 0), 0);  // real[0]: a return address with CFI
  alignas(16) std::uint64_t buf[64];
  for (auto& w : buf) w = 0x4141414141414141;
  void* pcs[kMax];

  // A resume address that is no code at all.
  buf[7] = 0x10;
  EXPECT_EQ(trace::capture_fcontext(buf, pcs, kMax), 1);
  EXPECT_EQ(pcs[0], reinterpret_cast<void*>(0x10));

  // Real code, but the frame above it is garbage.
  buf[7] = reinterpret_cast<std::uintptr_t>(real[0]);
  buf[6] = reinterpret_cast<std::uintptr_t>(&buf[40]);  // rbp: a readable frame record
  const int n = trace::capture_fcontext(buf, pcs, kMax);
  EXPECT_GE(n, 1);
  EXPECT_LE(n, 3);
  EXPECT_EQ(pcs[0], real[0]);

  // A context that never ran resumes at make_fcontext's trampoline (no CFI).
  alignas(16) char fresh[256];
  ctx::fcontext_t fc = ctx::make_fcontext(fresh + sizeof fresh, sizeof fresh, weft_test_entry_fn);
  EXPECT_LE(trace::capture_fcontext(fc, pcs, kMax), 1);
}

// ---- capture_ucontext ----

void* g_signal_pcs[kMax];
int g_signal_n = 0;
int g_trap_line = 0;

void on_sigill(int, siginfo_t*, void* uc) {
  g_signal_n = trace::capture_ucontext(uc, g_signal_pcs, kMax);
  // Step over the 2-byte ud2 so the interrupted function carries on.
  static_cast<ucontext_t*>(uc)->uc_mcontext.gregs[REG_RIP] += 2;
}

[[gnu::noinline]] void weft_test_signal_fn() {
  g_trap_line = __LINE__ + 1;
  asm volatile("ud2" ::: "memory");
  asm volatile("" ::: "memory");
}

TEST(StackTrace, CaptureUcontextStartsAtInterruptedInstruction) {
  struct sigaction sa;
  struct sigaction old;
  std::memset(&sa, 0, sizeof sa);
  sa.sa_sigaction = on_sigill;
  sa.sa_flags = SA_SIGINFO;
  sigemptyset(&sa.sa_mask);
  ASSERT_EQ(sigaction(SIGILL, &sa, &old), 0);
  weft_test_signal_fn();
  sigaction(SIGILL, &old, nullptr);

  ASSERT_GT(g_signal_n, 1);
  const trace::frame top = trace::symbolize(g_signal_pcs[0], false);
  EXPECT_NE(top.function.find("weft_test_signal_fn"), std::string::npos) << top.function;
  if (has_line_info()) {
    EXPECT_EQ(top.line, g_trap_line);
  }
  const auto frames = symbolize_all(g_signal_pcs, g_signal_n);
  EXPECT_NE(find_frame(frames, "CaptureUcontextStartsAtInterruptedInstruction"), -1) << dump(frames);
}

// ---- symbolize / print_trace ----

TEST(StackTrace, SymbolizeSeesLibraryLoadedLater) {
  trace::symbolize(reinterpret_cast<void*>(&weft_test_signal_fn));  // the session exists
  void* lib = dlopen("libcrypt.so.1", RTLD_NOW | RTLD_LOCAL);
  if (lib == nullptr) GTEST_SKIP() << "libcrypt.so.1 not installed: " << dlerror();
  void* fn = dlsym(lib, "crypt");
  ASSERT_NE(fn, nullptr);
  EXPECT_EQ(trace::symbolize(fn, false).function, "crypt");
  dlclose(lib);
}

TEST(StackTrace, SymbolizeFromManyThreads) {
  void* pcs[kMax];
  const int n = weft_test_marker_fn(pcs, 0);
  const auto want = symbolize_all(pcs, n);
  std::vector<std::thread> threads;
  std::atomic<int> mismatches{0};
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&] {
      for (int round = 0; round < 50; ++round)
        for (int i = 0; i < n; ++i)
          if (trace::symbolize(pcs[i]).function != want[static_cast<std::size_t>(i)].function) ++mismatches;
    });
  for (auto& th : threads) th.join();
  EXPECT_EQ(mismatches.load(), 0);
}

TEST(StackTrace, SymbolizeGarbageIsUnknown) {
  for (std::uintptr_t pc : {std::uintptr_t{0}, std::uintptr_t{0x10}, ~std::uintptr_t{0}}) {
    const trace::frame f = trace::symbolize(reinterpret_cast<void*>(pc));
    EXPECT_EQ(f.function, "?");
    EXPECT_EQ(f.file, "");
    EXPECT_EQ(f.line, 0);
    EXPECT_EQ(f.pc, pc);
  }
}

// Parses the second line of a frame: "\t<file>:<line> +0x<off>", or
// "\t?:0 [+0x<off> ]pc=0x<pc>" when the file is unknown. Returns the line, or
// -1 if the line has neither form.
int parse_where(const std::string& l) {
  const char* c = l.c_str();
  char file[512];
  int line = 0;
  unsigned long long x = 0;
  int end = -1;
  if (std::sscanf(c, "\t?:0 +0x%llx pc=0x%llx%n", &x, &x, &end) == 2 && c[end] == '\0') return 0;
  end = -1;
  if (std::sscanf(c, "\t?:0 pc=0x%llx%n", &x, &end) == 1 && c[end] == '\0') return 0;
  end = -1;
  if (std::sscanf(c, "\t%511[^:]:%d +0x%llx%n", file, &line, &x, &end) == 3 && c[end] == '\0' &&
      file[0] != '?')
    return line;
  return -1;
}

TEST(StackTrace, PrintTraceFormat) {
  void* pcs[kMax];
  const int n = weft_test_marker_fn(pcs, 0);
  ASSERT_GT(n, 1);
  std::ostringstream out;
  trace::print_trace(out, pcs, n);
  const std::string s = out.str();

  // Two lines a frame: "function(...)" and "\tfile:line +0xoff".
  std::vector<std::string> lines;
  std::istringstream in(s);
  for (std::string l; std::getline(in, l);) lines.push_back(l);
  ASSERT_EQ(lines.size(), static_cast<std::size_t>(2 * n)) << s;
  ASSERT_EQ(s.back(), '\n');
  for (std::size_t i = 0; i < lines.size(); i += 2) {
    EXPECT_FALSE(lines[i].empty()) << s;
    EXPECT_NE(lines[i][0], '\t') << s;
    EXPECT_EQ(lines[i].back(), ')') << s;
    EXPECT_GE(parse_where(lines[i + 1]), 0) << "bad line: " << lines[i + 1];
  }
  EXPECT_NE(lines[0].find("weft_test_marker_fn("), std::string::npos) << s;
  if (!has_line_info()) return;
  EXPECT_EQ(lines[1].compare(0, 2, "\t/"), 0) << s;
  EXPECT_NE(lines[1].find("stacktrace_test.cpp:"), std::string::npos) << s;
  EXPECT_NEAR(parse_where(lines[1]), g_marker_line, 1) << s;
}

TEST(StackTrace, PrintTraceUnknownAndEmpty) {
  void* garbage[] = {reinterpret_cast<void*>(0x10)};
  std::ostringstream out;
  trace::print_trace(out, garbage, 1);
  EXPECT_EQ(out.str(), "?(...)\n\t?:0 pc=0x10\n");

  std::ostringstream empty;
  trace::print_trace(empty, garbage, 0);
  EXPECT_EQ(empty.str(), "");
}

}  // namespace
