#include "secure/dtls.h"

#include <algorithm>
#include <cctype>
#include <cstring>
#include <utility>

namespace rms::secure {

namespace {

// mbedTLS's "fatal error in the verify callback": aborts the handshake.
constexpr int kVerifyRejected = -0x3000;

bool HashOf(const std::string& algorithm, bctbx_md_type_t* out) {
  std::string a = algorithm;
  std::transform(a.begin(), a.end(), a.begin(), [](unsigned char c) { return std::tolower(c); });
  if (a == "sha-1")
    *out = BCTBX_MD_SHA1;
  else if (a == "sha-224")
    *out = BCTBX_MD_SHA224;
  else if (a == "sha-256")
    *out = BCTBX_MD_SHA256;
  else if (a == "sha-384")
    *out = BCTBX_MD_SHA384;
  else if (a == "sha-512")
    *out = BCTBX_MD_SHA512;
  else
    return false;
  return true;
}

std::string Upper(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::toupper(c); });
  return s;
}

std::string ErrorText(int32_t code) {
  char buf[160];
  bctbx_strerror(code, buf, sizeof(buf));
  return buf;
}

}  // namespace

// ---------------------------------------------------------------------------
// Identity
// ---------------------------------------------------------------------------

DtlsIdentity::DtlsIdentity() : cert_(bctbx_x509_certificate_new()), key_(bctbx_signing_key_new()) {}

DtlsIdentity::~DtlsIdentity() {
  if (cert_ != nullptr) bctbx_x509_certificate_free(cert_);
  if (key_ != nullptr) bctbx_signing_key_free(key_);
}

std::shared_ptr<DtlsIdentity> DtlsIdentity::Generate(const std::string& commonName, std::string* err) {
  std::shared_ptr<DtlsIdentity> id(new DtlsIdentity());
  int32_t rc = bctbx_x509_certificate_generate_selfsigned(commonName.c_str(), id->cert_, id->key_, nullptr, 0);
  if (rc != 0) {
    *err = "cannot generate a DTLS certificate: " + ErrorText(rc);
    return nullptr;
  }
  return id;
}

std::shared_ptr<DtlsIdentity> DtlsIdentity::FromPem(const std::string& certPem, const std::string& keyPem,
                                                    std::string* err) {
  std::shared_ptr<DtlsIdentity> id(new DtlsIdentity());
  // PEM parsing wants the terminating NUL counted
  if (bctbx_x509_certificate_parse(id->cert_, certPem.c_str(), certPem.size() + 1) != 0) {
    *err = "the DTLS certificate is not a PEM X.509 certificate";
    return nullptr;
  }
  if (bctbx_signing_key_parse(id->key_, keyPem.c_str(), keyPem.size() + 1, nullptr, 0) != 0) {
    *err = "the DTLS private key is not a PEM key (unencrypted RSA or EC)";
    return nullptr;
  }
  return id;
}

std::string CertificateFingerprint(const bctbx_x509_certificate_t* cert, const std::string& algorithm) {
  bctbx_md_type_t md;
  if (cert == nullptr || !HashOf(algorithm, &md)) return "";
  char buf[256];
  if (bctbx_x509_certificate_get_fingerprint(cert, buf, sizeof(buf), md) <= 0) return "";
  // "SHA-256 AB:CD:...": the hex part
  const char* sp = std::strchr(buf, ' ');
  return sp ? std::string(sp + 1) : "";
}

std::string DtlsIdentity::Fingerprint(const std::string& algorithm) const {
  return CertificateFingerprint(cert_, algorithm);
}

std::string DtlsIdentity::CertificatePem() const {
  char* pem = bctbx_x509_certificates_chain_get_pem(cert_);
  if (pem == nullptr) return "";
  std::string s(pem);
  bctbx_free(pem);
  return s;
}

const char* DtlsStateName(DtlsState s) {
  switch (s) {
    case DtlsState::kNew:
      return "new";
    case DtlsState::kConnecting:
      return "connecting";
    case DtlsState::kConnected:
      return "connected";
    case DtlsState::kFailed:
      return "failed";
    case DtlsState::kClosed:
      return "closed";
  }
  return "failed";
}

// ---------------------------------------------------------------------------
// Session
// ---------------------------------------------------------------------------

DtlsSession::DtlsSession(std::shared_ptr<DtlsIdentity> identity, DtlsRole role, std::string remoteFingerprint,
                         SendFn send)
    : identity_(std::move(identity)), role_(role), send_(std::move(send)) {
  // "sha-256 ab:cd" -> "SHA-256 AB:CD"; compared with what mbedTLS computes
  remoteFingerprint_ = Upper(std::move(remoteFingerprint));
}

