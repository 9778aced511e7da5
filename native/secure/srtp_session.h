// SRTP and SRTCP (RFC 3711) for one leg, on libsrtp2: a send context and a
// receive context, each keyed by a master key and salt (SDES, RFC 4568) or
// by the keying material a DTLS handshake exported (RFC 5764).
//
// Everything cryptographic is libsrtp2's: ciphers, authentication tags, key
// derivation, the replay window. This file picks policies, counts outcomes
// and keeps the previous receive key for a short while on a re-key (RFC 4568
// 7.1.4: packets sent under the old key are still in flight when the answer
// with the new one arrives).
//
// Not thread safe: the owner serialises calls (native/secure/secure_layer.h
// does, so does a forwarder that uses a session on its own thread).
// Keys are copied into libsrtp2's context and wiped from our buffers; they
// are never written to a log or an error message.
#pragma once
#include <srtp2/srtp.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>

namespace rms::secure {

enum class SrtpSuite : uint8_t {
  kNone,
  kAesCm128HmacSha1_80,  // AES_CM_128_HMAC_SHA1_80 (RFC 4568)
  kAesCm128HmacSha1_32,  // AES_CM_128_HMAC_SHA1_32 (RFC 4568; SRTCP keeps an 80-bit tag)
  kAes192CmHmacSha1_80,  // AES_192_CM_HMAC_SHA1_80 (RFC 6188)
  kAes192CmHmacSha1_32,
  kAes256CmHmacSha1_80,  // AES_256_CM_HMAC_SHA1_80 (RFC 6188)
  kAes256CmHmacSha1_32,
  kAeadAes128Gcm,  // AEAD_AES_128_GCM (RFC 7714), 16-octet tag
  kAeadAes256Gcm,  // AEAD_AES_256_GCM (RFC 7714)
};

// The SDP name (RFC 4568 / 6188 / 7714), or nullptr for kNone.
const char* SrtpSuiteName(SrtpSuite s);
// kNone when the name is not one we support.
SrtpSuite SrtpSuiteFromName(const std::string& name);
// Master key plus master salt, in octets (30 for AES_CM_128, 28 for AEAD_AES_128_GCM, ...).
size_t SrtpMasterLength(SrtpSuite s);

// What srtp_protect* may add to a packet: room a caller leaves after it.
constexpr size_t kSrtpMaxGrowth = SRTP_MAX_TRAILER_LEN + 4;

struct SrtpCounters {
  uint64_t rtpProtected = 0;
  uint64_t rtcpProtected = 0;
  uint64_t rtpUnprotected = 0;
  uint64_t rtcpUnprotected = 0;
  uint64_t authFailures = 0;     // tag mismatch: forged, corrupted or wrongly keyed
  uint64_t replays = 0;          // index seen before or older than the window
  uint64_t otherFailures = 0;    // malformed packets, libsrtp errors
  uint64_t protectFailures = 0;  // our own packets libsrtp refused to protect
  uint64_t oldKeyUsed = 0;       // packets accepted under the previous receive key
};

void EnsureSrtpInitialised();

class SrtpSession {
 public:
  SrtpSession();
  ~SrtpSession();
  SrtpSession(const SrtpSession&) = delete;
  SrtpSession& operator=(const SrtpSession&) = delete;

  // key: master key || master salt, SrtpMasterLength(suite) octets. Returns
  // an empty string, or why not (the text never contains key material).
  std::string SetSendKey(SrtpSuite suite, const uint8_t* key, size_t len);
  std::string SetRecvKey(SrtpSuite suite, const uint8_t* key, size_t len);
  void Clear();

  bool canSend() const { return send_ != nullptr; }
  bool canRecv() const { return recv_ != nullptr; }
  SrtpSuite sendSuite() const { return sendSuite_; }
  SrtpSuite recvSuite() const { return recvSuite_; }

  // In place. `buf` has room for len + kSrtpMaxGrowth octets. Returns the new
  // length, or -1 (counted) when the packet is not sent.
  int ProtectRtp(uint8_t* buf, int len);
  int ProtectRtcp(uint8_t* buf, int len);
  // In place. Returns the plaintext length, or -1 (counted by cause): the
  // packet must be dropped.
  int UnprotectRtp(uint8_t* buf, int len);
  int UnprotectRtcp(uint8_t* buf, int len);

  const SrtpCounters& counters() const { return counters_; }

  // How long the previous receive key stays usable after a re-key.
  static constexpr std::chrono::seconds kOldKeyGrace{5};

 private:
  int Unprotect(uint8_t* buf, int len, bool rtcp);
  void Count(srtp_err_status_t st);

  srtp_t send_ = nullptr;
  srtp_t recv_ = nullptr;
  srtp_t oldRecv_ = nullptr;
  std::chrono::steady_clock::time_point oldRecvUntil_{};
  SrtpSuite sendSuite_ = SrtpSuite::kNone;
  SrtpSuite recvSuite_ = SrtpSuite::kNone;
  SrtpCounters counters_;
};

}  // namespace rms::secure
