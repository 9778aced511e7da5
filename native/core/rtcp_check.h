// Structural check of an incoming RTCP compound against the datagram's real
// length, before oRTP or ms2 parse it.
//
// oRTP's RTCP accessors trust the length and count fields of the packet: its
// SR handling compares the report count with the size of the whole compound
// (not of the packet), and its XR accessors read a block's fixed fields
// whatever the block length says. A truncated SR, XR statistics summary or
// DLRR makes them read past the datagram (valgrind saw 0-20 bytes). The
// receive gate (recv_gate.h) runs this on every datagram it hands oRTP as
// RTCP and drops what fails; nothing in the compound is trusted before it
// passed.
//
// Rules (RFC 3550 6.4-6.7 and A.2, RFC 4585 6.1, RFC 3611 3-4):
//  - every packet: version 2, a 4-byte header, its length field within what
//    is left; the lengths add up to the datagram exactly; padding only on the
//    last packet, its count within the packet;
//  - SR/RR: the fixed part plus 24 bytes per report block counted;
//  - SDES: each counted chunk (SSRC, items, END, alignment) inside the packet;
//  - BYE: the counted SSRCs and the optional reason inside the packet;
//  - APP: SSRC and name; RTPFB/PSFB: both SSRCs, plus the FCI their format
//    needs (TMMBR/TMMBN 8 bytes, generic NACK 4, FIR 8, SLI 4);
//  - XR: the SSRC and at least one block; each block inside the packet and
//    at least as long as its type's fixed part: loss/duplicate RLE and receipt
//    times 2 words, receiver reference time 2, DLRR a whole number of 3-word
//    sub-blocks (at least one), statistics summary 9, VoIP metrics 8 (block
//    length fields, in 32-bit words after the block header).
#pragma once
#include <cstddef>
#include <cstdint>

namespace rms {

enum class RtcpCheck {
  kOk,
  kTruncatedHeader,  // fewer than 4 bytes left for a packet header
  kVersion,          // not RTP version 2
  kLength,           // a packet's length field runs past the datagram
  kTrailing,         // bytes after the last packet
  kPadding,          // padding not on the last packet, or its count is wrong
  kReportCount,      // SR/RR report blocks do not fit
  kSdes,
  kBye,
  kApp,
  kFeedback,  // RTPFB/PSFB too short for its SSRCs or FCI
  kXr,        // XR without SSRC or block, or a block past the packet
  kXrBlock,   // an XR block shorter than its type's fixed part
};

const char* RtcpCheckName(RtcpCheck c);

// Checks the compound of `n` bytes at `p`.
RtcpCheck CheckRtcpCompound(const uint8_t* p, size_t n);

// Whether a datagram on a multiplexed RTP socket is RTCP (RFC 5761 4: payload
// type field 192..223 with the marker bit, i.e. second byte 192..223).
inline bool LooksLikeRtcp(const uint8_t* p, size_t n) { return n >= 2 && p[1] >= 192 && p[1] <= 223; }

}  // namespace rms
