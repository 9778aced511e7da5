#include "xr_fill.h"

#include <cmath>

namespace rms {

namespace {

constexpr uint8_t kXrPacketType = 207;
constexpr uint8_t kStatSummary = 6;
constexpr uint8_t kVoipMetrics = 7;

void Put16(uint8_t* p, uint16_t v) {
  p[0] = static_cast<uint8_t>(v >> 8);
  p[1] = static_cast<uint8_t>(v);
}
void Put32(uint8_t* p, uint32_t v) {
  p[0] = static_cast<uint8_t>(v >> 24);
  p[1] = static_cast<uint8_t>(v >> 16);
  p[2] = static_cast<uint8_t>(v >> 8);
  p[3] = static_cast<uint8_t>(v);
}
uint16_t Get16(const uint8_t* p) { return static_cast<uint16_t>((p[0] << 8) | p[1]); }

void FillVoip(uint8_t* b, const XrVoipFill& f) {
  b[8] = f.lossRate;
  b[9] = f.discardRate;
  b[10] = f.burstDensity;
  b[11] = f.gapDensity;
  Put16(b + 12, f.burstDurationMs);
  Put16(b + 14, f.gapDurationMs);
  if (f.endSystemDelayMs >= 0)
    Put16(b + 18, static_cast<uint16_t>(f.endSystemDelayMs > 65535 ? 65535 : f.endSystemDelayMs));
  b[23] = f.gmin;
  b[24] = f.rFactor;
  b[25] = 127;  // external R factor: we see no other network segment
  b[26] = f.mosLq;
  b[27] = f.mosCq;
  uint8_t cfg = b[28];
  if (f.plc >= 0) cfg = static_cast<uint8_t>((cfg & 0x3f) | ((f.plc & 3) << 6));
  if (f.jba >= 0) cfg = static_cast<uint8_t>((cfg & 0xcf) | ((f.jba & 3) << 4));
  b[28] = cfg;
  if (f.setJb) {
    Put16(b + 30, f.jbNominal);
    Put16(b + 32, f.jbMaximum);
    Put16(b + 34, f.jbAbsMax);
  }
}

void FillStat(uint8_t* b, const XrStatFill& f) {
  const uint8_t flags = b[1];
  Put16(b + 8, f.beginSeq);
  Put16(b + 10, f.endSeq);
  if (flags & 0x80) Put32(b + 12, f.lost);
  if (flags & 0x40) Put32(b + 16, f.dup);
  if (flags & 0x20) {
    Put32(b + 20, f.haveJitter ? f.jitterMin : 0);
    Put32(b + 24, f.haveJitter ? f.jitterMax : 0);
    Put32(b + 28, f.haveJitter ? f.jitterMean : 0);
    Put32(b + 32, f.haveJitter ? f.jitterDev : 0);
  }
}

}  // namespace

uint8_t Rfc3611Fraction(double fraction) {
  if (!(fraction > 0)) return 0;
  // nearest, not RFC 3611's integer part: read back, a rate is then within
  // half a step (0.2 points) of what was measured instead of up to 0.39 below
  const double v = std::floor(fraction * 256.0 + 0.5);
  return static_cast<uint8_t>(v > 255 ? 255 : v);
}

int FillXr(uint8_t* buf, size_t len, const XrVoipFill* voip, const XrStatFill* stat) {
  int filled = 0;
  size_t off = 0;
  while (off + 4 <= len) {
    uint8_t* p = buf + off;
    if ((p[0] >> 6) != 2) break;
    const size_t plen = (static_cast<size_t>(Get16(p + 2)) + 1) * 4;
    if (plen > len - off) break;
    if (p[1] == kXrPacketType && plen >= 8) {
      size_t b = 8;  // after V/P/rsvd, PT, length, SSRC
      while (b + 4 <= plen) {
        uint8_t* blk = p + b;
        const size_t blen = (static_cast<size_t>(Get16(blk + 2)) + 1) * 4;
        if (blen > plen - b) break;
        if (blk[0] == kVoipMetrics && blen == 36 && voip != nullptr) {
          FillVoip(blk, *voip);
          ++filled;
        } else if (blk[0] == kStatSummary && blen == 40 && stat != nullptr) {
          FillStat(blk, *stat);
          ++filled;
        }
        b += blen;
      }
    }
    off += plen;
  }
  return filled;
}

}  // namespace rms
