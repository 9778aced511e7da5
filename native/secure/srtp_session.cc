#include "secure/srtp_session.h"

#include <cstring>
#include <mutex>

// exported by mediastreamer2 5.1, not declared in its headers
extern "C" int ms_srtp_init(void);

namespace rms::secure {

namespace {

// a macro in libsrtp2's header, so it cannot be taken by address
void AesCm128Sha1_80(srtp_crypto_policy_t* p) { srtp_crypto_policy_set_aes_cm_128_hmac_sha1_80(p); }

struct SuiteInfo {
  SrtpSuite suite;
  const char* name;
  size_t masterLength;
  void (*rtp)(srtp_crypto_policy_t*);
  void (*rtcp)(srtp_crypto_policy_t*);
};

// RFC 4568 6.2.1 / RFC 6188 7.1: the *_32 suites shorten the SRTP tag only;
// SRTCP keeps its 80-bit tag. RFC 7714 suites use a 16-octet GCM tag for both.
const SuiteInfo kSuites[] = {
    {SrtpSuite::kAesCm128HmacSha1_80, "AES_CM_128_HMAC_SHA1_80", SRTP_AES_ICM_128_KEY_LEN_WSALT, AesCm128Sha1_80,
     AesCm128Sha1_80},
    {SrtpSuite::kAesCm128HmacSha1_32, "AES_CM_128_HMAC_SHA1_32", SRTP_AES_ICM_128_KEY_LEN_WSALT,
     srtp_crypto_policy_set_aes_cm_128_hmac_sha1_32, AesCm128Sha1_80},
    {SrtpSuite::kAes192CmHmacSha1_80, "AES_192_CM_HMAC_SHA1_80", SRTP_AES_ICM_192_KEY_LEN_WSALT,
     srtp_crypto_policy_set_aes_cm_192_hmac_sha1_80, srtp_crypto_policy_set_aes_cm_192_hmac_sha1_80},
    {SrtpSuite::kAes192CmHmacSha1_32, "AES_192_CM_HMAC_SHA1_32", SRTP_AES_ICM_192_KEY_LEN_WSALT,
     srtp_crypto_policy_set_aes_cm_192_hmac_sha1_32, srtp_crypto_policy_set_aes_cm_192_hmac_sha1_80},
    {SrtpSuite::kAes256CmHmacSha1_80, "AES_256_CM_HMAC_SHA1_80", SRTP_AES_ICM_256_KEY_LEN_WSALT,
     srtp_crypto_policy_set_aes_cm_256_hmac_sha1_80, srtp_crypto_policy_set_aes_cm_256_hmac_sha1_80},
    {SrtpSuite::kAes256CmHmacSha1_32, "AES_256_CM_HMAC_SHA1_32", SRTP_AES_ICM_256_KEY_LEN_WSALT,
     srtp_crypto_policy_set_aes_cm_256_hmac_sha1_32, srtp_crypto_policy_set_aes_cm_256_hmac_sha1_80},
    {SrtpSuite::kAeadAes128Gcm, "AEAD_AES_128_GCM", SRTP_AES_GCM_128_KEY_LEN_WSALT,
     srtp_crypto_policy_set_aes_gcm_128_16_auth, srtp_crypto_policy_set_aes_gcm_128_16_auth},
    {SrtpSuite::kAeadAes256Gcm, "AEAD_AES_256_GCM", SRTP_AES_GCM_256_KEY_LEN_WSALT,
     srtp_crypto_policy_set_aes_gcm_256_16_auth, srtp_crypto_policy_set_aes_gcm_256_16_auth},
};

const SuiteInfo* Find(SrtpSuite s) {
  for (const SuiteInfo& i : kSuites)
    if (i.suite == s) return &i;
  return nullptr;
}

// Replay window (RFC 3711 3.3.2): packets up to this many indexes behind the
// newest are accepted once each.
constexpr unsigned long kReplayWindow = 1024;

std::string Create(srtp_t* out, SrtpSuite suite, const uint8_t* key, size_t len, bool inbound) {
  const SuiteInfo* info = Find(suite);
  if (info == nullptr) return "unsupported SRTP crypto suite";
  if (len != info->masterLength)
    return std::string(info->name) + " needs a " + std::to_string(info->masterLength) +
           "-octet master key and salt, got " + std::to_string(len);
  EnsureSrtpInitialised();
  srtp_policy_t policy;
  std::memset(&policy, 0, sizeof(policy));
  info->rtp(&policy.rtp);
  info->rtcp(&policy.rtcp);
  policy.ssrc.type = inbound ? ssrc_any_inbound : ssrc_any_outbound;
  // libsrtp copies the key into its context; our copy is wiped at once
  uint8_t copy[SRTP_MAX_KEY_LEN];
  std::memcpy(copy, key, len);
  policy.key = copy;
  policy.window_size = kReplayWindow;
  policy.allow_repeat_tx = 0;
  policy.next = nullptr;
  srtp_t ctx = nullptr;
  srtp_err_status_t st = srtp_create(&ctx, &policy);
  std::memset(copy, 0, sizeof(copy));
  if (st != srtp_err_status_ok) {
    if (ctx != nullptr) srtp_dealloc(ctx);
    return "libsrtp2 refused the " + std::string(info->name) + " context (status " + std::to_string(st) + ")";
  }
  *out = ctx;
  return "";
}

void Free(srtp_t* ctx) {
  if (*ctx != nullptr) srtp_dealloc(*ctx);
  *ctx = nullptr;
}

}  // namespace

const char* SrtpSuiteName(SrtpSuite s) {
  const SuiteInfo* i = Find(s);
  return i ? i->name : nullptr;
}

SrtpSuite SrtpSuiteFromName(const std::string& name) {
  for (const SuiteInfo& i : kSuites)
    if (name == i.name) return i.suite;
  return SrtpSuite::kNone;
}

size_t SrtpMasterLength(SrtpSuite s) {
  const SuiteInfo* i = Find(s);
  return i ? i->masterLength : 0;
}

void EnsureSrtpInitialised() {
  // through mediastreamer2, which initialises libsrtp2 itself (when a factory
  // sets up VoIP) and treats a second srtp_init() failing as fatal: its
  // counted ms_srtp_init() makes whichever comes first do it
  static std::once_flag once;
  std::call_once(once, [] { ms_srtp_init(); });
}

SrtpSession::SrtpSession() = default;

SrtpSession::~SrtpSession() { Clear(); }

void SrtpSession::Clear() {
  Free(&send_);
  Free(&recv_);
  Free(&oldRecv_);
  sendSuite_ = recvSuite_ = SrtpSuite::kNone;
}

std::string SrtpSession::SetSendKey(SrtpSuite suite, const uint8_t* key, size_t len) {
  srtp_t ctx = nullptr;
  std::string err = Create(&ctx, suite, key, len, false);
  if (!err.empty()) return err;
  Free(&send_);
  send_ = ctx;
  sendSuite_ = suite;
  return "";
}

std::string SrtpSession::SetRecvKey(SrtpSuite suite, const uint8_t* key, size_t len) {
  srtp_t ctx = nullptr;
  std::string err = Create(&ctx, suite, key, len, true);
  if (!err.empty()) return err;
  Free(&oldRecv_);
  if (recv_ != nullptr) {
    oldRecv_ = recv_;
    oldRecvUntil_ = std::chrono::steady_clock::now() + kOldKeyGrace;
  }
  recv_ = ctx;
  recvSuite_ = suite;
  return "";
}

void SrtpSession::Count(srtp_err_status_t st) {
  if (st == srtp_err_status_auth_fail)
    ++counters_.authFailures;
  else if (st == srtp_err_status_replay_fail || st == srtp_err_status_replay_old)
    ++counters_.replays;
  else
    ++counters_.otherFailures;
}

int SrtpSession::ProtectRtp(uint8_t* buf, int len) {
  if (send_ == nullptr) return -1;
  int n = len;
  srtp_err_status_t st = srtp_protect(send_, buf, &n);
  if (st != srtp_err_status_ok) {
    ++counters_.protectFailures;
    return -1;
  }
  ++counters_.rtpProtected;
  return n;
}

int SrtpSession::ProtectRtcp(uint8_t* buf, int len) {
  if (send_ == nullptr) return -1;
  int n = len;
  srtp_err_status_t st = srtp_protect_rtcp(send_, buf, &n);
  if (st != srtp_err_status_ok) {
    ++counters_.protectFailures;
    return -1;
  }
  ++counters_.rtcpProtected;
  return n;
}

int SrtpSession::Unprotect(uint8_t* buf, int len, bool rtcp) {
  if (recv_ == nullptr) return -1;
  // During a re-key's grace period a failure under the new key is retried
  // under the old one; AEAD decryption may have written into the buffer by
  // then, so it starts from a copy.
  bool tryOld = oldRecv_ != nullptr;
  if (tryOld && std::chrono::steady_clock::now() > oldRecvUntil_) {
    Free(&oldRecv_);
    tryOld = false;
  }
  uint8_t copy[1600];
  if (tryOld && (len < 0 || static_cast<size_t>(len) > sizeof(copy))) tryOld = false;
  if (tryOld) std::memcpy(copy, buf, static_cast<size_t>(len));
  int n = len;
  srtp_err_status_t st = rtcp ? srtp_unprotect_rtcp(recv_, buf, &n) : srtp_unprotect(recv_, buf, &n);
  if (st == srtp_err_status_auth_fail && tryOld) {
    std::memcpy(buf, copy, static_cast<size_t>(len));
    n = len;
    srtp_err_status_t old = rtcp ? srtp_unprotect_rtcp(oldRecv_, buf, &n) : srtp_unprotect(oldRecv_, buf, &n);
    if (old == srtp_err_status_ok) {
      ++counters_.oldKeyUsed;
      st = old;
    }
  }
  if (st != srtp_err_status_ok) {
    Count(st);
    return -1;
  }
  ++(rtcp ? counters_.rtcpUnprotected : counters_.rtpUnprotected);
  return n;
}

int SrtpSession::UnprotectRtp(uint8_t* buf, int len) { return Unprotect(buf, len, false); }
int SrtpSession::UnprotectRtcp(uint8_t* buf, int len) { return Unprotect(buf, len, true); }

}  // namespace rms::secure
