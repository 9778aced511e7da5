#include "session_settings.h"

namespace rms {

void SessionSettings::Merge(const SessionSettings& l) {
  if (l.hasRemote) {
    hasRemote = true;
    address = l.address;
    rtpPort = l.rtpPort;
    rtcpPort = l.rtcpPort;
  }
  if (l.hasLatch) {
    hasLatch = true;
    latch = l.latch;
  }
  if (l.hasSymmetric) {
    hasSymmetric = true;
    symmetric = l.symmetric;
  }
  if (l.hasJitter) {
    hasJitter = true;
    jitter = l.jitter;
  }
  if (l.hasRtcp) {
    hasRtcp = true;
    rtcp = l.rtcp;
  }
  if (l.hasRtcpInterval) {
    hasRtcpInterval = true;
    rtcpIntervalMs = l.rtcpIntervalMs;
  }
  if (l.hasXr) {
    hasXr = true;
    xr = l.xr;
  }
}

bool ApplySettings(RtpSession* session, const SessionSettings& s) {
  bool ok = true;
  if (s.hasSymmetric) rtp_session_set_symmetric_rtp(session, s.symmetric ? TRUE : FALSE);
  if (s.hasRemote)
    ok = rtp_session_set_remote_addr_full(session, s.address.c_str(), s.rtpPort, s.address.c_str(), s.rtcpPort) == 0;
  // after the remote: 'strict' latches to it
  if (s.hasLatch) ApplyLatch(session, s.latch);
  if (s.hasJitter) {
    JBParameters p = s.jitter;
    rtp_session_set_jitter_buffer_params(session, &p);
    rtp_session_enable_jitter_buffer(session, p.enabled);
  }
  if (s.hasRtcp) rtp_session_enable_rtcp(session, s.rtcp ? TRUE : FALSE);
  if (s.hasRtcpInterval) rtp_session_set_rtcp_report_interval(session, s.rtcpIntervalMs);
  if (s.hasXr) {
    OrtpRtcpXrConfiguration c = s.xr;
    rtp_session_configure_rtcp_xr(session, &c);
  }
  return ok;
}

}  // namespace rms
