// Every use of oRTP's internals (struct fields its headers expose but do not
// document as API, and functions it exports without declaring) goes through
// this header, and this header is checked against the oRTP version it was
// written for. A different oRTP fails the build here, naming this file: read
// each accessor below against the new oRTP's rtpsession.h (struct _RtpSession,
// _RtpStream, _OrtpStream, _JitterControl) and its rtpsession_inet.c (what
// rtp_session_set_transports does), fix what moved, then raise
// kOrtpShimVersion.
//
// Users: the receive gate (recv_gate.cc: sockets, remote address, replacing
// the transports, RTCP mux, the flush flag), the session's statistics
// (interarrival jitter, rtp_session.cc) and the forwarding plane
// (native/forward/: sockets and remote addresses of the relayed sessions).
#pragma once
#include <sys/socket.h>

#include <cstring>

#include "ms_includes.h"

#ifndef RMS_ORTP_VERSION
#error \
    "RMS_ORTP_VERSION is not defined: the build must pass oRTP's pkg-config version as MAJOR*10000+MINOR*100+PATCH (binding.gyp and CMakeLists.txt do)"
#endif

// oRTP 5.1.64 (Debian 12).
#define RMS_ORTP_SHIM_VERSION 50164
static_assert(RMS_ORTP_VERSION == RMS_ORTP_SHIM_VERSION,
              "oRTP is not the version native/core/ortp_shim.h was written for (5.1.64): review every accessor in "
              "native/core/ortp_shim.h against the installed oRTP, then update RMS_ORTP_SHIM_VERSION");

// Exported by oRTP 5.1 (its header no longer declares it: oRTP wants
// modifiers on its meta transport, which cannot skip a read). Overwrites the
// session's transport pointers without freeing the old ones.
extern "C" void rtp_session_set_transports(RtpSession* session, RtpTransport* rtptr, RtpTransport* rtcptr);

namespace rms::ortp {

// The socket, remote address and transport state of the RTP or RTCP stream.
inline OrtpStream& Stream(RtpSession* s, bool rtp) { return rtp ? s->rtp.gs : s->rtcp.gs; }
inline int Socket(RtpSession* s, bool rtp) { return Stream(s, rtp).socket; }
inline const sockaddr* RemoteAddr(RtpSession* s, bool rtp, socklen_t* len) {
  OrtpStream& os = Stream(s, rtp);
  *len = os.rem_addrlen;
  return reinterpret_cast<const sockaddr*>(&os.rem_addr);
}

// Sets the remote address the stream sends to, as oRTP's symmetric RTP does
// on receive (no socket call: the receive gate never lets oRTP connect).
inline void SetRemoteAddr(RtpSession* s, bool rtp, const sockaddr* a, socklen_t len) {
  OrtpStream& os = Stream(s, rtp);
  if (len > sizeof(os.rem_addr)) return;
  std::memcpy(&os.rem_addr, a, len);
  os.rem_addrlen = len;
}

// Inside rtp_session_flush_sockets(): it sets RTP_SESSION_FLUSH
// (rtpsession_priv.h, 1 << 15 in 5.1; disassembled: orl $0x8000 on flags)
// around its read. The core test forward_handback checks it still does.
inline bool Flushing(const RtpSession* s) { return (s->flags & (1 << 15)) != 0; }

// RFC 5761: RTCP arrives on the RTP socket.
inline bool RtcpMux(const RtpSession* s) { return s->rtcp_mux != 0; }

// RFC 3550 interarrival jitter of the received stream, in RTP clock units.
inline double InterarrivalJitter(const RtpSession* s) { return s->rtp.jittctl.inter_jitter; }

}  // namespace rms::ortp
