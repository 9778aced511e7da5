#include "audio_join.h"

#include <algorithm>

namespace rms {

AudioJoin::AudioJoin(Mode mode, size_t lag, size_t maxBuffer)
    : mode_(mode), lag_(lag), max_(std::max(maxBuffer, lag + 1)) {
  for (auto& b : in_) b.reserve(max_);
}

void AudioJoin::Put(int pin, const int16_t* s, size_t n) {
  if (pin < 0 || pin > 1 || n == 0) return;
  auto& b = in_[pin];
  if (n >= max_) {
    dropped_ += b.size() + (n - max_);
    b.assign(s + (n - max_), s + n);
    return;
  }
  if (b.size() + n > max_) {
    size_t drop = b.size() + n - max_;
    dropped_ += drop;
    b.erase(b.begin(), b.begin() + static_cast<std::ptrdiff_t>(drop));
  }
  b.insert(b.end(), s, s + n);
}

static int16_t Sum(int16_t a, int16_t b) {
  int v = static_cast<int>(a) + static_cast<int>(b);
  return static_cast<int16_t>(std::clamp(v, -32768, 32767));
}

// `n` output samples (frames, for stereo) from the first n0 of input 0 and
// n1 of input 1 (n0, n1 <= n; the missing part of a side is silence).
void AudioJoin::Emit(std::vector<int16_t>& out, size_t n0, size_t n1, size_t n) {
  const auto& a = in_[0];
  const auto& b = in_[1];
  for (size_t i = 0; i < n; ++i) {
    int16_t x = i < n0 ? a[i] : 0;
    int16_t y = i < n1 ? b[i] : 0;
    if (mode_ == kStereo) {
      out.push_back(x);
      out.push_back(y);
    } else {
      out.push_back(Sum(x, y));
    }
  }
  in_[0].erase(in_[0].begin(), in_[0].begin() + static_cast<std::ptrdiff_t>(n0));
  in_[1].erase(in_[1].begin(), in_[1].begin() + static_cast<std::ptrdiff_t>(n1));
}

void AudioJoin::Take(std::vector<int16_t>& out) {
  out.clear();
  auto& a = in_[0];
  auto& b = in_[1];
  switch (mode_) {
    case kReplace:
      // copies, not swaps: each buffer keeps the capacity it reserved
      if (!b.empty()) {
        out.assign(b.begin(), b.end());
        b.clear();
        a.clear();
      } else {
        out.assign(a.begin(), a.end());
        a.clear();
      }
      return;
    case kLeadMix: {
      size_t n0 = a.size();
      if (n0 > 0) Emit(out, n0, std::min(n0, b.size()), n0);
      if (b.size() > lag_) {
        size_t n = b.size() - lag_;
        Emit(out, 0, n, n);
      }
      return;
    }
    case kMix:
    case kStereo: {
      size_t n = std::min(a.size(), b.size());
      if (n > 0) Emit(out, n, n, n);
      if (a.size() > lag_) {
        size_t k = a.size() - lag_;
        Emit(out, k, 0, k);
      } else if (b.size() > lag_) {
        size_t k = b.size() - lag_;
        Emit(out, 0, k, k);
      }
      return;
    }
  }
}

}  // namespace rms
