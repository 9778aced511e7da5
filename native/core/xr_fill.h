// Completing the RTCP XR blocks oRTP writes before they leave.
//
// oRTP 5.1 fills the VoIP metrics block (RFC 3611 4.7) with burst/gap
// fields of 0, a loss rate that wraps to 255 when packets arrive out of
// order, an R factor of 20 x MOS and a JB maximum below its nominal; its
// statistics summary block (4.6) has jitter figures that contradict each
// other. The outgoing compound passes through our RTCP transport, so the
// fields we measure ourselves are written over oRTP's there. Offsets are
// RFC 3611's, so this needs no oRTP header and is tested on its own.
#pragma once
#include <cstddef>
#include <cstdint>

namespace rms {

// Values for a VoIP metrics block; a field left at its "keep" value stays as
// oRTP wrote it.
struct XrVoipFill {
  uint8_t lossRate = 0;  // RFC 3611 x256 fractions
  uint8_t discardRate = 0;
  uint8_t burstDensity = 0;
  uint8_t gapDensity = 0;
  uint16_t burstDurationMs = 0;
  uint16_t gapDurationMs = 0;
  int endSystemDelayMs = -1;  // -1: keep
  uint8_t gmin = 16;
  uint8_t rFactor = 127;  // 127: unavailable
  uint8_t mosLq = 127;    // x10, 127: unavailable
  uint8_t mosCq = 127;
  int plc = -1;  // 0..3 (RFC 3611 4.7.6), -1: keep
  int jba = -1;  // 0..3, -1: keep
  bool setJb = false;
  uint16_t jbNominal = 0, jbMaximum = 0, jbAbsMax = 0;
};

struct XrStatFill {
  uint16_t beginSeq = 0;
  uint16_t endSeq = 0;
  uint32_t lost = 0;
  uint32_t dup = 0;
  bool haveJitter = false;
  uint32_t jitterMin = 0, jitterMax = 0, jitterMean = 0, jitterDev = 0;
};

// Walks an RTCP compound and rewrites every VoIP metrics block (when `voip`)
// and statistics summary block (when `stat`) of its XR packets. Malformed
// packets end the walk; nothing outside a block is touched. Returns the
// number of blocks rewritten.
int FillXr(uint8_t* buf, size_t len, const XrVoipFill* voip, const XrStatFill* stat);

// A 0..1 fraction as RFC 3611 rates and densities carry it: x256, to the
// nearest step, capped at 255.
uint8_t Rfc3611Fraction(double fraction);

}  // namespace rms
