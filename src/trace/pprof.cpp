// src/trace/pprof.cpp: encoding a CPU profile as pprof's profile.proto.
//
// The format (proto/pprof/profile.proto) is a table of strings, functions,
// locations and mappings, and samples that point into them:
//   Sample    location ids, innermost first; values [samples, cpu ns];
//             labels "goroutine" (its id) and "goroutine_name" (if named).
//   Location  one pc. Its address is the interrupted pc for a sample's
//             innermost frame, and return address - 1 for the others: the
//             call instruction, whose line is the caller's. Locations are
//             shared by that address.
//   Function  one (name, file) pair, as the libdw symbolizer says.
//   Mapping   each loaded object's executable segment, the main binary
//             first; has_functions etc. are set so pprof does not look for
//             the binaries to symbolize again.
// Invariants: string_table[0] == ""; ids are 1-based indexes; every
// Location has exactly one Line (weft's symbolizer does not expand inlined
// frames: an inlined function shows as the function it was inlined into).
//
// Symbolization runs here, after the recording, not in the signal handler
// (it allocates and locks), and on a system stack (on_system_stack: libdw
// overflows a goroutine's).
#include "trace/pprof.hpp"

#include <elf.h>
#include <link.h>
#include <unistd.h>
#include <zlib.h>

#include <climits>
#include <exception>
#include <map>
#include <stdexcept>
#include <unordered_map>
#include <utility>
#include <vector>

#include "pprof/profile.pb.h"
#include "runtime/fatal.hpp"
#include "trace/stacktrace.hpp"

namespace weft::detail::trace {

namespace {

namespace pb = weft::pprof;

class string_table {
 public:
  explicit string_table(pb::Profile* p) : p_(p) { id(""); }
  std::int64_t id(const std::string& s) {
    auto [it, fresh] = ids_.try_emplace(s, static_cast<std::int64_t>(ids_.size()));
    if (fresh) p_->add_string_table(s);
    return it->second;
  }

