#include "burst_gap.h"

namespace rms {

namespace {
constexpr auto kRelaxed = std::memory_order_relaxed;
// A sequence jump this large is a restart (new stream, SSRC change), not loss.
constexpr int kMaxJump = 3000;
}  // namespace

void BurstGap::OnLoss() {
  packets_.fetch_add(1, kRelaxed);
  lost_.fetch_add(1, kRelaxed);
  if (haveLoss_ && receivedSinceLoss_ < gmin_) {
    if (!inBurst_) {
      // the previous loss opens a burst: it and what followed move out of the gap
      inBurst_ = true;
      bursts_.fetch_add(1, kRelaxed);
      burstPackets_.fetch_add(1, kRelaxed);
      burstLost_.fetch_add(1, kRelaxed);
    }
    burstPackets_.fetch_add(receivedSinceLoss_ + 1, kRelaxed);
    burstLost_.fetch_add(1, kRelaxed);
  } else {
    inBurst_ = false;  // isolated for now: a gap loss
  }
  haveLoss_ = true;
  receivedSinceLoss_ = 0;
}

void BurstGap::OnReceived() {
  packets_.fetch_add(1, kRelaxed);
  if (haveLoss_ && ++receivedSinceLoss_ >= gmin_) inBurst_ = false;
}

void BurstGap::OnPacket(uint16_t seq) {
  if (!started_) {
    started_ = true;
    lastSeq_ = seq;
    OnReceived();
    return;
  }
  int delta = static_cast<int16_t>(static_cast<uint16_t>(seq - lastSeq_));
  if (delta <= 0 && delta > -kMaxJump) return;  // duplicate or reordered after play-out: ignore
  if (delta > kMaxJump || delta <= -kMaxJump) {
    lastSeq_ = seq;
    OnReceived();
    return;
  }
  for (int i = 1; i < delta; ++i) OnLoss();
  lastSeq_ = seq;
  OnReceived();
}

BurstGapSnapshot BurstGap::Snapshot() const {
  return BurstGapSnapshot{packets_.load(kRelaxed),   lost_.load(kRelaxed),   burstPackets_.load(kRelaxed),
                          burstLost_.load(kRelaxed), bursts_.load(kRelaxed), gmin_};
}

void BurstGap::Resync() {
  started_ = false;
  haveLoss_ = false;
  inBurst_ = false;
  receivedSinceLoss_ = 0;
}

void BurstGap::Reset() {
  Resync();
  packets_ = 0;
  lost_ = 0;
  burstPackets_ = 0;
  burstLost_ = 0;
  bursts_ = 0;
}

}  // namespace rms
