// STUN message framing (RFC 5389 / 8489) for ICE connectivity checks
// (RFC 8445 7.2): parse a Binding request, check its MESSAGE-INTEGRITY and
// FINGERPRINT, and write the success or error response. HMAC-SHA1 comes from
// bctoolbox, CRC-32 from zlib; the rest is byte layout.
#pragma once
#include <sys/socket.h>

#include <cstddef>
#include <cstdint>
#include <string>

namespace rms::secure {

constexpr uint32_t kStunMagicCookie = 0x2112A442;
constexpr uint16_t kStunBindingRequest = 0x0001;
constexpr uint16_t kStunBindingIndication = 0x0011;
constexpr uint16_t kStunBindingSuccess = 0x0101;
constexpr uint16_t kStunBindingError = 0x0111;
// Large enough for any response we write.
constexpr size_t kStunMaxResponse = 256;

struct StunMessage {
  uint16_t type = 0;
  uint8_t txid[12] = {};
  std::string username;  // USERNAME, as sent ("ourUfrag:theirUfrag" in a check to us)
  bool hasIntegrity = false;
  size_t integrityOffset = 0;  // where the MESSAGE-INTEGRITY attribute starts
  bool hasFingerprint = false;
  bool useCandidate = false;
  bool controlling = false;
  bool controlled = false;
  uint32_t priority = 0;
  uint16_t unknownRequired = 0;  // first comprehension-required attribute we do not know, 0 if none
};

enum class StunParse {
  kOk,
  kNotStun,    // not a STUN message at all (wrong cookie, length, FINGERPRINT)
  kMalformed,  // STUN, but its attributes do not add up
};

// First octet 0..3 and the magic cookie: a datagram that may be STUN (RFC 7983).
bool LooksLikeStun(const uint8_t* p, size_t n);

StunParse ParseStun(const uint8_t* p, size_t n, StunMessage* out);

// MESSAGE-INTEGRITY with the short-term credential `password` (RFC 8489 14.5).
bool StunIntegrityValid(const uint8_t* p, size_t n, const StunMessage& m, const std::string& password);

// Binding success response with XOR-MAPPED-ADDRESS = `mapped`, then
// MESSAGE-INTEGRITY (key `password`) and FINGERPRINT. Returns its length, 0 if
// `mapped` is not IPv4/IPv6.
size_t BuildBindingSuccess(uint8_t* out, const uint8_t txid[12], const sockaddr* mapped, const std::string& password);

// Binding error response (400, 401, 420, 487). With a non-empty password it
// carries MESSAGE-INTEGRITY (not for 400/401, RFC 8489 10.1.2). With
// code 420, `unknown` is listed in UNKNOWN-ATTRIBUTES.
size_t BuildBindingError(uint8_t* out, const uint8_t txid[12], int code, const char* reason,
                         const std::string& password, uint16_t unknown = 0);

}  // namespace rms::secure