 private:
  pb::Profile* p_;
  std::unordered_map<std::string, std::int64_t> ids_;
};

struct segment {
  std::uint64_t start, limit, offset;
  std::string file;
};

std::string main_program_path() {
  char buf[PATH_MAX];
  const ssize_t len = ::readlink("/proc/self/exe", buf, sizeof buf - 1);
  return len > 0 ? std::string(buf, static_cast<std::size_t>(len)) : std::string("/proc/self/exe");
}

// Every loaded object's executable segments, the main program's first.
std::vector<segment> executable_segments() {
  std::vector<segment> out;
  dl_iterate_phdr(
      [](dl_phdr_info* info, std::size_t, void* data) -> int {
        auto* segs = static_cast<std::vector<segment>*>(data);
        const bool main = segs->empty();  // the loader lists the main program first
        std::string file = main ? main_program_path() : (info->dlpi_name ? info->dlpi_name : "");
        if (file.empty()) return 0;  // the vDSO: no file to name
        for (int i = 0; i < info->dlpi_phnum; ++i) {
          const ElfW(Phdr)& ph = info->dlpi_phdr[i];
          if (ph.p_type != PT_LOAD || !(ph.p_flags & PF_X)) continue;
          const std::uint64_t start = info->dlpi_addr + ph.p_vaddr;
          segs->push_back({start, start + ph.p_memsz, ph.p_offset, file});
        }
        return 0;
      },
      &out);
  return out;
}

std::string encode_here(const cpu_profile_data& p) {
  pb::Profile prof;
  string_table strings(&prof);

  pb::ValueType* samples = prof.add_sample_type();
  samples->set_type(strings.id("samples"));
  samples->set_unit(strings.id("count"));
  pb::ValueType* cpu = prof.add_sample_type();
  cpu->set_type(strings.id("cpu"));
  cpu->set_unit(strings.id("nanoseconds"));
  prof.mutable_period_type()->set_type(strings.id("cpu"));
  prof.mutable_period_type()->set_unit(strings.id("nanoseconds"));
  prof.set_period(p.period_ns);
  prof.set_time_nanos(p.start_unix_ns);
  prof.set_duration_nanos(p.duration_ns);

  const std::vector<segment> segs = executable_segments();
  for (std::size_t i = 0; i < segs.size(); ++i) {
    pb::Mapping* m = prof.add_mapping();
    m->set_id(i + 1);
    m->set_memory_start(segs[i].start);
    m->set_memory_limit(segs[i].limit);
    m->set_file_offset(segs[i].offset);
    m->set_filename(strings.id(segs[i].file));
    m->set_has_functions(true);
    m->set_has_filenames(true);
    m->set_has_line_numbers(true);
  }
  auto mapping_of = [&segs](std::uint64_t addr) -> std::uint64_t {
    for (std::size_t i = 0; i < segs.size(); ++i)
      if (addr >= segs[i].start && addr < segs[i].limit) return i + 1;
    return 0;
  };

  std::map<std::pair<std::string, std::string>, std::uint64_t> functions;  // (name, file) -> id
  std::unordered_map<std::uint64_t, std::uint64_t> locations;  // address -> id
  auto location_of = [&](std::uint64_t addr) {
    auto [it, fresh] = locations.try_emplace(addr, locations.size() + 1);
    if (!fresh) return it->second;
    const frame f = symbolize(reinterpret_cast<void*>(addr), false);
    auto [fit, new_function] = functions.try_emplace({f.function, f.file}, functions.size() + 1);
    if (new_function) {
      pb::Function* fn = prof.add_function();
      fn->set_id(fit->second);
      fn->set_name(strings.id(f.function));
      fn->set_system_name(fn->name());
      fn->set_filename(strings.id(f.file));
    }
    pb::Location* loc = prof.add_location();
    loc->set_id(it->second);
    loc->set_mapping_id(mapping_of(addr));
    loc->set_address(addr);
    pb::Line* line = loc->add_line();
    line->set_function_id(fit->second);
    line->set_line(f.line);
    return it->second;
  };

  const std::int64_t goroutine_key = strings.id("goroutine");
  const std::int64_t name_key = strings.id("goroutine_name");
  for (const stack_count& s : p.stacks) {
    pb::Sample* smp = prof.add_sample();
    for (std::size_t i = 0; i < s.pcs.size(); ++i) {
      // pcs[0] was interrupted there; the others are return addresses.
      const std::uint64_t addr = i == 0 || s.pcs[i] == 0 ? s.pcs[i] : s.pcs[i] - 1;
      smp->add_location_id(location_of(addr));
    }
    smp->add_value(s.count);
    smp->add_value(s.count * p.period_ns);
    if (s.goid != 0) {
      pb::Label* l = smp->add_label();
      l->set_key(goroutine_key);
      l->set_str(strings.id(std::to_string(s.goid)));
    }
    if (!s.goroutine_name.empty()) {
      pb::Label* l = smp->add_label();
      l->set_key(name_key);
      l->set_str(strings.id(s.goroutine_name));
    }
  }
  return prof.SerializeAsString();
}

}  // namespace

std::string encode_pprof(const cpu_profile_data& p) {
  // libdw needs far more stack than a goroutine's 64 KiB: on a goroutine,
  // this runs on a helper thread (the goroutine's M waits for it).
  std::string out;
  std::exception_ptr failed;
  on_system_stack([&] {
    try {
      out = encode_here(p);
    } catch (...) {
      failed = std::current_exception();
    }
  });
  if (failed) std::rethrow_exception(failed);
  return out;
}

std::string gzip_bytes(const std::string& data) {
  z_stream zs{};
  // windowBits 15 + 16: a gzip header and trailer rather than zlib's.
  if (deflateInit2(&zs, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
    throw std::runtime_error("zlib: deflateInit2 failed");
  std::string out(deflateBound(&zs, static_cast<uLong>(data.size())), '\0');
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  zs.avail_in = static_cast<uInt>(data.size());
  zs.next_out = reinterpret_cast<Bytef*>(out.data());
  zs.avail_out = static_cast<uInt>(out.size());
  const int r = deflate(&zs, Z_FINISH);
  deflateEnd(&zs);
  if (r != Z_STREAM_END) throw std::runtime_error("zlib: deflate did not finish (" + std::to_string(r) + ")");
  out.resize(zs.total_out);
  return out;
}

}  // namespace weft::detail::trace
