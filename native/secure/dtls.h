// DTLS-SRTP (RFC 5763 / 5764) on bctoolbox's mbedTLS wrapper: the
// handshake over the media socket, the peer's certificate checked against the
// fingerprint its SDP announced, and the SRTP keys exported from the
// handshake. All of DTLS, the certificate and the key export are mbedTLS's;
// this file feeds it datagrams and reads the results.
//
// Not thread safe: the security layer serialises calls (on the ticker thread
// that reads the session, or the main thread while configuring).
#pragma once
#include <bctoolbox/crypto.h>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "secure/srtp_session.h"

namespace rms::secure {

// A certificate and its private key, shared by every DTLS session that uses
// it (mbedTLS keeps pointers, not copies: it lives as long as they do).
class DtlsIdentity {
 public:
  ~DtlsIdentity();
  DtlsIdentity(const DtlsIdentity&) = delete;
  DtlsIdentity& operator=(const DtlsIdentity&) = delete;

  // A new self-signed certificate (RSA 3072, SHA-256; what bctoolbox
  // generates). Seconds of CPU: call it off the main thread.
  static std::shared_ptr<DtlsIdentity> Generate(const std::string& commonName, std::string* err);
  // An existing certificate and key (PEM; RSA or ECDSA).
  static std::shared_ptr<DtlsIdentity> FromPem(const std::string& certPem, const std::string& keyPem, std::string* err);

  // "AB:CD:..." of the DER certificate under `algorithm` ("sha-1", "sha-224",
  // "sha-256", "sha-384", "sha-512"); empty if unknown.
  std::string Fingerprint(const std::string& algorithm) const;
  std::string CertificatePem() const;

  bctbx_x509_certificate_t* cert() const { return cert_; }
  bctbx_signing_key_t* key() const { return key_; }

 private:
  DtlsIdentity();
  bctbx_x509_certificate_t* cert_ = nullptr;
  bctbx_signing_key_t* key_ = nullptr;
};

// "AB:CD:..." of `cert` under `algorithm`, empty if unknown.
std::string CertificateFingerprint(const bctbx_x509_certificate_t* cert, const std::string& algorithm);

enum class DtlsRole : uint8_t { kClient, kServer };

enum class DtlsState : uint8_t {
  kNew,         // configured, nothing sent or received yet
  kConnecting,  // handshake under way
  kConnected,   // handshake done, fingerprint matched, keys exported
  kFailed,      // handshake error, timeout, or the peer's certificate did not match
  kClosed,      // the peer sent close_notify
};

const char* DtlsStateName(DtlsState s);

struct DtlsCounters {
  uint64_t datagramsIn = 0;
  uint64_t datagramsOut = 0;
  uint64_t fingerprintMismatches = 0;
  uint64_t failures = 0;
};

class DtlsSession {
 public:
  using SendFn = std::function<void(const uint8_t* p, size_t n)>;

  // remoteFingerprint: "<algorithm> <hex pairs>" as in a=fingerprint.
  DtlsSession(std::shared_ptr<DtlsIdentity> identity, DtlsRole role, std::string remoteFingerprint, SendFn send);
  ~DtlsSession();
  DtlsSession(const DtlsSession&) = delete;
  DtlsSession& operator=(const DtlsSession&) = delete;

  // Sets up mbedTLS; an error text, or empty.
  std::string Init();
  // Client: sends the ClientHello (then retransmits from Tick()). Server: waits.
  void Start();
  bool started() const { return started_; }
  void OnDatagram(const uint8_t* p, size_t n);
  // Retransmission timers while handshaking.
  void Tick();
  // Tells the peer we are done (close_notify), if connected.
  void Close();

  DtlsRole role() const { return role_; }
  DtlsState state() const { return state_; }
  const std::string& failure() const { return failure_; }
  const DtlsCounters& counters() const { return counters_; }
  // Set when the state changed; cleared by the call.
  bool TakeChange();

  // Once connected: the agreed profile and the master key+salt we send with
  // and the one the peer sends with (SrtpMasterLength(suite) octets each).
  bool Keys(SrtpSuite* suite, uint8_t* local, uint8_t* remote) const;

 private:
  static int SendCb(void* self, const unsigned char* p, size_t n);
  static int RecvCb(void* self, unsigned char* p, size_t n);
  static int VerifyCb(void* self, bctbx_x509_certificate_t* crt, int depth, uint32_t* flags);
  static int RngCb(void* self, unsigned char* out, size_t n);
  void Step();
  void Fail(const std::string& why);
  void Finish();

  std::shared_ptr<DtlsIdentity> identity_;
  DtlsRole role_;
  std::string remoteFingerprint_;  // normalised: "SHA-256 AB:..."
  SendFn send_;
  bctbx_ssl_config_t* config_ = nullptr;
  bctbx_ssl_context_t* ssl_ = nullptr;
  bctbx_rng_context_t* rng_ = nullptr;
  const uint8_t* pending_ = nullptr;
  size_t pendingLen_ = 0;
  bool started_ = false;
  bool mismatch_ = false;
  DtlsState state_ = DtlsState::kNew;
  bool changed_ = false;
  std::string failure_;
  SrtpSuite suite_ = SrtpSuite::kNone;
  uint8_t material_[60] = {};
  DtlsCounters counters_;
};

}  // namespace rms::secure
