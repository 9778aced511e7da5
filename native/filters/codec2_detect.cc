#include "codec2_detect.h"

#include <codec2/codec2.h>

namespace rms {

namespace {

struct Shape {
  int mode;
  size_t bytes;      // per frame, (bits + 7) / 8
  uint32_t samples;  // per frame at 8 kHz
};
// Highest rate first: Guess() falls back in this order.
constexpr Shape kShapes[] = {
    {CODEC2_MODE_3200, 8, 160}, {CODEC2_MODE_2400, 6, 160}, {CODEC2_MODE_1600, 8, 320}, {CODEC2_MODE_1400, 7, 320},
    {CODEC2_MODE_1300, 7, 320}, {CODEC2_MODE_1200, 6, 320}, {CODEC2_MODE_700C, 4, 320},
};
constexpr size_t kMaxFrames = 16;  // what the decoder accepts in one packet

bool Fits(const Shape& s, size_t len) { return len > 0 && len % s.bytes == 0 && len / s.bytes <= kMaxFrames; }

}  // namespace

bool Codec2Detector::UsesLastNibble(const uint8_t* payload, size_t len) {
  if (len % 7 != 0) return false;
  for (size_t i = 6; i < len; i += 7)
    if (payload[i] & 0x0F) return true;
  return false;
}

bool Codec2Detector::FitsNoMode(size_t len) {
  for (const Shape& s : kShapes)
    if (Fits(s, len)) return false;
  return true;
}

int Codec2Detector::Guess(size_t len, int preferred) {
  int first = -1;
  for (const Shape& s : kShapes) {
    if (!Fits(s, len)) continue;
    if (s.mode == preferred) return preferred;
    if (first < 0) first = s.mode;
  }
  return first;
}

void Codec2Detector::Reset() { *this = Codec2Detector(); }

int Codec2Detector::Feed(const uint8_t* payload, size_t len, uint16_t seq, uint32_t ts) {
  if (UsesLastNibble(payload, len)) nibbleSeen_ = true;
  // Timestamp units per packet, from the previous packet of the same size
  // when the sequence moved forward by a little (loss in between is fine:
  // the step is per sequence number).
  uint32_t step = 0;
  if (have_ && len == lastLen_) {
    const uint16_t ds = static_cast<uint16_t>(seq - lastSeq_);
    const uint32_t dt = ts - lastTs_;
    if (ds >= 1 && ds <= 8 && dt > 0 && dt % ds == 0 && dt / ds <= kMaxFrames * 320) step = dt / ds;
  }
  have_ = true;
  lastLen_ = len;
  lastSeq_ = seq;
  lastTs_ = ts;

  int found = -1;
  int count = 0;
  bool sevenBytes = false;
  for (const Shape& s : kShapes) {
    if (!Fits(s, len)) continue;
    if (step && len * s.samples != step * s.bytes) continue;
    int mode = s.mode;
    if (s.bytes == 7) {
      // 1400 and 1300 count once: the spare bits tell them apart.
      if (sevenBytes) continue;
      sevenBytes = true;
      mode = nibbleSeen_ ? CODEC2_MODE_1400 : CODEC2_MODE_1300;
    }
    found = mode;
    ++count;
  }
  return count == 1 ? found : -1;
}

}  // namespace rms
