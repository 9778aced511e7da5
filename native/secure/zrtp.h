// ZRTP (RFC 6189) on a session, through mediastreamer2's zrtp.h (bzrtp):
// ms2 puts its ZRTP modifier and, once keys are agreed, its own SRTP
// modifiers on the session's meta transports - above the security layer,
// which then only passes packets through. Encryption is mandatory from the
// start (ms2 drops plaintext both ways until ZRTP has keyed SRTP). The SAS
// and the "secure" state come as oRTP events on a queue of ours, polled on
// the ticker thread.
//
// No ZID cache (no continuity of keys across calls): every call's SAS is
// to be compared by the users. Lifetime: destroy only once the session's
// transports are gone (ms2's modifiers point into the contexts).
#pragma once
#include <cstdint>
#include <string>

#include "core/ms_includes.h"

struct _MSZrtpContext;
struct _MSMediaStreamSessions;

namespace rms::secure {

struct ZrtpStatus {
  bool started = false;
  bool secure = false;  // SRTP keyed by ZRTP, both directions
  std::string sas;      // empty until the SAS is ready
  bool verified = false;
};

class ZrtpSession {
 public:
  // On a session whose meta transports are set up; the ticker that runs it
  // must be locked (ms2 changes their modifier lists). Throws nothing: see ok().
  explicit ZrtpSession(RtpSession* session);
  ~ZrtpSession();
  ZrtpSession(const ZrtpSession&) = delete;
  ZrtpSession& operator=(const ZrtpSession&) = delete;

  bool ok() const { return ctx_ != nullptr; }
  // Sends the first Hello (the peer's Hello starts us anyway).
  void Start();
  // Reads ms2's events (ticker thread); true when the status changed.
  bool Poll();
  // The users compared the SAS (or took it back).
  void SetVerified(bool yes);
  // The session is being destroyed (from its transports' destruction): stop
  // reading its events.
  void Detach();
  const ZrtpStatus& status() const { return status_; }

 private:
  RtpSession* session_;
  _MSMediaStreamSessions* sessions_ = nullptr;
  _MSZrtpContext* ctx_ = nullptr;
  OrtpEvQueue* events_ = nullptr;
  ZrtpStatus status_;
};

}  // namespace rms::secure
