#include "forward/telephone_event.h"

namespace rms::fwd {

int TelephoneEventTracker::OnPacket(const uint8_t* payload, size_t size, uint32_t ts, uint32_t clockRate,
                                    TelephoneEvent* out) {
  if (size < 4) return 0;
  // the current event is the last block (earlier ones are redundancy, RFC 4733 2.5.1.5)
  const uint8_t* b = payload + ((size / 4) - 1) * 4;
  const uint8_t event = b[0];
  const bool end = (b[1] & 0x80) != 0;
  const uint8_t volume = b[1] & 0x3f;
  const uint16_t duration = static_cast<uint16_t>((b[2] << 8) | b[3]);
  int n = 0;
  if (!any_ || ts != lastTs_) {
    if (active_) out[n++] = {TelephoneEvent::kEndLost, 0, event_, volume_, duration_, clock_, lastTs_};
    any_ = true;
    lastTs_ = ts;
    active_ = true;
    event_ = event;
    volume_ = volume;
    duration_ = duration;
    clock_ = clockRate;
    out[n++] = {TelephoneEvent::kStart, 0, event, volume, duration, clockRate, ts};
  } else if (!active_) {
    return 0;  // a retransmitted end of an event already reported
  }
  if (duration > duration_) duration_ = duration;
  if (end) {
    active_ = false;
    out[n++] = {TelephoneEvent::kEnd, 0, event_, volume, duration_, clock_, ts};
  }
  return n;
}

}  // namespace rms::fwd
