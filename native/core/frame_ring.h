// A bounded ring of frames (byte strings of any size up to the ring's), for
// audio copied off a ticker thread until the JS thread takes it. The memory
// is allocated once; a frame that does not fit makes room by dropping the
// oldest ones, which are counted: a consumer that stops reading loses the
// audio it did not read, never the ticker's time or unbounded memory.
//
// Not thread-safe by itself: the owner (RmsAudioFork) holds its filter lock.
#pragma once
#include <cstddef>
#include <cstdint>
#include <vector>

namespace rms {

struct FrameRingStats {
  uint64_t frames;         // frames stored since the start
  uint64_t bytes;          // their bytes
  uint64_t droppedFrames;  // dropped unread (oldest first) or too large to store
  uint64_t droppedBytes;
};

class FrameRing {
 public:
  // Each record carries this header before its bytes (also how Drain() lays them out).
  static constexpr size_t kHeader = 8;  // uint32 length, uint32 sequence number (little-endian)

  FrameRing(size_t capacityBytes, size_t maxFrames);

  // Stores a copy of `len` bytes (dropping the oldest frames to make room).
  // A frame larger than the ring is dropped. Returns false when dropped.
  bool Push(const uint8_t* data, size_t len);
  // Appends to `out` (at most `cap` bytes) the oldest frames that fit whole,
  // each as [length][sequence][bytes]; returns the bytes written. Frames that
  // did not fit stay for the next call. The sequence numbers count every
  // frame pushed, so a gap tells the reader how many were dropped.
  size_t Drain(uint8_t* out, size_t cap);

  size_t frames() const { return count_; }
  size_t bytes() const { return used_; }
  size_t capacity() const { return buf_.size(); }
  const FrameRingStats& stats() const { return stats_; }
  void Clear();

 private:
  void DropOldest();
  void Write(size_t at, const uint8_t* p, size_t n);
  void Read(size_t at, uint8_t* p, size_t n) const;
  uint32_t ReadU32(size_t at) const;

  std::vector<uint8_t> buf_;
  size_t maxFrames_;
  size_t head_ = 0;  // oldest record
  size_t used_ = 0;  // bytes of records (headers included)
  size_t count_ = 0;
  uint32_t nextSeq_ = 0;
  FrameRingStats stats_{};
};

}  // namespace rms
