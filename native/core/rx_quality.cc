#include "rx_quality.h"

#include <cmath>
#include <cstdlib>

namespace rms {

void BurstGapA2::OnLost(uint64_t gmin) {
  ++lossCount;
  if (pkt >= gmin) {
    // at least Gmin received since the previous loss: that loss (if alone)
    // was a gap loss, else its burst ended there
    if (lost == 1)
      ++c14;
    else
      ++c13;
    lost = 1;
    c11 += pkt;
  } else {
    ++lost;
    if (pkt == 0) {
      ++c33;
    } else {
      ++c23;
      c22 += pkt - 1;
    }
  }
  pkt = 0;
}

BurstGapFigures A2Figures(uint64_t c11, uint64_t c13, uint64_t c14, uint64_t c22, uint64_t c23, uint64_t c33,
                          double packetMs) {
  BurstGapFigures f;
  const double c31 = static_cast<double>(c13);
  const double c32 = static_cast<double>(c23);
  const double total = static_cast<double>(c11 + c14 + c13 + c22 + c23) + c31 + c32 + static_cast<double>(c33);
  if (total <= 0) return f;
  // A.2 gives p23 = 1 when the burst state never saw a received packet; with
  // no burst at all (no c23, no c33) that would read as a 100 % dense burst,
  // so no burst means density 0 here.
  const bool anyBurst = c23 + c33 > 0;
  const double p32 = (c31 + c32 + static_cast<double>(c33)) > 0 ? c32 / (c31 + c32 + static_cast<double>(c33)) : 0;
  const double p23 = (c22 + c23) < 1 ? 1.0 : 1.0 - static_cast<double>(c22) / static_cast<double>(c22 + c23);
  f.burstDensity = anyBurst && p23 + p32 > 0 ? p23 / (p23 + p32) : 0;
  f.gapDensity = (c11 + c14) > 0 ? static_cast<double>(c14) / static_cast<double>(c11 + c14) : 0;
  if (c13 > 0) {
    f.gapDurationMs = static_cast<double>(c11 + c14 + c13) * packetMs / static_cast<double>(c13);
    f.burstDurationMs = anyBurst ? total * packetMs / static_cast<double>(c13) - f.gapDurationMs : 0;
  } else {
    // no burst ended yet: the whole stream so far is one gap
    f.gapDurationMs = static_cast<double>(c11 + c14) * packetMs;
  }
  if (f.burstDurationMs < 0) f.burstDurationMs = 0;
  return f;
}

void RxQuality::Configure(uint32_t clockRate, int audioPt, uint32_t gmin) {
  std::lock_guard<std::mutex> lock(mu_);
  if (clockRate != clockRate_) haveTransit_ = false;
  clockRate_ = clockRate;
  audioPt_ = audioPt;
  gmin_ = gmin == 0 ? 16 : gmin;
  s_.clockRate = clockRate;
}

uint32_t RxQuality::gmin() const {
  std::lock_guard<std::mutex> lock(mu_);
  return gmin_;
}

void RxQuality::Commit(int64_t ext) {
  const bool got = Slot(ext);
  if (got)
    s_.a2.OnReceived();
  else
    s_.a2.OnLost(gmin_);
  if (haveLast_) {
    if (lastLost_)
      ++(got ? s_.lr : s_.ll);
    else
      ++(got ? s_.rr : s_.rl);
  }
  haveLast_ = true;
  lastLost_ = !got;
  committed_ = ext;
}

void RxQuality::Flush() {
  if (!started_) return;
  for (int64_t e = committed_ + 1; e <= highest_; ++e) Commit(e);
  expectedDone_ += static_cast<uint64_t>(highest_ - first_ + 1);
}

void RxQuality::ResetStream() {
  Flush();
  started_ = false;
  haveTransit_ = false;
  s_.jitter = 0;
}

void RxQuality::OnPacket(const uint8_t* d, size_t len, int64_t arrivalNs) {
  if (len < 12 || (d[0] >> 6) != 2) return;
  const int pt = d[1] & 0x7f;
  // RTCP on the RTP port (rtcp-mux) is not ours to count
  if (pt >= 72 && pt <= 79) return;
  const uint16_t seq = static_cast<uint16_t>((d[2] << 8) | d[3]);
  const uint32_t ts = (static_cast<uint32_t>(d[4]) << 24) | (d[5] << 16) | (d[6] << 8) | d[7];
  const uint32_t ssrc = (static_cast<uint32_t>(d[8]) << 24) | (d[9] << 16) | (d[10] << 8) | d[11];
  std::lock_guard<std::mutex> lock(mu_);
  s_.lastArrivalNs = arrivalNs;
  if (started_ && ssrc != ssrc_) ResetStream();
  int delta = 0;
  if (started_) {
    delta = static_cast<int16_t>(static_cast<uint16_t>(seq - static_cast<uint16_t>(highest_)));
    // a jump this large restarts the sequence (not loss): a new stream
    if (delta > kMaxJump || delta < -kMaxJump) ResetStream();
  }
  bool fresh = false;
  if (!started_) {
    started_ = true;
    ssrc_ = ssrc;
    s_.ssrc = ssrc;
    s_.haveSsrc = true;
    first_ = highest_ = seq;
    committed_ = first_ - 1;
    haveLast_ = false;
    for (bool& b : seen_) b = false;
    seen_[static_cast<size_t>(first_) % kReorderWindow] = true;
    intervalFrom_ = committed_;
    ++s_.received;
    ++intervalReceived_;
    fresh = true;
  } else {
    const int64_t ext = highest_ + delta;
    if (delta > 0) {
      for (int64_t e = highest_ + 1; e <= ext; ++e) {
        const int64_t old = e - kReorderWindow;
        if (old > committed_) Commit(old);
        seen_[static_cast<size_t>(e) % kReorderWindow] = false;
      }
      highest_ = ext;
      seen_[static_cast<size_t>(ext) % kReorderWindow] = true;
      ++s_.received;
      ++intervalReceived_;
      fresh = true;
    } else if (ext <= committed_) {
      ++s_.tooLate;
    } else if (Slot(ext)) {
      ++s_.duplicates;
      ++intervalDup_;
    } else {
      seen_[static_cast<size_t>(ext) % kReorderWindow] = true;
      ++s_.received;
      ++s_.reordered;
      if (ext > intervalFrom_) ++intervalReceived_;
      fresh = true;
    }
  }
  if (!fresh || clockRate_ == 0 || (audioPt_ >= 0 && pt != audioPt_)) return;
  // RFC 3550 6.4.1 / A.8, in arrival order: D = difference of the transit times
  if (haveTransit_) {
    const double arrivalTs = static_cast<double>(arrivalNs - prevArrivalNs_) * clockRate_ / 1e9;
    const double sent = static_cast<double>(static_cast<int32_t>(ts - prevTs_));
    const double dAbs = std::fabs(arrivalTs - sent);
    s_.jitter += (dAbs - s_.jitter) / 16.0;
    ++s_.jitterPackets;
    if (jn_ == 0 || dAbs < jmin_) jmin_ = dAbs;
    if (jn_ == 0 || dAbs > jmax_) jmax_ = dAbs;
    jsum_ += dAbs;
    jsum2_ += dAbs * dAbs;
    ++jn_;
  }
  haveTransit_ = true;
  prevArrivalNs_ = arrivalNs;
  prevTs_ = ts;
}

RxQualitySnapshot RxQuality::Snapshot() const {
  std::lock_guard<std::mutex> lock(mu_);
  RxQualitySnapshot out = s_;
  if (!started_) {
    out.expected = expectedDone_;
  } else {
    out.expected = expectedDone_ + static_cast<uint64_t>(highest_ - first_ + 1);
    // the open window, provisionally: what has not arrived is lost for now
    bool last = lastLost_;
    bool have = haveLast_;
    for (int64_t e = committed_ + 1; e <= highest_; ++e) {
      const bool got = Slot(e);
      if (got)
        out.a2.OnReceived();
      else
        out.a2.OnLost(gmin_);
      if (have) {
        if (last)
          ++(got ? out.lr : out.ll);
        else
          ++(got ? out.rr : out.rl);
      }
      have = true;
      last = !got;
    }
  }
  out.lost = out.expected > out.received ? out.expected - out.received : 0;
  return out;
}

RxInterval RxQuality::TakeInterval() {
  std::lock_guard<std::mutex> lock(mu_);
  RxInterval r;
  if (!started_ || highest_ <= intervalFrom_) return r;
  r.any = true;
  r.beginSeq = static_cast<uint16_t>(intervalFrom_ + 1);
  r.endSeq = static_cast<uint16_t>(highest_ + 1);
  const uint64_t expected = static_cast<uint64_t>(highest_ - intervalFrom_);
  r.lost = static_cast<uint32_t>(expected > intervalReceived_ ? expected - intervalReceived_ : 0);
  r.dup = static_cast<uint32_t>(intervalDup_);
  if (jn_ > 0) {
    const double mean = jsum_ / static_cast<double>(jn_);
    const double var = jn_ > 1 ? std::max(0.0, (jsum2_ - jsum_ * mean) / static_cast<double>(jn_ - 1)) : 0.0;
    r.haveJitter = true;
    r.jitterMin = static_cast<uint32_t>(std::lround(jmin_));
    r.jitterMax = static_cast<uint32_t>(std::lround(jmax_));
    r.jitterMean = static_cast<uint32_t>(std::lround(mean));
    r.jitterDev = static_cast<uint32_t>(std::lround(std::sqrt(var)));
  }
  intervalFrom_ = highest_;
  intervalReceived_ = 0;
  intervalDup_ = 0;
  jn_ = 0;
  jsum_ = jsum2_ = 0;
  return r;
}

}  // namespace rms
