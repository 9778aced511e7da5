#include "level_meter.h"

#include <algorithm>
#include <cmath>

namespace rms {

namespace {
// Power of a full-scale sine in 16-bit samples: 32767^2 / 2.
constexpr double kFullScaleSinePower = 32767.0 * 32767.0 / 2.0;

int64_t SumSquares(const int16_t* s, size_t n) {
  int64_t sum = 0;
  for (size_t i = 0; i < n; i++) sum += static_cast<int32_t>(s[i]) * s[i];
  return sum;
}
}  // namespace

double LevelMeter::PowerToDbm0(double p) { return 10.0 * std::log10(std::max(p, 1e-12)) + kFullScaleSineDbm0; }

void LevelMeter::SetRate(int rate) {
  std::lock_guard<std::mutex> lock(mu_);
  block_ = static_cast<uint32_t>(std::max(rate, 1000) / 5);
  speechThreshold_ = std::pow(10.0, (kSpeechThresholdDbm0 - kFullScaleSineDbm0) / 10.0);
  acc_ = 0;
  accN_ = 0;
}

void LevelMeter::Add(const int16_t* s, size_t n) {
  while (n > 0) {
    size_t take = std::min<size_t>(n, block_ - accN_);
    acc_ += SumSquares(s, take);
    accN_ += static_cast<uint32_t>(take);
    s += take;
    n -= take;
    if (accN_ == block_) FinishBlock();
  }
}

void LevelMeter::FinishBlock() {
  double p = static_cast<double>(acc_) / accN_ / kFullScaleSinePower;
  acc_ = 0;
  accN_ = 0;
  std::lock_guard<std::mutex> lock(mu_);
  snap_.lastPower = p;
  double floored = std::max(p, 1e-12);
  snap_.minPower = snap_.blocks == 0 ? floored : std::min(snap_.minPower, floored);
  snap_.blocks++;
  if (p > speechThreshold_) {
    snap_.speechPowerSum += p;
    snap_.speechBlocks++;
  }
}

LevelSnapshot LevelMeter::Snapshot() const {
  std::lock_guard<std::mutex> lock(mu_);
  return snap_;
}

void LevelMeter::Reset() {
  // The block in progress belongs to the ticker thread and goes on.
  std::lock_guard<std::mutex> lock(mu_);
  snap_ = LevelSnapshot{};
}

}  // namespace rms
