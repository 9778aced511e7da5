// The RTP timestamps a session sends, as they leave: the last one, and a
// rebase for a stream that goes on after a restart.
//
// A restored call (its state kept in Redis) sends from a new encoder on a
// new ticker, whose timestamps start wherever that ticker's clock is. Its
// peers must see the old stream go on - same SSRC and sequence (set on the
// oRTP session), and timestamps that moved on by the time elapsed - or their
// jitter buffers take it for a jump. So the first packet after a rebase gets
// the target timestamp and every later one moves by the same amount. The
// header is rewritten at the gate, below oRTP and above the socket, which is
// only possible while no security layer authenticated the packet above it
// (secured legs are not restored: their keys died with the process).
//
// Threads: OnSend() on the thread that sends (the session's ticker), the
// rest on any thread (atomics).
#pragma once
#include <atomic>
#include <cstddef>
#include <cstdint>

namespace rms {

class SendClock {
 public:
  // An RTP packet (header in the clear) about to leave.
  void OnSend(uint8_t* packet, size_t len);
  // The last timestamp sent (after any rebase); false before the first.
  bool Last(uint32_t* ts) const;
  // The next packet leaves with timestamp `target`, later ones keep their spacing.
  void RebaseTo(uint32_t target);

 private:
  std::atomic<bool> sent_{false};
  std::atomic<uint32_t> last_{0};
  std::atomic<bool> rebase_{false};
  std::atomic<uint32_t> target_{0};
  uint32_t delta_ = 0;  // the sending thread's
};

}  // namespace rms
