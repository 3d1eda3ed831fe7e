// src/wire/trace_summary.hpp: what a traced program did, in a few lines
// (the table `weft remote --trace` prints when the program ends).
//
// Counts goroutines created and ended, operations per channel (a channel
// is its address in the program: channels have no names), and keeps the
// longest blocks seen (goroutine, reason, duration). The runtime's own
// goroutines (named "weft: ...": the stub's reader waits on its socket all
// run long, its writer takes a doorbell per frame) are left out of both,
// or they would crowd out the program's. Bounded: at most
// max_chans channels are counted (later ones are lumped as "others"), and
// only the top max_blocks blocks are kept.
#pragma once

#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

namespace weft::wire {

// Whether a goroutine named so is the runtime's own.
bool runtime_goroutine(const std::string& name);

class trace_summary {
 public:
  static constexpr std::size_t max_chans = 1u << 16;
  static constexpr std::size_t max_blocks = 5;
  static constexpr std::size_t shown_chans = 5;

  void created() { ++created_; }
  void ended() { ++ended_; }
  void event() { ++events_; }
  void dropped(std::uint64_t n) { dropped_ += n; }
  // n events not recorded: the trace in memory reached its cap.
  void over_cap(std::uint64_t n) { over_cap_ += n; }
  std::uint64_t over_cap_count() const { return over_cap_; }
  // An operation on `chan` by a goroutine named `by`.
  void chan_op(std::uint64_t chan, bool send, const std::string& by);
  // A block of goroutine g (named `name`, or "") for `ns` nanoseconds.
  // still: it had not ended when the program did.
  void block(std::uint64_t g, const std::string& name, const std::string& reason, std::int64_t ns, bool still);
  // Goroutine g, whose blocks were counted nameless, is named `name` (it
  // predates the trace, and was woken before it first ran: trace_log).
  void named(std::uint64_t g, const std::string& name);

  // The table: a header line naming `who`, then the busiest channels and
  // the longest blocks, each line indented.
  std::string table(const std::string& who) const;

 private:
  struct chan_ops {
    std::uint64_t sends = 0, recvs = 0;
  };
  struct blocked {
    std::uint64_t g;
    std::string name, reason;
    std::int64_t ns;
    bool still;
  };
  std::uint64_t created_ = 0, ended_ = 0, events_ = 0, dropped_ = 0, over_cap_ = 0;
  std::unordered_map<std::uint64_t, chan_ops> chans_;
  chan_ops others_;
  std::vector<blocked> longest_;  // sorted, longest first
};

}  // namespace weft::wire
