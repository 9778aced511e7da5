// RFC 4733 events seen in a relayed stream, reported once each: a start on
// the first packet of an event (identified by its RTP timestamp), an end on
// its first packet with the E bit (retransmitted ends report nothing), and
// an inferred end when a new event begins before the old one's end arrived.
// The same rules as the receive path's tracker (native/rtp_session.cc).
// Worker thread only.
#pragma once
#include <cstddef>
#include <cstdint>

namespace rms::fwd {

struct TelephoneEvent {
  enum Phase : uint8_t { kStart = 0, kEnd = 1, kEndLost = 2 };
  uint8_t phase;
  uint8_t direction;  // 0: a -> b, 1: b -> a
  uint8_t event;
  uint8_t volume;
  uint16_t duration;  // in units of the event's RTP clock
  uint32_t clockRate;
  uint32_t timestamp;
};

class TelephoneEventTracker {
 public:
  // One RFC 4733 payload. Writes up to 3 reports to out; returns how many.
  int OnPacket(const uint8_t* payload, size_t size, uint32_t timestamp, uint32_t clockRate, TelephoneEvent* out);

 private:
  bool active_ = false;
  bool any_ = false;
  uint32_t lastTs_ = 0;
  uint32_t clock_ = 8000;
  uint8_t event_ = 0;
  uint8_t volume_ = 0;
  uint16_t duration_ = 0;
};

}  // namespace rms::fwd
