#include "voice_detect.h"

#include <algorithm>
#include <cmath>

namespace rms {

namespace {
constexpr uint32_t kFrameMs = 10;
// Gaps shorter than this between loud frames do not restart the count towards a start.
constexpr uint32_t kStartSlackMs = 40;
}  // namespace

bool VoiceDetect::Valid(const VoiceParams& p) {
  return p.thresholdDbfs >= -70 && p.thresholdDbfs <= 0 && p.marginDb >= 0 && p.marginDb <= 40 && p.minSpeechMs >= 10 &&
         p.minSpeechMs <= 2000 && p.hangoverMs >= 10 && p.hangoverMs <= 5000;
}

VoiceDetect::VoiceDetect(int rate) { SetRate(rate); }

bool VoiceDetect::SetRate(int rate) {
  if (rate < 8000 || rate > 48000) return false;
  rate_ = rate;
  frame_ = static_cast<size_t>(rate) * kFrameMs / 1000;
  Reset();
  return true;
}

void VoiceDetect::Reset() {
  acc_ = 0;
  accN_ = 0;
  noiseDb_ = -70;
  speaking_ = false;
  loudMs_ = quietMs_ = 0;
  frames_ = 0;
}

void VoiceDetect::Feed(const int16_t* s, size_t n, Sink sink, void* user) {
  for (size_t i = 0; i < n; ++i) {
    double v = s[i];
    acc_ += v * v;
    if (++accN_ == frame_) Frame(sink, user);
  }
}

void VoiceDetect::Frame(Sink sink, void* user) {
  // mean power relative to a full-scale square wave (0 dBFS = 32768^2)
  double p = acc_ / static_cast<double>(accN_) / (32768.0 * 32768.0);
  double db = 10 * std::log10(std::max(p, 1e-10));
  acc_ = 0;
  accN_ = 0;
  ++frames_;
  const uint32_t at = static_cast<uint32_t>(frames_ * kFrameMs);
  bool loud = db >= params_.thresholdDbfs && db >= noiseDb_ + params_.marginDb;
  // noise floor: down at once; up by 5 dB/s over quiet frames, 1 dB/s over loud
  // ones (a steady noise above the threshold stops counting as speech)
  if (db < noiseDb_)
    noiseDb_ = db;
  else
    noiseDb_ = std::min(db, noiseDb_ + (loud ? 0.01 : 0.05));
  if (loud) {
    quietMs_ = 0;
    loudMs_ += kFrameMs;
    if (!speaking_ && loudMs_ >= params_.minSpeechMs) {
      speaking_ = true;
      if (sink) sink(user, VoiceEvent{1, at, static_cast<float>(db), static_cast<float>(noiseDb_)});
    }
    return;
  }
  quietMs_ += kFrameMs;
  if (!speaking_ && quietMs_ > kStartSlackMs) loudMs_ = 0;
  if (speaking_ && quietMs_ >= params_.hangoverMs) {
    speaking_ = false;
    loudMs_ = 0;
    if (sink) sink(user, VoiceEvent{0, at, static_cast<float>(db), static_cast<float>(noiseDb_)});
  }
}

}  // namespace rms
