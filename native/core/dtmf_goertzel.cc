#include "dtmf_goertzel.h"

#include <algorithm>
#include <cmath>
#include <cstring>

namespace rms {

namespace {

constexpr double kPi = 3.14159265358979323846;

// ITU-T Q.23 frequencies, Hz
constexpr double kLowHz[4] = {697, 770, 852, 941};
constexpr double kHighHz[4] = {1209, 1336, 1477, 1633};
constexpr char kDigits[4][4] = {
    {'1', '2', '3', 'A'},
    {'4', '5', '6', 'B'},
    {'7', '8', '9', 'C'},
    {'*', '0', '#', 'D'},
};

// Mean power of a full-scale sine in sample units: the 0 dB of every level here.
constexpr double kFullScalePower = 32767.0 * 32767.0 / 2.0;

// Fixed rules (see the header for why these values).
constexpr double kGroupMarginDb = 6;
constexpr double kToneEnergyFraction = 0.8;
constexpr double kHarmonicRejectDb = 12;
// Windows a digit must show in before it can count, whatever its estimated
// duration: a guard against single-window coincidences in speech.
constexpr uint32_t kMinHits = 3;

double DbToPower(double db) { return std::pow(10.0, db / 10.0); }

}  // namespace

DtmfParams DtmfGoertzel::DefaultParams() {
  DtmfParams p{};
  p.min_level_dbfs = -33;
  p.normal_twist_db = 8;
  p.reverse_twist_db = 4;
  p.min_duration_ms = 35;
  p.release_ms = 25;
  return p;
}

bool DtmfGoertzel::ValidParams(const DtmfParams& p) {
  // Written so that NaN fails every comparison.
  return p.min_level_dbfs >= -60 && p.min_level_dbfs <= 0 && p.normal_twist_db >= 0 && p.normal_twist_db <= 20 &&
         p.reverse_twist_db >= 0 && p.reverse_twist_db <= 20 && p.min_duration_ms >= 20 && p.min_duration_ms <= 1000 &&
         p.release_ms >= 10 && p.release_ms <= 200;
}

DtmfGoertzel::DtmfGoertzel(int rate) : params_(DefaultParams()) {
  if (!SetRate(rate)) SetRate(8000);
}

bool DtmfGoertzel::SetRate(int rate) {
  if (rate != 8000 && rate != 16000) return false;
  rate_ = rate;
  hop_ = 34 * (rate / 8000);
  for (int i = 0; i < kFreqs; ++i) {
    double hz = i < kLow ? kLowHz[i] : i < kLow + kHigh ? kHighHz[i - kLow] : 2 * kHighHz[i - kLow - kHigh];
    double w = 2 * kPi * hz / rate_;
    coef_[i] = 2 * std::cos(w);
    cosW_[i] = std::cos(w);
    sinW_[i] = std::sin(w);
    rot1Re_[i] = std::cos(w * hop_);
    rot1Im_[i] = -std::sin(w * hop_);
    rot2Re_[i] = std::cos(2 * w * hop_);
    rot2Im_[i] = -std::sin(2 * w * hop_);
  }
  SetParams(params_);
  Reset();
  return true;
}

bool DtmfGoertzel::SetParams(const DtmfParams& p) {
  if (!ValidParams(p)) return false;
  params_ = p;
  minLevelPower_ = kFullScalePower * DbToPower(p.min_level_dbfs);
  normalTwist_ = DbToPower(p.normal_twist_db);
  reverseTwist_ = DbToPower(p.reverse_twist_db);
  double hopMs = 1000.0 * hop_ / rate_;
  releaseWindows_ = std::max(1, static_cast<int>(std::ceil(p.release_ms / hopMs - 1e-9)));
  return true;
}

void DtmfGoertzel::Reset() {
  std::memset(s1_, 0, sizeof(s1_));
  std::memset(s2_, 0, sizeof(s2_));
  std::memset(ring_, 0, sizeof(ring_));
  energy_ = 0;
  filled_ = 0;
  subBlocks_ = 0;
  windows_ = 0;
  run_ = Run();
  pending_ = Run();
}

void DtmfGoertzel::Feed(const int16_t* samples, size_t n) {
  for (size_t k = 0; k < n; ++k) {
    const double x = samples[k];
    energy_ += x * x;
    for (int i = 0; i < kFreqs; ++i) {
      const double s = x + coef_[i] * s1_[i] - s2_[i];
      s2_[i] = s1_[i];
      s1_[i] = s;
    }
    if (++filled_ == hop_) EndSubBlock();
  }
}

void DtmfGoertzel::EndSubBlock() {
  SubBlock& b = ring_[subBlocks_ % kRing];
  for (int i = 0; i < kFreqs; ++i) {
    // s1 - e^{-jw} s2: the sub-block's DFT at w, up to a phase that is the
    // same for every sub-block (so it cancels in the window sum below).
    b.re[i] = s1_[i] - cosW_[i] * s2_[i];
    b.im[i] = sinW_[i] * s2_[i];
    s1_[i] = s2_[i] = 0;
  }
  b.energy = energy_;
  energy_ = 0;
  filled_ = 0;
  ++subBlocks_;
  if (subBlocks_ < kSubBlocks) return;
  ++windows_;
  double low = 0, high = 0;
  char d = Classify(&low, &high);
  OnWindow(d, low, high);
}

char DtmfGoertzel::Classify(double* lowPower, double* highPower) const {
  const uint64_t w = subBlocks_ - kSubBlocks;
  const SubBlock& a = Ring(w);
  const SubBlock& b = Ring(w + 1);
  const SubBlock& c = Ring(w + 2);
  const double n = static_cast<double>(kSubBlocks * hop_);
  // Mean power of each frequency's sinusoid over the window: a cosine of
  // amplitude A gives |X| = nA/2, so 2|X|^2/n^2 = A^2/2.
  const double scale = 2.0 / (n * n);
  double p[kFreqs];
  for (int i = 0; i < kFreqs; ++i) {
    // X = Y0 + Y1 e^{-jwH} + Y2 e^{-j2wH}
    double re = a.re[i] + b.re[i] * rot1Re_[i] - b.im[i] * rot1Im_[i] + c.re[i] * rot2Re_[i] - c.im[i] * rot2Im_[i];
    double im = a.im[i] + b.re[i] * rot1Im_[i] + b.im[i] * rot1Re_[i] + c.re[i] * rot2Im_[i] + c.im[i] * rot2Re_[i];
    p[i] = (re * re + im * im) * scale;
  }
  const double meanPower = (a.energy + b.energy + c.energy) / n;

  int row = 0, col = 0;
  for (int i = 1; i < kLow; ++i)
    if (p[i] > p[row]) row = i;
  for (int i = 1; i < kHigh; ++i)
    if (p[kLow + i] > p[kLow + col]) col = i;
  const double pr = p[row];
  const double pc = p[kLow + col];
  const double harmonic = p[kLow + kHigh + col];

  if (pr < minLevelPower_ || pc < minLevelPower_) return 0;
  if (pr > pc * normalTwist_ || pc > pr * reverseTwist_) return 0;
  if (pr + pc < kToneEnergyFraction * meanPower) return 0;
  const double margin = DbToPower(kGroupMarginDb);
  for (int i = 0; i < kLow; ++i)
    if (i != row && p[i] * margin > pr) return 0;
  for (int i = 0; i < kHigh; ++i)
    if (i != col && p[kLow + i] * margin > pc) return 0;
  if (harmonic * DbToPower(kHarmonicRejectDb) > pc) return 0;
  *lowPower = pr;
  *highPower = pc;
  return kDigits[row][col];
}

void DtmfGoertzel::StartRun(Run& r, char digit) {
  const uint64_t w = subBlocks_ - kSubBlocks;
  r = Run();
  r.digit = digit;
  r.first = w;
  r.last = w;
  r.leadBefore = w >= 1 ? Ring(w - 1).energy : 0;
  r.leadFirst = Ring(w).energy;
}

void DtmfGoertzel::Extend(Run& r, double lowPower, double highPower) {
  const uint64_t w = subBlocks_ - kSubBlocks;
  r.last = w;
  r.misses = 0;
  r.haveTail = false;
  r.lowPower += lowPower;
  r.highPower += highPower;
  r.hits++;
  r.interiorEnergy += Ring(w + 1).energy;
  r.interiorCount++;
}

double DtmfGoertzel::EstimateSamples(const Run& r, bool withTail) const {
  // Sub-blocks first+1 .. last+1 lie wholly inside the tone: a window shows a
  // digit only when the tone fills 80 % of it, i.e. lacks less than one
  // sub-block. The edge sub-blocks count for the fraction of a full one's
  // energy they hold.
  double blocks = static_cast<double>(r.last - r.first + 1) + Part(r, r.leadBefore) + Part(r, r.leadFirst);
  if (withTail && r.haveTail) blocks += Part(r, r.tail2) + Part(r, r.tail3);
  return blocks * hop_;
}

double DtmfGoertzel::Part(const Run& r, double energy) {
  const double ref = r.interiorCount ? r.interiorEnergy / r.interiorCount : 0;
  return ref > 0 ? std::min(1.0, energy / ref) : 0.0;
}

void DtmfGoertzel::Confirm(Run& r, double durationSamples) {
  r.confirmed = true;
  // The onset, from the leading sub-blocks' energy; fixed now so that start
  // and end events agree.
  r.onset = static_cast<double>(r.first) * hop_ - hop_ * Part(r, r.leadBefore) + hop_ * (1 - Part(r, r.leadFirst));
  Emit(r, true, durationSamples);
}

void DtmfGoertzel::Emit(const Run& r, bool start, double durationSamples) {
  if (!sink_) return;
  DtmfEvent ev{};
  ev.digit = r.digit;
  ev.start_ms = static_cast<uint32_t>(std::llround(std::max(0.0, r.onset) * 1000.0 / rate_));
  ev.duration_ms = static_cast<uint32_t>(std::llround(durationSamples * 1000.0 / rate_));
  const double hits = r.hits ? r.hits : 1;
  ev.low_dbfs = static_cast<float>(10 * std::log10(std::max(r.lowPower / hits, 1e-3) / kFullScalePower));
  ev.high_dbfs = static_cast<float>(10 * std::log10(std::max(r.highPower / hits, 1e-3) / kFullScalePower));
  sink_(user_, start, ev);
}

void DtmfGoertzel::Finish(Run& r) {
  if (r.digit == 0) return;
  if (!r.haveTail && subBlocks_ >= r.last + 3) {
    // Ended while still showing (Flush): the last window's end is the tail.
    r.tail2 = Ring(r.last + 2).energy;
    r.tail3 = 0;
    r.haveTail = true;
  }
  const double est = EstimateSamples(r, true);
  if (!r.confirmed) {
    if (r.hits < kMinHits || est * 1000.0 < params_.min_duration_ms * static_cast<double>(rate_)) {
      r = Run();
      return;
    }
    Confirm(r, est);
  }
  Emit(r, false, est);
  r = Run();
}

void DtmfGoertzel::OnWindow(char d, double lowPower, double highPower) {
  const uint64_t w = subBlocks_ - kSubBlocks;
  const double minSamples = params_.min_duration_ms * static_cast<double>(rate_) / 1000.0;

  if (run_.digit == 0) {
    if (d == 0) return;
    StartRun(run_, d);
    Extend(run_, lowPower, highPower);
    return;
  }

  if (d == run_.digit) {
    Extend(run_, lowPower, highPower);
    pending_ = Run();
    if (!run_.confirmed && run_.hits >= kMinHits && EstimateSamples(run_, false) >= minSamples) {
      Confirm(run_, EstimateSamples(run_, false));
    }
    return;
  }

  // This window does not show the digit held.
  if (++run_.misses == 1) {
    // w == last + 1: sub-blocks last+2 and last+3 are the newest two.
    run_.tail2 = Ring(w + 1).energy;
    run_.tail3 = Ring(w + 2).energy;
    run_.haveTail = true;
    if (!run_.confirmed) {
      // Tried digits need no release: either the tone, tail included, was
      // long enough, or it was not a digit.
      if (run_.hits >= kMinHits && EstimateSamples(run_, true) >= minSamples) {
        Confirm(run_, EstimateSamples(run_, true));
      } else {
        run_ = Run();
        if (d != 0) {
          StartRun(run_, d);
          Extend(run_, lowPower, highPower);
        }
        return;
      }
    }
  }

  // A confirmed digit in its release: another digit may already be showing.
  if (d == 0) {
    pending_ = Run();
  } else {
    if (pending_.digit != d) StartRun(pending_, d);
    Extend(pending_, lowPower, highPower);
  }
  if (run_.misses >= releaseWindows_) {
    Finish(run_);
    run_ = pending_;
    pending_ = Run();
    if (run_.digit != 0 && run_.hits >= kMinHits && EstimateSamples(run_, false) >= minSamples) {
      Confirm(run_, EstimateSamples(run_, false));
    }
  }
}

void DtmfGoertzel::Flush() {
  Finish(run_);
  Finish(pending_);
  run_ = Run();
  pending_ = Run();
}

}  // namespace rms
