// Loss and burst/gap accounting of RFC 3611 4.7.2 over the sequence numbers
// of the packets a receiver actually played out (so late and discarded
// packets count as lost, as the VoIP metrics block wants).
//
// A burst is the longest run that starts and ends with a loss and holds no
// run of Gmin or more received packets; everything else is gap. A loss with
// at least Gmin received packets before the next loss is an isolated (gap)
// loss. Counters are atomics: the ticker thread writes, anyone reads.
#pragma once
#include <atomic>
#include <cstdint>

namespace rms {

struct BurstGapSnapshot {
  uint32_t packets;       // expected packets seen (received + lost)
  uint32_t lost;          // lost or discarded
  uint32_t burstPackets;  // packets (received and lost) inside bursts
  uint32_t burstLost;
  uint32_t bursts;
  uint32_t gmin;
};

class BurstGap {
 public:
  explicit BurstGap(uint32_t gmin = 16) : gmin_(gmin) {}
  // One delivered packet with its RTP sequence number. Reset() only from the
  // ticker thread or while detached.
  void OnPacket(uint16_t seq);
  BurstGapSnapshot Snapshot() const;
  void Reset();
  // A new stream (SSRC change, sequence restart): the next packet starts a
  // new sequence, the counters go on.
  void Resync();

 private:
  void OnLoss();
  void OnReceived();
  const uint32_t gmin_;
  bool started_ = false;
  uint16_t lastSeq_ = 0;
  // since the last loss (ticker thread only)
  bool haveLoss_ = false;
  bool inBurst_ = false;
  uint32_t receivedSinceLoss_ = 0;
  std::atomic<uint32_t> packets_{0}, lost_{0}, burstPackets_{0}, burstLost_{0}, bursts_{0};
};

}  // namespace rms