DtlsSession::~DtlsSession() {
  if (ssl_ != nullptr) bctbx_ssl_context_free(ssl_);
  if (config_ != nullptr) bctbx_ssl_config_free(config_);
  if (rng_ != nullptr) bctbx_rng_context_free(rng_);
  bctbx_clean(material_, sizeof(material_));
}

std::string DtlsSession::Init() {
  if (!bctbx_dtls_srtp_supported()) return "this bctoolbox has no DTLS-SRTP";
  size_t sp = remoteFingerprint_.find(' ');
  bctbx_md_type_t md;
  if (sp == std::string::npos || !HashOf(remoteFingerprint_.substr(0, sp), &md))
    return "the remote fingerprint must be '<sha-1|sha-224|sha-256|sha-384|sha-512> <hex>'";
  rng_ = bctbx_rng_context_new();
  config_ = bctbx_ssl_config_new();
  int endpoint = role_ == DtlsRole::kClient ? BCTBX_SSL_IS_CLIENT : BCTBX_SSL_IS_SERVER;
  int32_t rc = bctbx_ssl_config_defaults(config_, endpoint, BCTBX_SSL_TRANSPORT_DATAGRAM);
  if (rc == 0) rc = bctbx_ssl_config_set_rng(config_, &DtlsSession::RngCb, this);
  // no CA: the certificate is authenticated by the fingerprint in the
  // signalling (RFC 5763 5), checked in VerifyCb and again when done. The
  // server asks for the client's certificate (OPTIONAL), as RFC 5763 6.6 wants.
  if (rc == 0) rc = bctbx_ssl_config_set_authmode(config_, BCTBX_SSL_VERIFY_OPTIONAL);
  if (rc == 0) rc = bctbx_ssl_config_set_callback_verify(config_, &DtlsSession::VerifyCb, this);
  if (rc == 0) rc = bctbx_ssl_config_set_own_cert(config_, identity_->cert(), identity_->key());
  const bctbx_dtls_srtp_profile_t profiles[] = {BCTBX_SRTP_AES128_CM_HMAC_SHA1_80, BCTBX_SRTP_AES128_CM_HMAC_SHA1_32};
  if (rc == 0) rc = bctbx_ssl_config_set_dtls_srtp_protection_profiles(config_, profiles, 2);
  if (rc != 0) return "cannot configure DTLS: " + ErrorText(rc);
  ssl_ = bctbx_ssl_context_new();
  rc = bctbx_ssl_context_setup(ssl_, config_);
  if (rc != 0) return "cannot set up DTLS: " + ErrorText(rc);
  bctbx_ssl_set_io_callbacks(ssl_, this, &DtlsSession::SendCb, &DtlsSession::RecvCb);
  // records and the certificate flight fit an Ethernet datagram
  bctbx_ssl_set_mtu(ssl_, 1500);
  return "";
}

int DtlsSession::RngCb(void* self, unsigned char* out, size_t n) {
  return bctbx_rng_get(static_cast<DtlsSession*>(self)->rng_, out, n) == 0 ? 0 : -1;
}

int DtlsSession::SendCb(void* self, const unsigned char* p, size_t n) {
  auto* s = static_cast<DtlsSession*>(self);
  ++s->counters_.datagramsOut;
  s->send_(p, n);
  return static_cast<int>(n);
}

int DtlsSession::RecvCb(void* self, unsigned char* p, size_t n) {
  auto* s = static_cast<DtlsSession*>(self);
  if (s->pending_ == nullptr) return BCTBX_ERROR_NET_WANT_READ;
  size_t len = std::min(n, s->pendingLen_);
  std::memcpy(p, s->pending_, len);
  s->pending_ = nullptr;
  s->pendingLen_ = 0;
  return static_cast<int>(len);
}

int DtlsSession::VerifyCb(void* self, bctbx_x509_certificate_t* crt, int depth, uint32_t* flags) {
  auto* s = static_cast<DtlsSession*>(self);
  // a self-signed chain of one: only the peer's own certificate matters
  if (depth != 0) {
    *flags = 0;
    return 0;
  }
  size_t sp = s->remoteFingerprint_.find(' ');
  std::string got = Upper(CertificateFingerprint(crt, s->remoteFingerprint_.substr(0, sp)));
  if (got.empty() || got != s->remoteFingerprint_.substr(sp + 1)) {
    s->mismatch_ = true;
    return kVerifyRejected;
  }
  *flags = 0;
  return 0;
}

void DtlsSession::Start() {
  if (started_ || ssl_ == nullptr || state_ != DtlsState::kNew) return;
  started_ = true;
  state_ = DtlsState::kConnecting;
  changed_ = true;
  if (role_ == DtlsRole::kClient) Step();
}

