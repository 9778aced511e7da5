#include "send_clock.h"

namespace rms {

void SendClock::OnSend(uint8_t* p, size_t len) {
  if (len < 12 || (p[0] & 0xc0) != 0x80) return;
  uint32_t ts = (static_cast<uint32_t>(p[4]) << 24) | (static_cast<uint32_t>(p[5]) << 16) |
                (static_cast<uint32_t>(p[6]) << 8) | p[7];
  if (rebase_.exchange(false, std::memory_order_acq_rel)) delta_ = target_.load(std::memory_order_relaxed) - ts;
  if (delta_ != 0) {
    ts += delta_;
    p[4] = static_cast<uint8_t>(ts >> 24);
    p[5] = static_cast<uint8_t>(ts >> 16);
    p[6] = static_cast<uint8_t>(ts >> 8);
    p[7] = static_cast<uint8_t>(ts);
  }
  last_.store(ts, std::memory_order_relaxed);
  sent_.store(true, std::memory_order_release);
}

bool SendClock::Last(uint32_t* ts) const {
  if (!sent_.load(std::memory_order_acquire)) return false;
  *ts = last_.load(std::memory_order_relaxed);
  return true;
}

void SendClock::RebaseTo(uint32_t target) {
  target_.store(target, std::memory_order_relaxed);
  rebase_.store(true, std::memory_order_release);
}

}  // namespace rms
