// The security layer of one RTP session: SDES-SRTP, DTLS-SRTP and ICE-lite
// on the session's own sockets.
//
// Where it sits: oRTP's meta transport -> this layer -> the receive gate
// (core/recv_gate.h) -> the socket, once for the RTP socket (component 0)
// and once for the RTCP socket (component 1). The metas above keep routing
// rtcp-mux and running any ms2 modifier; the gate below keeps latching.
//
// What it does with each datagram read (demultiplexed by the first octet,
// RFC 7983): 0-3 STUN -> the ICE-lite agent, answered at once; 20-63 DTLS
// -> the handshake; 128-191 RTP/RTCP -> SRTP/SRTCP unprotect, and only what
// authenticates goes up to oRTP. Everything else, and everything that fails,
// is dropped and counted. A read goes on to the next datagram after a drop
// (bounded per call), so a flood of bad packets costs CPU, not the good
// packets behind them. Sent RTP/RTCP is protected; until keys exist (and,
// with ICE, a pair with consent) nothing is sent: a secured leg never leaks
// plaintext.
//
// Threads: packets pass on the ticker thread that runs the session;
// configuration and stats come from the main thread. One mutex per layer,
// uncontended in steady state. Lifetime: the two transports (owned by oRTP's
// metas, destroyed with the session) and the JS wrapper share the layer.
#pragma once
#include <sys/socket.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "core/ms_includes.h"
#include "secure/dtls.h"
#include "secure/ice_lite.h"
#include "secure/srtp_session.h"
#include "secure/zrtp.h"

namespace rms::secure {

enum class Protection : uint8_t { kNone, kSdes, kDtls, kZrtp };

struct LayerCounters {
  uint64_t beforeKeysIn = 0;    // SRTP that arrived before we had keys
  uint64_t beforeKeysOut = 0;   // packets not sent: no keys yet
  uint64_t unknownDropped = 0;  // neither STUN, DTLS nor RTP (or no agent for it)
  uint64_t rtcpInvalid = 0;     // RTCP (decrypted) that rtcp_check.h refused before oRTP parsed it
  uint64_t stunIn = 0;
  uint64_t dtlsIn = 0;
};

struct LayerEvent {
  enum Kind : uint8_t { kDtls, kIce, kZrtp } kind;
  uint8_t component;
  uint8_t state;       // DtlsState, IceState, or for ZRTP 0 started / 1 SAS ready / 2 secure
  std::string detail;  // failure reason, selected address, SAS
};

struct ComponentStats {
  SrtpCounters srtp;
  bool hasDtls = false;
  DtlsState dtlsState = DtlsState::kNew;
  DtlsRole dtlsRole = DtlsRole::kClient;
  DtlsCounters dtls;
  std::string dtlsFailure;
  bool hasIce = false;
  IceState iceState = IceState::kNew;
  IceCounters ice;
  std::string iceSelected;  // "address:port"
};

struct LayerStats {
  Protection protection = Protection::kNone;
  SrtpSuite sendSuite = SrtpSuite::kNone;
  SrtpSuite recvSuite = SrtpSuite::kNone;
  bool rtcpMux = false;
  LayerCounters counters;
  ComponentStats component[2];
  bool hasZrtp = false;
  ZrtpStatus zrtp;
  bool attached = true;  // false once the session is gone
};

class SecureLayer {
 public:
  // Puts a layer into the session's transport stack (once; later calls
  // return the same layer). Before the session runs, or with its ticker
  // locked.
  static std::shared_ptr<SecureLayer> Install(RtpSession* session, std::string* err);
  // The layer of a session, if it has one.
  static std::shared_ptr<SecureLayer> Of(RtpSession* session);

  ~SecureLayer();

