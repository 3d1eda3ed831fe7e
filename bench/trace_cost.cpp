// bench/trace_cost.cpp: what one runtime event costs a traced program
// (docs/remote.md, "The trace logger"), stage by stage, on one thread:
// recording it (runtime/trace_events.cpp), draining it, encoding it into
// TraceEvents frames (remote/trace_encode.cpp), a server's parse of
// those frames (wire::parse_frame, into a reused Frame as weftd's reader
// does), and its writing them as trace JSON (wire::trace_log, to
// /dev/null). No peer: no other runtime has this split. Prints medians of
// `-runs` rounds of 60,000 events: 100 goroutines each starting, blocking
// with a wait reason and being woken, as a network server's are.
#include <weft/weft.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "remote/trace_encode.hpp"
#include "runtime/runtime.hpp"
#include "runtime/trace_events.hpp"
#include "weft/runtime/v1/runtime.pb.h"
#include "wire/frame.hpp"
#include "wire/trace_log.hpp"

namespace {

using clk = std::chrono::steady_clock;
namespace d = weft::detail;

double ns_per(clk::duration t, int n) { return std::chrono::duration<double, std::nano>(t).count() / n; }

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  int runs = 9;
  for (int i = 1; i + 1 < argc; ++i)
    if (std::strcmp(argv[i], "-runs") == 0) runs = std::max(1, std::atoi(argv[i + 1]));
  constexpr int events = 60000;
  std::vector<double> record, drain, encode, parse, json;
  weft::run([&] {
    d::trace_start();
    d::m* mp = d::this_m();
    d::trace_batch batch;
    std::string framed;
    weft::runtime::v1::Frame reused;
    weft::wire::trace_log log("/dev/null", nullptr);
    log.attach(1, 4242, "/bench/weft-trace-cost");
    for (int r = 0; r < runs + 1; ++r) {  // the first round warms the buffers up
      auto t0 = clk::now();
      for (int i = 0; i < events; ++i) {
        const std::uint64_t g = 5 + i / 3 % 100;
        switch (i % 3) {
          case 0: d::trace_record(mp, d::ev::go_start, g, 0); break;
          case 1: d::trace_record(mp, d::ev::go_block, g, 0, "IO read"); break;
          default: d::trace_record(mp, d::ev::go_unblock, g, 1); break;
        }
      }
      auto t1 = clk::now();
      d::trace_drain_into(batch);
      auto t2 = clk::now();
      framed.clear();
      weft::remote::detail::trace_framed(batch, 8192, framed);
      auto t3 = clk::now();
      weft::wire::frame_decoder dec;
      dec.feed(framed);
      std::string_view payload;
      int frames = 0;
      clk::duration parsing{}, writing{};
      while (dec.next(&payload) == weft::wire::frame_decoder::status::ready) {
        auto a = clk::now();
        frames += weft::wire::parse_frame(payload, reused) ? 1 : 0;
        auto b = clk::now();
        log.record(1, reused.trace_events());
        writing += clk::now() - b;
        parsing += b - a;
      }
      if (frames == 0 || batch.events.size() + batch.dropped < static_cast<std::size_t>(events)) {
        std::fprintf(stderr, "weft-trace-cost: %zu events drained, %d frames parsed\n", batch.events.size(), frames);
        std::exit(1);
      }
      if (r == 0) continue;
      record.push_back(ns_per(t1 - t0, events));
      drain.push_back(ns_per(t2 - t1, events));
      encode.push_back(ns_per(t3 - t2, events));
      parse.push_back(ns_per(parsing, events));
      json.push_back(ns_per(writing, events));
    }
    d::trace_finish();
  });
  std::printf("trace event cost (ns, medians of %d runs of %d events): record %.1f, drain %.1f, encode %.1f, "
              "server parse %.1f, server JSON %.1f\n",
              runs, events, median(record), median(drain), median(encode), median(parse), median(json));
}
