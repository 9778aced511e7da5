// Changes to a session's live settings (remote address, latch, symmetric
// RTP, jitter buffer, RTCP), made from the JS thread and applied by the
// thread that reads the session.
//
// A running ticker is inside oRTP on its sessions for most of every tick;
// changing a setting under it is a data race, and taking the ticker's lock
// from the JS thread (as we did) blocks the event loop for up to a tick
// behind it. Instead the change is posted to the session's receive gate
// (PostSettings in recv_gate.h) and applied there at the session's next RTP
// read or send, on the ticker thread, between two oRTP calls - within one
// tick. With no graph running the session, the caller applies it at once.
//
// A change carries only the fields it sets; Merge() lets a later change win
// field by field, so posting twice before a tick applies both in order.
#pragma once
#include <string>

#include "ms_includes.h"
#include "recv_gate.h"

namespace rms {

struct SessionSettings {
  // remote address (numeric, checked by the caller), with the latch mode to
  // apply to it
  bool hasRemote = false;
  std::string address;
  int rtpPort = 0;
  int rtcpPort = 0;
  bool hasLatch = false;  // also set with hasRemote: a new remote re-latches
  LatchMode latch = LatchMode::kOpen;
  bool hasSymmetric = false;
  bool symmetric = false;
  bool hasJitter = false;
  JBParameters jitter{};
  bool hasRtcp = false;
  bool rtcp = true;
  bool hasRtcpInterval = false;
  int rtcpIntervalMs = 5000;
  bool hasXr = false;
  OrtpRtcpXrConfiguration xr{};

  void Merge(const SessionSettings& later);
  bool empty() const {
    return !hasRemote && !hasLatch && !hasSymmetric && !hasJitter && !hasRtcp && !hasRtcpInterval && !hasXr;
  }
};

// Applies `s` to the session: only on the thread that reads the session, or
// when none does. Returns false if oRTP refused the remote address.
bool ApplySettings(RtpSession* session, const SessionSettings& s);

}  // namespace rms
