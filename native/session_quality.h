// The quality side of one RtpSession: watches what crosses its receive gate
// (core/recv_gate.h) and completes the RTCP XR blocks it sends
// (core/xr_fill.h) with what core/rx_quality.h measured.
#pragma once
#include <atomic>

#include "core/ms_includes.h"
#include "core/recv_gate.h"
#include "core/rx_quality.h"

namespace rms {

struct XrMediaValues;

// What the quality layer (JS) tells us for the next XR blocks, beside
// XrMediaValues (MOS, levels): read on the ticker thread, lock-free.
struct XrFillValues {
  std::atomic<int> rFactor{127};          // 0..100, 127 unavailable
  std::atomic<int> endSystemDelayMs{-1};  // -1: leave oRTP's
  std::atomic<int> plc{-1};               // RFC 3611 PLC code 0..3, -1: leave oRTP's
  std::atomic<double> packetMs{20};       // frame duration x frames per packet (A.2 durations)
  std::atomic<bool> fill{true};           // false: send oRTP's blocks untouched
};

// The jitter buffer as both our XR and our reports describe it.
struct JitterBufferNow {
  bool enabled = false;
  bool adaptive = false;
  int nominalMs = 0;  // the delay it aims at now
  int maxMs = 0;      // the latest arrival it still plays (= nominal for oRTP)
  int absMaxMs = 0;   // how far it may adapt
};
JitterBufferNow CurrentJitterBuffer(RtpSession* s);

class SessionQuality : public GateObserver {
 public:
  explicit SessionQuality(const XrMediaValues* media) : media_(media) {}
  RxQuality rx;
  XrFillValues fill;
  std::atomic<bool> arrivalTimes{true};

  bool WantsArrivalTime() const override { return arrivalTimes.load(std::memory_order_relaxed); }
  void OnRtp(const uint8_t* data, size_t len, int64_t arrivalNs) override { rx.OnPacket(data, len, arrivalNs); }
  void OnRtcpSend(RtpSession* session, mblk_t* m) override;

 private:
  const XrMediaValues* media_;
};

}  // namespace rms
