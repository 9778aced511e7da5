#include "secure/stun.h"

#include <arpa/inet.h>
#include <bctoolbox/crypto.h>
#include <netinet/in.h>
#include <zlib.h>

#include <algorithm>
#include <cstring>

namespace rms::secure {

namespace {

constexpr uint16_t kAttrUsername = 0x0006;
constexpr uint16_t kAttrMessageIntegrity = 0x0008;
constexpr uint16_t kAttrErrorCode = 0x0009;
constexpr uint16_t kAttrUnknownAttributes = 0x000A;
constexpr uint16_t kAttrXorMappedAddress = 0x0020;
constexpr uint16_t kAttrPriority = 0x0024;
constexpr uint16_t kAttrUseCandidate = 0x0025;
constexpr uint16_t kAttrFingerprint = 0x8028;
constexpr uint16_t kAttrIceControlled = 0x8029;
constexpr uint16_t kAttrIceControlling = 0x802A;
constexpr uint32_t kFingerprintXor = 0x5354554e;
constexpr size_t kHeader = 20;
constexpr size_t kMaxUsername = 513;  // RFC 8489 14.3

uint16_t Get16(const uint8_t* p) { return static_cast<uint16_t>((p[0] << 8) | p[1]); }
uint32_t Get32(const uint8_t* p) {
  return (static_cast<uint32_t>(p[0]) << 24) | (static_cast<uint32_t>(p[1]) << 16) |
         (static_cast<uint32_t>(p[2]) << 8) | p[3];
}
void Put16(uint8_t* p, uint16_t v) {
  p[0] = static_cast<uint8_t>(v >> 8);
  p[1] = static_cast<uint8_t>(v);
}
void Put32(uint8_t* p, uint32_t v) {
  p[0] = static_cast<uint8_t>(v >> 24);
  p[1] = static_cast<uint8_t>(v >> 16);
  p[2] = static_cast<uint8_t>(v >> 8);
  p[3] = static_cast<uint8_t>(v);
}

uint32_t Crc32(const uint8_t* p, size_t n) {
  return static_cast<uint32_t>(crc32(crc32(0L, Z_NULL, 0), p, static_cast<uInt>(n)));
}

void Hmac(const std::string& key, const uint8_t* p, size_t n, uint8_t out[20]) {
  bctbx_hmacSha1(reinterpret_cast<const uint8_t*>(key.data()), key.size(), p, n, 20, out);
}

// Writes the message header; attributes follow at out + 20.
void Header(uint8_t* out, uint16_t type, const uint8_t txid[12]) {
  Put16(out, type);
  Put16(out + 2, 0);
  Put32(out + 4, kStunMagicCookie);
  std::memcpy(out + 8, txid, 12);
}

// Appends MESSAGE-INTEGRITY (when keyed) and FINGERPRINT; returns the length.
size_t Finish(uint8_t* out, size_t len, const std::string& password) {
  if (!password.empty()) {
    Put16(out + 2, static_cast<uint16_t>(len + 24 - kHeader));
    Put16(out + len, kAttrMessageIntegrity);
    Put16(out + len + 2, 20);
    Hmac(password, out, len, out + len + 4);
    len += 24;
  }
  Put16(out + 2, static_cast<uint16_t>(len + 8 - kHeader));
  Put16(out + len, kAttrFingerprint);
  Put16(out + len + 2, 4);
  Put32(out + len + 4, Crc32(out, len) ^ kFingerprintXor);
  return len + 8;
}

}  // namespace

bool LooksLikeStun(const uint8_t* p, size_t n) { return n >= kHeader && p[0] < 4 && Get32(p + 4) == kStunMagicCookie; }

StunParse ParseStun(const uint8_t* p, size_t n, StunMessage* out) {
  if (!LooksLikeStun(p, n)) return StunParse::kNotStun;
  size_t bodyLen = Get16(p + 2);
  if ((bodyLen & 3) != 0 || kHeader + bodyLen != n) return StunParse::kNotStun;
  *out = StunMessage();
  out->type = Get16(p);
  std::memcpy(out->txid, p + 8, 12);
  size_t off = kHeader;
  bool afterIntegrity = false;
  while (off < n) {
    if (n - off < 4) return StunParse::kMalformed;
    uint16_t type = Get16(p + off);
    size_t len = Get16(p + off + 2);
    size_t padded = (len + 3) & ~static_cast<size_t>(3);
    if (n - off - 4 < padded) return StunParse::kMalformed;
    const uint8_t* v = p + off + 4;
    if (type == kAttrFingerprint) {
      // must be last and match, else this is not STUN (RFC 8489 14.7)
      if (len != 4 || off + 8 != n) return StunParse::kNotStun;
      if ((Crc32(p, off) ^ kFingerprintXor) != Get32(v)) return StunParse::kNotStun;
      out->hasFingerprint = true;
    } else if (!afterIntegrity) {
      // attributes after MESSAGE-INTEGRITY (but FINGERPRINT) are ignored
      switch (type) {
        case kAttrUsername:
          if (len > kMaxUsername) return StunParse::kMalformed;
          out->username.assign(reinterpret_cast<const char*>(v), len);
          break;
        case kAttrMessageIntegrity:
          if (len != 20) return StunParse::kMalformed;
          out->hasIntegrity = true;
          out->integrityOffset = off;
          afterIntegrity = true;
          break;
        case kAttrPriority:
          if (len != 4) return StunParse::kMalformed;
          out->priority = Get32(v);
          break;
        case kAttrUseCandidate:
          out->useCandidate = true;
          break;
        case kAttrIceControlling:
          out->controlling = true;
          break;
        case kAttrIceControlled:
          out->controlled = true;
          break;
        default:
          if (type < 0x8000 && out->unknownRequired == 0) out->unknownRequired = type;
          break;
      }
    }
    off += 4 + padded;
  }
  return StunParse::kOk;
}

bool StunIntegrityValid(const uint8_t* p, size_t n, const StunMessage& m, const std::string& password) {
  if (!m.hasIntegrity || m.integrityOffset + 24 > n || m.integrityOffset < kHeader) return false;
  // HMAC over everything before the attribute, with the length field as if
  // MESSAGE-INTEGRITY ended the message
  uint8_t buf[1600];
  if (m.integrityOffset > sizeof(buf)) return false;
  std::memcpy(buf, p, m.integrityOffset);
  Put16(buf + 2, static_cast<uint16_t>(m.integrityOffset + 24 - kHeader));
  uint8_t mac[20];
  Hmac(password, buf, m.integrityOffset, mac);
  const uint8_t* got = p + m.integrityOffset + 4;
  uint8_t diff = 0;
  for (int i = 0; i < 20; ++i) diff |= static_cast<uint8_t>(mac[i] ^ got[i]);
  return diff == 0;
}

size_t BuildBindingSuccess(uint8_t* out, const uint8_t txid[12], const sockaddr* mapped, const std::string& password) {
  Header(out, kStunBindingSuccess, txid);
  size_t len = kHeader;
  uint8_t* a = out + len;
  if (mapped->sa_family == AF_INET) {
    auto* sin = reinterpret_cast<const sockaddr_in*>(mapped);
    Put16(a, kAttrXorMappedAddress);
    Put16(a + 2, 8);
    a[4] = 0;
    a[5] = 0x01;
    Put16(a + 6, static_cast<uint16_t>(ntohs(sin->sin_port) ^ (kStunMagicCookie >> 16)));
    Put32(a + 8, ntohl(sin->sin_addr.s_addr) ^ kStunMagicCookie);
    len += 12;
  } else if (mapped->sa_family == AF_INET6) {
    auto* sin6 = reinterpret_cast<const sockaddr_in6*>(mapped);
    Put16(a, kAttrXorMappedAddress);
    Put16(a + 2, 20);
    a[4] = 0;
    a[5] = 0x02;
    Put16(a + 6, static_cast<uint16_t>(ntohs(sin6->sin6_port) ^ (kStunMagicCookie >> 16)));
    uint8_t x[16];
    Put32(x, kStunMagicCookie);
    std::memcpy(x + 4, txid, 12);
    for (int i = 0; i < 16; ++i) a[8 + i] = static_cast<uint8_t>(sin6->sin6_addr.s6_addr[i] ^ x[i]);
    len += 24;
  } else {
    return 0;
  }
  return Finish(out, len, password);
}

size_t BuildBindingError(uint8_t* out, const uint8_t txid[12], int code, const char* reason,
                         const std::string& password, uint16_t unknown) {
  Header(out, kStunBindingError, txid);
  size_t len = kHeader;
  size_t rlen = std::min<size_t>(std::strlen(reason), 128);
  uint8_t* a = out + len;
  Put16(a, kAttrErrorCode);
  Put16(a + 2, static_cast<uint16_t>(4 + rlen));
  a[4] = 0;
  a[5] = 0;
  a[6] = static_cast<uint8_t>(code / 100);
  a[7] = static_cast<uint8_t>(code % 100);
  std::memcpy(a + 8, reason, rlen);
  size_t padded = (4 + rlen + 3) & ~static_cast<size_t>(3);
  std::memset(a + 4 + 4 + rlen, 0, padded - 4 - rlen);
  len += 4 + padded;
  if (code == 420 && unknown != 0) {
    a = out + len;
    Put16(a, kAttrUnknownAttributes);
    Put16(a + 2, 2);
    Put16(a + 4, unknown);
    Put16(a + 6, 0);
    len += 8;
  }
  return Finish(out, len, code == 400 || code == 401 ? std::string() : password);
}

}  // namespace rms::secure