  // SDES (RFC 4568): keys for what we send and what we receive. Replaces
  // DTLS; a re-key keeps the previous receive key for a few seconds. A
  // suite of kNone keeps that direction's current context (once on SDES).
  std::string SetSdes(SrtpSuite sendSuite, const uint8_t* sendKey, size_t sendLen, SrtpSuite recvSuite,
                      const uint8_t* recvKey, size_t recvLen);
  // DTLS-SRTP (RFC 5763): our certificate, the role the SDP gave us, the
  // peer's fingerprint. Starts afresh (new handshake, no keys until done).
  // Without rtcp-mux the RTCP socket runs its own handshake (RFC 5764 4.1).
  std::string SetDtls(std::shared_ptr<DtlsIdentity> identity, DtlsRole role, const std::string& remoteFingerprint);
  // ZRTP (RFC 6189) through ms2: in-band key agreement, SAS for the users.
  // Call with the session's ticker locked (ms2 edits the meta transports'
  // modifiers). Once on ZRTP a leg stays on it (ms2's modifiers cannot be
  // taken off): SDES/DTLS/ClearProtection are refused afterwards.
  std::string SetZrtp();
  // The users compared the SAS. With the ticker locked.
  void SetZrtpVerified(bool yes);
  // ICE-lite: our credentials and the peer's ufrag. Sources must pass a
  // check before anything else of theirs is accepted.
  void SetIce(const IceCredentials& creds);
  void ClearIce();
  // RTCP on the RTP socket (RFC 5761): the caller sets oRTP's flag too.
  void SetRtcpMux(bool on);
  // No protection at all: plain RTP passes (the default until configured).
  void ClearProtection();

  LayerStats Stats();
  std::vector<LayerEvent> TakeEvents();
  // Called when events are waiting (on the thread that made the change,
  // with the layer locked: it must only post, e.g. a ThreadSafeFunction call).
  void SetNotify(std::function<void()> fn);

  // For code that reads this session's sockets itself (native/forward):
  // one received datagram as the layer would take it. Returns the length of
  // the plaintext RTP/RTCP left in `buf` to deliver, or 0 (consumed: STUN,
  // DTLS, or dropped and counted). STUN/DTLS answers are sent on the socket.
  int ProcessIncoming(int component, uint8_t* buf, int len, const sockaddr* from, socklen_t fromlen);
  // One RTP/RTCP packet to send: protects it in place (`buf` has len +
  // kSrtpMaxGrowth octets) and may set the destination (ICE). Returns the
  // length to send, or -1 (not to be sent, counted).
  int ProcessOutgoing(int component, uint8_t* buf, int len, sockaddr_storage* dest, socklen_t* destlen);

  // The transports' entry points (secure_layer.cc).
  struct Transport;
  void DetachTransport(int component);
  static int Recv(RtpTransport* t, mblk_t* m, int flags, sockaddr* from, socklen_t* fromlen);
  static int Send(RtpTransport* t, mblk_t* m, int flags, const sockaddr* to, socklen_t tolen);

 private:
  explicit SecureLayer(RtpSession* s);
  void ScheduleLocked(int c, uint64_t now);
  int IncomingLocked(int c, uint8_t* p, int n, const sockaddr* from, socklen_t fromlen, uint64_t now);
  int DropInvalidRtcp() {
    ++counters_.rtcpInvalid;
    return 0;
  }
  int OutgoingLocked(int c, uint8_t* p, int n, const sockaddr* to, socklen_t tolen, sockaddr_storage* dest,
                     socklen_t* destlen, uint64_t now);
  void SendRawLocked(int c, const uint8_t* p, size_t n, const sockaddr* to, socklen_t tolen);
  bool DtlsDestinationLocked(int c, sockaddr_storage* out, socklen_t* len, uint64_t now);
  SrtpSession& SrtpForLocked(int socketComponent, bool rtcp);
  int DtlsComponent(int socketComponent) const { return rtcpMux_ ? 0 : socketComponent; }
  void NewDtlsLocked(int c);
  void CheckChangesLocked(int c);
  void PushEventLocked(LayerEvent e);

  std::mutex mu_;
  RtpSession* session_;
  Transport* tr_[2] = {nullptr, nullptr};
  bool detached_[2] = {false, false};
  Protection protection_ = Protection::kNone;
  bool rtcpMux_ = false;
  SrtpSession srtp_[2];
  std::shared_ptr<DtlsIdentity> identity_;
  DtlsRole role_ = DtlsRole::kClient;
  std::string remoteFingerprint_;
  std::unique_ptr<DtlsSession> dtls_[2];
  sockaddr_storage dtlsPeer_[2]{};
  socklen_t dtlsPeerLen_[2] = {0, 0};
  std::unique_ptr<IceLite> ice_[2];
  std::unique_ptr<ZrtpSession> zrtp_;
  bool zrtpSasReported_ = false;
  bool zrtpSecureReported_ = false;
  LayerCounters counters_;
  std::vector<LayerEvent> events_;
  bool notifyPending_ = false;
  std::function<void()> notify_;
};

}  // namespace rms::secure
