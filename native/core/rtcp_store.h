// A bounded store of the RTCP packets a session received and emitted, for
// pollRtcp().
//
// oRTP posts every RTCP compound it receives or sends to the session's event
// queues, one heap event (with a ~1.5 KB buffer) each, and the queue has no
// bound: polled rarely from JS, a peer's flood of well-formed RRs (15 000/s)
// grew a call by +675 MiB in a minute, and destroying the queue at delete
// took seconds on the event loop. The store takes the events off oRTP's queue
// as they come (Collect(), on the ticker thread at each RTCP read and send,
// see SetGateRtcpHook in recv_gate.h; and from JS at each poll) and keeps, per
// direction, the newest kPerKind packets of each kind the quality layer reads
// (SR, RR, and each XR block type) - so a flood of one kind cannot push out
// another. What it pushes out unread is counted. Other packet types (SDES,
// BYE, APP, feedback) are not kept.
//
// Threads: Collect() and Take() may run on any threads at once (a mutex).
#pragma once
#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <vector>

#include "ms_includes.h"
#include <ortp/event.h>

namespace rms {

class RtcpStore {
 public:
  static constexpr size_t kPerKind = 8;
  // Longest packet kept (an SR with 31 report blocks is 772 bytes).
  static constexpr size_t kMaxPacket = 1024;

  enum Kind { kSr, kRr, kXrRcvrRtt, kXrDlrr, kXrStatSummary, kXrVoipMetrics, kXrOther, kKinds };

  struct Packet {
    bool received = false;
    double atMs = 0;             // wall clock when stored
    uint64_t seq = 0;            // store order
    std::vector<uint8_t> bytes;  // one RTCP packet
  };

  RtcpStore() = default;
  RtcpStore(const RtcpStore&) = delete;
  RtcpStore& operator=(const RtcpStore&) = delete;

  // Empties oRTP's queue into the store: RTCP packets received and emitted
  // are kept (as above), every other event is destroyed.
  void Collect(OrtpEvQueue* q);
  // Adds the packets of one compound (received ones were checked by the
  // receive gate; still, a packet running past `n` ends the walk).
  void AddCompound(const uint8_t* p, size_t n, bool received, double atMs);
  // Everything stored, oldest first; the store is empty after.
  std::vector<Packet> Take();

  // Packets pushed out before Take() saw them.
  uint64_t overflow() const { return overflow_.load(std::memory_order_relaxed); }
  // Packets kept since the start.
  uint64_t stored() const { return stored_.load(std::memory_order_relaxed); }

  static double NowMs();

 private:
  struct Ring {
    std::array<Packet, kPerKind> slots;
    size_t head = 0;  // next slot to write
    size_t size = 0;
  };
  void Add(Kind k, const uint8_t* p, size_t len, bool received, double atMs);

  std::mutex mutex_;
  std::array<Ring, 2 * kKinds> rings_;  // [received ? 0 : 1][kind]
  uint64_t seq_ = 0;
  std::atomic<uint64_t> overflow_{0};
  std::atomic<uint64_t> stored_{0};
};

}  // namespace rms
