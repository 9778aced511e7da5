#include "forward/stream_stats.h"

#include <cmath>

namespace rms::fwd {

namespace {
constexpr auto kRelaxed = std::memory_order_relaxed;
// RFC 3550 A.1: a jump this large (either way) is a restart, not loss
constexpr int kMaxJump = 3000;
constexpr uint32_t kCycle = 0x10000;
}  // namespace

void StreamStats::Restart(uint16_t seq, uint32_t ssrc) {
  if (started_ && ssrc != ssrc_.load(kRelaxed)) ssrcChanges_.store(ssrcChanges_.load(kRelaxed) + 1, kRelaxed);
  if (started_) {
    // what the reorder window still holds is final now, in order
    for (int p = kReorderWindow - 1; p >= 0; --p) {
      uint32_t s = maxSeq_ - static_cast<uint32_t>(p);
      if (static_cast<int32_t>(s - baseSeq_) >= 0 && ((window_ >> p) & 1)) burst_.OnPacket(static_cast<uint16_t>(s));
    }
    burst_.Resync();
    pastExpected_ += static_cast<uint64_t>(maxSeq_ - baseSeq_) + 1;
    pastUnique_ += unique_;
  }
  started_ = true;
  // one cycle up, so that a packet older than the first does not wrap below 0
  baseSeq_ = kCycle + seq;
  maxSeq_ = baseSeq_;
  window_ = 1;
  unique_ = 1;
  haveTransit_ = false;
  ssrc_.store(ssrc, kRelaxed);
}

void StreamStats::Advance(uint32_t by) {
  // sequence numbers that reach the end of the reorder window are final:
  // the received ones go to the burst meter in order, the others are lost
  const uint32_t first = maxSeq_ - kReorderWindow + 1;
  for (uint32_t i = 0; i < by && i < static_cast<uint32_t>(kReorderWindow); ++i) {
    uint32_t s = first + i;
    if (static_cast<int32_t>(s - baseSeq_) < 0) continue;
    if ((window_ >> (maxSeq_ - s)) & 1) burst_.OnPacket(static_cast<uint16_t>(s));
  }
  window_ = by >= 64 ? 0 : window_ << by;
  window_ |= 1;
  maxSeq_ += by;
  ++unique_;
}

void StreamStats::Update(uint16_t seq, uint32_t ts, uint32_t ssrc, uint32_t bytes, uint64_t nowNs, uint32_t clockRate,
                         bool countJitter) {
  Add(packets_, 1);
  Add(bytes_, bytes);
  lastNs_.store(nowNs, kRelaxed);
  bool duplicate = false;
  if (!started_ || ssrc != ssrc_.load(kRelaxed)) {
    Restart(seq, ssrc);
  } else {
    int delta = static_cast<int16_t>(static_cast<uint16_t>(seq - static_cast<uint16_t>(maxSeq_)));
    if (delta > kMaxJump || delta < -kMaxJump) {
      Restart(seq, ssrc);
    } else if (delta > 0) {
      Advance(static_cast<uint32_t>(delta));
    } else if (delta == 0) {
      duplicate = true;
    } else {
      uint32_t back = static_cast<uint32_t>(-delta);
      if (back < 64 && ((window_ >> back) & 1)) {
        duplicate = true;
      } else if (static_cast<int32_t>((maxSeq_ - back) - baseSeq_) < 0) {
        // older than the stream's first packet: the stream started with a reordered packet
        baseSeq_ = maxSeq_ - back;
        if (back < 64) window_ |= uint64_t{1} << back;
        ++unique_;
        Add(reordered_, 1);
      } else {
        if (back < 64) window_ |= uint64_t{1} << back;
        ++unique_;
        Add(reordered_, 1);
        if (back >= static_cast<uint32_t>(kReorderWindow)) Add(late_, 1);
      }
    }
  }
  if (duplicate) {
    Add(dups_, 1);
    Publish();
    return;
  }
  // RFC 3550 A.8, in seconds so that a change of clock rate (PT) keeps it
  const double arrival = static_cast<double>(nowNs) * 1e-9;
  if (countJitter && clockRate > 0) {
    if (haveTransit_ && clockRate == prevClock_) {
      double d = (arrival - prevArrival_) - static_cast<int32_t>(ts - prevTs_) / static_cast<double>(clockRate);
      jitterSec_ += (std::fabs(d) - jitterSec_) / 16.0;
    }
    haveTransit_ = true;
    prevArrival_ = arrival;
    prevTs_ = ts;
    prevClock_ = clockRate;
    clock_.store(clockRate, kRelaxed);
    jitter_.store(jitterSec_ * clockRate, kRelaxed);
  }
  Publish();
}

void StreamStats::Publish() {
  uint64_t expected = pastExpected_ + static_cast<uint64_t>(maxSeq_ - baseSeq_) + 1;
  uint64_t unique = pastUnique_ + unique_;
  expected_.store(expected, kRelaxed);
  lost_.store(expected > unique ? expected - unique : 0, kRelaxed);
  highest_.store(maxSeq_ - kCycle, kRelaxed);
}

StreamSnapshot StreamStats::Snapshot() const {
  StreamSnapshot s{};
  s.packets = packets_.load(kRelaxed);
  s.bytes = bytes_.load(kRelaxed);
  s.ssrc = ssrc_.load(kRelaxed);
  s.ssrcChanges = ssrcChanges_.load(kRelaxed);
  s.expected = expected_.load(kRelaxed);
  s.lost = lost_.load(kRelaxed);
  s.duplicates = dups_.load(kRelaxed);
  s.reordered = reordered_.load(kRelaxed);
  s.late = late_.load(kRelaxed);
  s.highestSeq = highest_.load(kRelaxed);
  s.jitter = jitter_.load(kRelaxed);
  s.clockRate = clock_.load(kRelaxed);
  s.lastArrivalNs = lastNs_.load(kRelaxed);
  s.burst = burst_.Snapshot();
  return s;
}

}  // namespace rms::fwd