void DtlsSession::Fail(const std::string& why) {
  if (state_ == DtlsState::kFailed) return;
  ++counters_.failures;
  failure_ = why;
  state_ = DtlsState::kFailed;
  changed_ = true;
}

void DtlsSession::Step() {
  int32_t rc = bctbx_ssl_handshake(ssl_);
  if (rc == BCTBX_ERROR_NET_WANT_READ || rc == BCTBX_ERROR_NET_WANT_WRITE) return;
  if (mismatch_) {
    ++counters_.fingerprintMismatches;
    Fail("the peer's certificate does not match the fingerprint in its SDP");
    return;
  }
  if (rc != 0) {
    Fail("DTLS handshake failed: " + ErrorText(rc));
    return;
  }
  Finish();
}

void DtlsSession::Finish() {
  // the verify callback ran only if a certificate came: check once more
  const bctbx_x509_certificate_t* peer = bctbx_ssl_get_peer_certificate(ssl_);
  size_t sp = remoteFingerprint_.find(' ');
  if (peer == nullptr ||
      Upper(CertificateFingerprint(peer, remoteFingerprint_.substr(0, sp))) != remoteFingerprint_.substr(sp + 1)) {
    ++counters_.fingerprintMismatches;
    bctbx_ssl_close_notify(ssl_);
    Fail(peer == nullptr ? "the peer sent no certificate"
                         : "the peer's certificate does not match the fingerprint in its SDP");
    return;
  }
  bctbx_dtls_srtp_profile_t profile = bctbx_ssl_get_dtls_srtp_protection_profile(ssl_);
  suite_ = profile == BCTBX_SRTP_AES128_CM_HMAC_SHA1_80   ? SrtpSuite::kAesCm128HmacSha1_80
           : profile == BCTBX_SRTP_AES128_CM_HMAC_SHA1_32 ? SrtpSuite::kAesCm128HmacSha1_32
                                                          : SrtpSuite::kNone;
  if (suite_ == SrtpSuite::kNone) {
    Fail("the DTLS handshake agreed on no SRTP protection profile (use_srtp)");
    return;
  }
  size_t len = sizeof(material_);
  if (bctbx_ssl_get_dtls_srtp_key_material(config_, material_, &len) != 0) {
    Fail("cannot export the DTLS-SRTP keying material");
    return;
  }
  state_ = DtlsState::kConnected;
  changed_ = true;
}

void DtlsSession::OnDatagram(const uint8_t* p, size_t n) {
  ++counters_.datagramsIn;
  if (ssl_ == nullptr || state_ == DtlsState::kFailed || state_ == DtlsState::kClosed) return;
  // a server learns of the handshake from the first ClientHello
  if (state_ == DtlsState::kNew) {
    started_ = true;
    state_ = DtlsState::kConnecting;
    changed_ = true;
  }
  pending_ = p;
  pendingLen_ = n;
  if (state_ == DtlsState::kConnecting) {
    Step();
  } else {
    // after the handshake: retransmitted flights (answered by mbedTLS),
    // alerts, close_notify; no application data is expected
    unsigned char buf[1500];
    int32_t rc = bctbx_ssl_read(ssl_, buf, sizeof(buf));
    if (rc == BCTBX_ERROR_SSL_PEER_CLOSE_NOTIFY) {
      state_ = DtlsState::kClosed;
      changed_ = true;
    }
  }
  pending_ = nullptr;
  pendingLen_ = 0;
}

void DtlsSession::Tick() {
  if (state_ == DtlsState::kConnecting && started_) Step();
}

void DtlsSession::Close() {
  if (state_ == DtlsState::kConnected && ssl_ != nullptr) bctbx_ssl_close_notify(ssl_);
}

bool DtlsSession::TakeChange() {
  bool c = changed_;
  changed_ = false;
  return c;
}

bool DtlsSession::Keys(SrtpSuite* suite, uint8_t* local, uint8_t* remote) const {
  if (state_ != DtlsState::kConnected) return false;
  // RFC 5764 4.2: client key | server key | client salt | server salt
  constexpr size_t kKey = 16, kSalt = 14;
  const uint8_t* clientKey = material_;
  const uint8_t* serverKey = material_ + kKey;
  const uint8_t* clientSalt = material_ + 2 * kKey;
  const uint8_t* serverSalt = material_ + 2 * kKey + kSalt;
  bool client = role_ == DtlsRole::kClient;
  std::memcpy(local, client ? clientKey : serverKey, kKey);
  std::memcpy(local + kKey, client ? clientSalt : serverSalt, kSalt);
  std::memcpy(remote, client ? serverKey : clientKey, kKey);
  std::memcpy(remote + kKey, client ? serverSalt : clientSalt, kSalt);
  *suite = suite_;
  return true;
}

}  // namespace rms::secure
