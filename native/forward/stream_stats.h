// RFC 3550 receive statistics of one relayed RTP stream, kept by the
// forwarder's worker thread while it forwards the packets untouched.
//
// Loss is counted over unique sequence numbers: duplicates (a sequence
// number seen in the last 64) and reordered packets (one older than the
// highest seen, not seen before) are counted as such, never as loss. The
// RFC 3611 burst/gap meter (core/burst_gap.h) wants packets in order, so it
// is fed through a reorder window: a sequence number is final - received or
// lost - once kReorderWindow newer ones have been seen; a packet later than
// that was already counted lost there and is counted `late` here.
//
// Threads: Update() on the worker thread only; Snapshot() anywhere (relaxed
// atomics: a snapshot may be a packet stale, never torn).
#pragma once
#include <atomic>
#include <cstdint>

#include "core/burst_gap.h"

namespace rms::fwd {

struct StreamSnapshot {
  uint64_t packets;  // every RTP packet accepted from the source (duplicates too)
  uint64_t bytes;    // their size, RTP header included
  uint32_t ssrc;
  uint32_t ssrcChanges;
  uint64_t expected;  // highest - first sequence number + 1 (extended)
  uint64_t lost;      // expected - unique received, never negative
  uint64_t duplicates;
  uint64_t reordered;      // arrived after a newer sequence number
  uint64_t late;           // reordered beyond the reorder window (the burst meter counted them lost)
  uint32_t highestSeq;     // extended
  double jitter;           // RFC 3550 interarrival jitter, RTP clock units
  uint32_t clockRate;      // of the last packet whose PT has a known clock (0: none)
  uint64_t lastArrivalNs;  // CLOCK_MONOTONIC of the last packet, 0 if none
  BurstGapSnapshot burst;
};

class StreamStats {
 public:
  static constexpr int kReorderWindow = 16;

  // One accepted packet. clockRate 0: unknown PT (no jitter). countJitter:
  // false for packets whose timestamp does not move with time (RFC 4733
  // events keep the timestamp of their start).
  void Update(uint16_t seq, uint32_t ts, uint32_t ssrc, uint32_t bytes, uint64_t nowNs, uint32_t clockRate,
              bool countJitter);
  StreamSnapshot Snapshot() const;

 private:
  void Restart(uint16_t seq, uint32_t ssrc);
  void Advance(uint32_t by);  // the highest sequence number moves up
  void Publish();
  static void Add(std::atomic<uint64_t>& a, uint64_t n) {
    a.store(a.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
  }

  // worker thread only
  bool started_ = false;
  // the current stream (since the last SSRC change or restart)
  uint32_t baseSeq_ = 0;  // extended
  uint32_t maxSeq_ = 0;   // extended
  uint64_t window_ = 0;   // bit i: maxSeq_ - i received
  uint64_t unique_ = 0;
  // the streams before it
  uint64_t pastExpected_ = 0;
  uint64_t pastUnique_ = 0;
  bool haveTransit_ = false;
  double prevArrival_ = 0;  // seconds
  uint32_t prevTs_ = 0;
  uint32_t prevClock_ = 0;
  double jitterSec_ = 0;
  BurstGap burst_{16};

  std::atomic<uint64_t> packets_{0}, bytes_{0}, expected_{0}, lost_{0}, dups_{0}, reordered_{0}, late_{0};
  std::atomic<uint32_t> ssrc_{0}, ssrcChanges_{0}, highest_{0}, clock_{0};
  std::atomic<double> jitter_{0};
  std::atomic<uint64_t> lastNs_{0};
};

}  // namespace rms::fwd
