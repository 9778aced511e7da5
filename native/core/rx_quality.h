// What a receiver can say about an RTP stream from the packets as they
// arrive, before any jitter buffer: loss, duplicates and reordering from the
// sequence numbers, the RFC 3611 Appendix A.2 burst/gap counters, the
// 2-state loss model G.107 takes its BurstR from, and RFC 3550 interarrival
// jitter from the kernel's arrival times.
//
// Loss is decided late: a sequence number is only counted lost once a packet
// kReorderWindow numbers later has arrived, so a packet that comes out of
// order (or twice) is never counted as lost. Snapshots run the still open
// window provisionally (what has not arrived yet counts as lost there).
//
// Threads: OnPacket() and TakeInterval() on the ticker thread that reads the
// session, Snapshot() and Configure() from anywhere; one mutex, held briefly.
#pragma once
#include <cstddef>
#include <cstdint>
#include <mutex>

namespace rms {

// RFC 3611 Appendix A.2: per-packet transition counts of its 4-state model.
struct BurstGapA2 {
  uint64_t c11 = 0, c13 = 0, c14 = 0, c22 = 0, c23 = 0, c33 = 0;
  uint64_t lossCount = 0;
  uint64_t pkt = 0;   // received since the last loss
  uint64_t lost = 0;  // losses in the current burst (1: an isolated loss so far)
  void OnReceived() { ++pkt; }
  void OnLost(uint64_t gmin);
};

// The four VoIP metrics of A.2 from counters (or differences of counters).
struct BurstGapFigures {
  double burstDensity = 0;  // 0..1
  double gapDensity = 0;
  double burstDurationMs = 0;
  double gapDurationMs = 0;
};
BurstGapFigures A2Figures(uint64_t c11, uint64_t c13, uint64_t c14, uint64_t c22, uint64_t c23, uint64_t c33,
                          double packetMs);

struct RxQualitySnapshot {
  uint64_t received = 0;    // distinct packets (duplicates not counted)
  uint64_t expected = 0;    // sum over streams of highest - first + 1
  uint64_t lost = 0;        // expected - received
  uint64_t duplicates = 0;  // a sequence number seen again
  uint64_t reordered = 0;   // arrived after a higher sequence number, in time
  uint64_t tooLate = 0;     // arrived after it had been counted lost
  BurstGapA2 a2;
  // transitions of the received/lost sequence: rr, rl, lr, ll
  uint64_t rr = 0, rl = 0, lr = 0, ll = 0;
  double jitter = 0;  // RFC 3550 J, RTP timestamp units
  uint32_t clockRate = 0;
  uint32_t ssrc = 0;
  bool haveSsrc = false;
  uint64_t jitterPackets = 0;  // packets that entered the jitter estimate
  int64_t lastArrivalNs = 0;   // CLOCK_REALTIME
};

// What the XR statistics summary block (RFC 3611 4.6) reports between two
// reports; jitter values are |D(i-1,i)| in timestamp units.
struct RxInterval {
  bool any = false;
  uint16_t beginSeq = 0;
  uint16_t endSeq = 0;  // last + 1
  uint32_t lost = 0;
  uint32_t dup = 0;
  uint32_t jitterMin = 0, jitterMax = 0, jitterMean = 0, jitterDev = 0;
  bool haveJitter = false;
};

class RxQuality {
 public:
  static constexpr int kReorderWindow = 128;
  static constexpr int kMaxJump = 3000;

  // clockRate 0: no jitter; audioPt -1: every payload type enters the jitter.
  void Configure(uint32_t clockRate, int audioPt, uint32_t gmin);
  // One RTP packet as it arrived (header only is read).
  void OnPacket(const uint8_t* data, size_t len, int64_t arrivalNs);
  RxQualitySnapshot Snapshot() const;
  RxInterval TakeInterval();
  uint32_t gmin() const;

 private:
  void Commit(int64_t ext);
  void Flush();
  void ResetStream();
  bool Slot(int64_t ext) const { return seen_[static_cast<size_t>(ext) % kReorderWindow]; }

  mutable std::mutex mu_;
  uint32_t clockRate_ = 0;
  int audioPt_ = -1;
  uint32_t gmin_ = 16;
  // sequence state of the current stream
  bool started_ = false;
  uint32_t ssrc_ = 0;
  int64_t first_ = 0, highest_ = 0, committed_ = 0;
  bool seen_[kReorderWindow] = {};
  bool lastLost_ = false, haveLast_ = false;
  uint64_t expectedDone_ = 0;  // of streams before this one
  RxQualitySnapshot s_;        // committed counters
  // jitter
  bool haveTransit_ = false;
  int64_t prevArrivalNs_ = 0;
  uint32_t prevTs_ = 0;
  // interval
  int64_t intervalFrom_ = 0;  // highest at the last TakeInterval()
  uint64_t intervalReceived_ = 0, intervalDup_ = 0, jn_ = 0;
  double jmin_ = 0, jmax_ = 0, jsum_ = 0, jsum2_ = 0;
};

}  // namespace rms
