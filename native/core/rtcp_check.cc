#include "rtcp_check.h"

namespace rms {

namespace {

constexpr uint8_t kSr = 200, kRr = 201, kSdes = 202, kBye = 203, kApp = 204, kRtpfb = 205, kPsfb = 206, kXr = 207;
constexpr size_t kReportBlock = 24;

uint16_t Be16(const uint8_t* p) { return static_cast<uint16_t>((p[0] << 8) | p[1]); }

// SDES chunks: SSRC, then items (type, length, text) up to an END (type 0),
// then zeros to the next 32-bit boundary. `body` starts after the header.
bool SdesOk(const uint8_t* body, size_t len, unsigned count) {
  size_t off = 0;
  for (unsigned c = 0; c < count; ++c) {
    if (len - off < 4) return false;
    off += 4;  // SSRC/CSRC
    for (;;) {
      if (off >= len) return false;
      uint8_t type = body[off];
      if (type == 0) {
        off = (off + 4) & ~static_cast<size_t>(3);  // END and the padding to the boundary
        if (off > len) return false;
        break;
      }
      if (len - off < 2) return false;
      size_t item = 2 + static_cast<size_t>(body[off + 1]);
      if (len - off < item) return false;
      off += item;
    }
  }
  return true;
}

bool ByeOk(const uint8_t* body, size_t len, unsigned count) {
  size_t ssrcs = 4 * static_cast<size_t>(count);
  if (ssrcs > len) return false;
  if (len == ssrcs) return true;
  size_t reason = 1 + static_cast<size_t>(body[ssrcs]);
  return reason <= len - ssrcs;
}

// Fixed part (after the 12 bytes of header and SSRCs) a feedback message of
// this format needs before oRTP/ms2 read its FCI.
size_t FeedbackFci(uint8_t pt, unsigned fmt) {
  if (pt == kRtpfb) {
    if (fmt == 1) return 4;              // generic NACK
    if (fmt == 3 || fmt == 4) return 8;  // TMMBR, TMMBN
    return 0;
  }
  if (fmt == 2) return 4;  // SLI
  if (fmt == 4) return 8;  // FIR
  return 0;
}

// Block length (32-bit words after the block header) a block type needs.
size_t XrBlockMinWords(uint8_t type) {
  switch (type) {
    case 1:  // loss RLE
    case 2:  // duplicate RLE
    case 3:  // packet receipt times
      return 2;
    case 4:  // receiver reference time
      return 2;
    case 5:  // DLRR: 3 words per sub-block (checked apart)
      return 3;
    case 6:  // statistics summary
      return 9;
    case 7:  // VoIP metrics
      return 8;
    default:
      return 0;
  }
}

RtcpCheck XrOk(const uint8_t* body, size_t len) {
  // body: after the 4-byte header; SSRC, then blocks
  if (len < 4 + 4) return RtcpCheck::kXr;
  size_t off = 4;
  while (off < len) {
    if (len - off < 4) return RtcpCheck::kXr;
    uint8_t type = body[off];
    size_t words = Be16(body + off + 2);
    if (4 * words > len - off - 4) return RtcpCheck::kXr;
    if (words < XrBlockMinWords(type)) return RtcpCheck::kXrBlock;
    if (type == 5 && words % 3 != 0) return RtcpCheck::kXrBlock;
    off += 4 + 4 * words;
  }
  return RtcpCheck::kOk;
}

RtcpCheck PacketOk(const uint8_t* p, size_t len) {
  const unsigned count = p[0] & 0x1f;
  const uint8_t pt = p[1];
  const uint8_t* body = p + 4;
  const size_t blen = len - 4;
  switch (pt) {
    case kSr:
      return blen >= 4 + 20 + kReportBlock * count ? RtcpCheck::kOk : RtcpCheck::kReportCount;
    case kRr:
      return blen >= 4 + kReportBlock * count ? RtcpCheck::kOk : RtcpCheck::kReportCount;
    case kSdes:
      return SdesOk(body, blen, count) ? RtcpCheck::kOk : RtcpCheck::kSdes;
    case kBye:
      return ByeOk(body, blen, count) ? RtcpCheck::kOk : RtcpCheck::kBye;
    case kApp:
      return blen >= 8 ? RtcpCheck::kOk : RtcpCheck::kApp;
    case kRtpfb:
    case kPsfb:
      return blen >= 8 + FeedbackFci(pt, count) ? RtcpCheck::kOk : RtcpCheck::kFeedback;
    case kXr:
      return XrOk(body, blen);
    default:
      return RtcpCheck::kOk;  // a type we do not parse: only its bounds matter
  }
}

}  // namespace

const char* RtcpCheckName(RtcpCheck c) {
  switch (c) {
    case RtcpCheck::kOk:
      return "ok";
    case RtcpCheck::kTruncatedHeader:
      return "truncated header";
    case RtcpCheck::kVersion:
      return "version";
    case RtcpCheck::kLength:
      return "length";
    case RtcpCheck::kTrailing:
      return "trailing bytes";
    case RtcpCheck::kPadding:
      return "padding";
    case RtcpCheck::kReportCount:
      return "report count";
    case RtcpCheck::kSdes:
      return "SDES";
    case RtcpCheck::kBye:
      return "BYE";
    case RtcpCheck::kApp:
      return "APP";
    case RtcpCheck::kFeedback:
      return "feedback";
    case RtcpCheck::kXr:
      return "XR";
    case RtcpCheck::kXrBlock:
      return "XR block";
  }
  return "?";
}

RtcpCheck CheckRtcpCompound(const uint8_t* p, size_t n) {
  if (p == nullptr || n < 4) return RtcpCheck::kTruncatedHeader;
  size_t off = 0;
  while (off < n) {
    if (n - off < 4) return RtcpCheck::kTrailing;
    const uint8_t* h = p + off;
    if ((h[0] >> 6) != 2) return RtcpCheck::kVersion;
    size_t len = (static_cast<size_t>(Be16(h + 2)) + 1) * 4;
    if (len > n - off) return RtcpCheck::kLength;
    if (h[0] & 0x20) {
      // RFC 3550 A.2: only the last packet of a compound may be padded
      if (off + len != n) return RtcpCheck::kPadding;
      size_t pad = h[len - 1];
      if (pad == 0 || pad > len - 4) return RtcpCheck::kPadding;
      len -= pad;
    }
    RtcpCheck c = PacketOk(h, len);
    if (c != RtcpCheck::kOk) return c;
    off += (static_cast<size_t>(Be16(h + 2)) + 1) * 4;
  }
  return RtcpCheck::kOk;
}

}  // namespace rms
