#include "frame_ring.h"

#include <algorithm>
#include <cstring>

namespace rms {

FrameRing::FrameRing(size_t capacityBytes, size_t maxFrames)
    : buf_(std::max<size_t>(capacityBytes, kHeader + 1)), maxFrames_(std::max<size_t>(maxFrames, 1)) {}

void FrameRing::Write(size_t at, const uint8_t* p, size_t n) {
  at %= buf_.size();
  size_t first = std::min(n, buf_.size() - at);
  std::memcpy(&buf_[at], p, first);
  if (n > first) std::memcpy(&buf_[0], p + first, n - first);
}

void FrameRing::Read(size_t at, uint8_t* p, size_t n) const {
  at %= buf_.size();
  size_t first = std::min(n, buf_.size() - at);
  std::memcpy(p, &buf_[at], first);
  if (n > first) std::memcpy(p + first, &buf_[0], n - first);
}

uint32_t FrameRing::ReadU32(size_t at) const {
  uint8_t b[4];
  Read(at, b, 4);
  return static_cast<uint32_t>(b[0]) | static_cast<uint32_t>(b[1]) << 8 | static_cast<uint32_t>(b[2]) << 16 |
         static_cast<uint32_t>(b[3]) << 24;
}

void FrameRing::DropOldest() {
  uint32_t len = ReadU32(head_);
  size_t rec = kHeader + len;
  head_ = (head_ + rec) % buf_.size();
  used_ -= rec;
  --count_;
  ++stats_.droppedFrames;
  stats_.droppedBytes += len;
}

bool FrameRing::Push(const uint8_t* data, size_t len) {
  const uint32_t seq = nextSeq_++;
  const size_t rec = kHeader + len;
  if (rec > buf_.size() || len > UINT32_MAX) {
    ++stats_.droppedFrames;
    stats_.droppedBytes += len;
    return false;
  }
  while (count_ > 0 && (buf_.size() - used_ < rec || count_ >= maxFrames_)) DropOldest();
  uint8_t hdr[kHeader];
  for (int i = 0; i < 4; ++i) {
    hdr[i] = static_cast<uint8_t>(len >> (8 * i));
    hdr[4 + i] = static_cast<uint8_t>(seq >> (8 * i));
  }
  size_t tail = head_ + used_;
  Write(tail, hdr, kHeader);
  if (len) Write(tail + kHeader, data, len);
  used_ += rec;
  ++count_;
  ++stats_.frames;
  stats_.bytes += len;
  return true;
}

size_t FrameRing::Drain(uint8_t* out, size_t cap) {
  size_t n = 0;
  while (count_ > 0) {
    uint32_t len = ReadU32(head_);
    size_t rec = kHeader + len;
    if (n + rec > cap) break;
    Read(head_, out + n, rec);
    n += rec;
    head_ = (head_ + rec) % buf_.size();
    used_ -= rec;
    --count_;
  }
  return n;
}

void FrameRing::Clear() { head_ = used_ = count_ = 0; }

}  // namespace rms
