// src/wire/trace_kind.hpp: TraceEvent.kind, the protocol's numbers for
// runtime events (docs/protocol.md, "Trace events"). Only appended to; a
// reader skips kinds it does not know.
#pragma once

#include <cstdint>

namespace weft::wire {

enum trace_kind : std::uint32_t {
  tk_go_create = 0,  // goroutine: the new one; arg: its creator (0: none); text: its name
  tk_go_start = 1,  // goroutine starts running
  tk_go_block = 2,  // goroutine parks; text: why ("chan receive", "mutex.lock", "sleep", ...)
  tk_go_unblock = 3,  // goroutine is readied; arg: the goroutine that woke it (0: none)
  tk_go_end = 4,
  tk_steal = 5,  // goroutine moved to another processor's queue; arg: the victim processor
  tk_m_park = 6,  // reserved (thread-level; weft's stub does not send them)
  tk_m_wake = 7,
  tk_go_yield = 8,  // goroutine stops running but stays runnable (yield, preemption)
  tk_chan_send = 9,  // goroutine sends on a channel; arg: the channel (an address); text: "try" or empty
  tk_chan_recv = 10,  // likewise, a receive
  tk_blocking_enter = 11,  // goroutine enters a blocking call; text: the calling function
  tk_blocking_exit = 12,
  tk_remote_call = 13,  // goroutine sends request arg to the server; text: its message ("ChanSend")
  tk_remote_reply = 14,  // request arg got its final reply
  tk_dropped = 15,  // arg events were dropped before this one (the stub's buffers were full)
  // Calls between circuit workers (weft::xref). arg: the call's flow id,
  // which caller and callee both compute (circuit/xref_flow.hpp), so a
  // reader joins the two ends across processes.
  tk_xref_call = 16,  // goroutine sends an xref call to another process
  tk_xref_reply = 17,  // call arg got its reply (goroutine: the link's reader, not the caller)
  tk_xref_serve = 18,  // goroutine starts serving call arg from another process
  tk_xref_served = 19,  // goroutine is done serving call arg (its reply is sent)
};

}  // namespace weft::wire
