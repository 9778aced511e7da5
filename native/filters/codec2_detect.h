// Which Codec2 mode a peer sends, read from the packets themselves: peers
// that write no fmtp (baresip) send whatever their configuration says.
//
// Payload bytes per RTP timestamp unit separate the modes (3200: 8 bytes per
// 160 samples, 2400: 6/160, 1600: 8/320, 1400 and 1300: 7/320, 1200: 6/320,
// 700C: 4/320), so a payload size and the timestamp step between two
// packets name one mode, except 1400 against 1300: a 1300 frame is 52 bits
// in 7 bytes and libcodec2 zeroes the 4 bits left over, a 1400 frame uses
// all 56. A payload size that only one mode can make (4 bytes: 700C; 7:
// 1400/1300) decides on its own.
#pragma once
#include <cstddef>
#include <cstdint>

namespace rms {

class Codec2Detector {
 public:
  // Feeds one payload with its RTP sequence number and timestamp; returns the
  // libcodec2 mode the packets so far name, or -1 while they do not name one
  // yet (or cannot be Codec2 of any mode).
  int Feed(const uint8_t* payload, size_t len, uint16_t seq, uint32_t ts);
  // True when the payload is whole frames of no mode at all.
  static bool FitsNoMode(size_t len);
  // The best guess among the modes a payload size allows: `preferred` when it
  // is one of them, else the highest rate; -1 when none.
  static int Guess(size_t len, int preferred);
  // Whether a 7-byte-frame payload uses the low 4 bits of any frame (so it
  // is 1400, not 1300).
  static bool UsesLastNibble(const uint8_t* payload, size_t len);
  void Reset();

 private:
  bool have_ = false;
  size_t lastLen_ = 0;
  uint16_t lastSeq_ = 0;
  uint32_t lastTs_ = 0;
  bool nibbleSeen_ = false;
};

}  // namespace rms
