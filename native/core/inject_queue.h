// Audio written by JS to be played into a call at real time: a bounded queue
// of 16-bit PCM samples with marks (a mark is reached once every sample
// written before it has been taken) and a jitter allowance (after the queue
// ran dry, playing resumes once `jitter` samples are queued, or the allowance
// has passed, or a mark ends the chunk: audio arriving in bursts over a
// network does not stutter). The memory is allocated once; a write that does
// not fit is cut and the rest counted as overflow.
//
// Not thread-safe by itself: the owner (RmsAudioInject) holds its filter lock.
#pragma once
#include <cstddef>
#include <cstdint>
#include <vector>

namespace rms {

struct InjectStats {
  uint64_t written;   // samples accepted
  uint64_t played;    // samples taken
  uint64_t overflow;  // samples refused (queue full)
  uint64_t cleared;   // samples dropped by Clear() before they played
  uint64_t starts;    // times playing started (after the queue ran dry or was cleared)
  uint32_t queued;    // samples waiting
  uint32_t playing;   // 1 while playing (not waiting for the jitter allowance)
};

// A mark reached (cleared: dropped by Clear() before its audio played).
struct InjectMark {
  uint32_t id;
  uint32_t cleared;
  uint64_t position;  // samples taken when it was reached
};

class InjectQueue {
 public:
  InjectQueue(size_t capacitySamples, size_t maxMarks);

  // Queues what fits of `n` samples (host-order int16, any alignment); returns how many were taken.
  size_t Write(const void* s, size_t n);
  // A mark after what was written so far; false when `maxMarks` are pending.
  bool Mark(uint32_t id);
  // Drops the queue; pending marks are reported cleared through `out` (at most `max`); returns their count.
  size_t Clear(InjectMark* out, size_t max);

  // Ticker: `elapsed` samples of real time passed since the previous call.
  // Writes at most `max` samples to `out` (what real time asks for, once the
  // jitter allowance is met) and the marks reached to `marks` (at most
  // `maxMarks`); returns the samples written.
  size_t Take(size_t elapsed, int16_t* out, size_t max, InjectMark* marks, size_t maxMarks, size_t* nmarks);

  void SetJitter(size_t samples) { jitter_ = samples; }
  InjectStats Stats() const;
  size_t queued() const { return queued_; }
  size_t pendingMarks() const { return nmarks_; }

 private:
  struct PendingMark {
    uint32_t id;
    uint64_t at;  // position of the end of the queue when set
  };

  std::vector<int16_t> buf_;
  size_t head_ = 0;
  size_t queued_ = 0;
  std::vector<PendingMark> marks_;  // a ring of at most maxMarks
  size_t markHead_ = 0;
  size_t nmarks_ = 0;
  size_t jitter_ = 0;
  size_t waited_ = 0;  // samples of real time spent waiting for the allowance
  bool playing_ = false;
  uint64_t written_ = 0;
  uint64_t played_ = 0;
  uint64_t overflow_ = 0;
  uint64_t cleared_ = 0;
  uint64_t starts_ = 0;
};

}  // namespace rms
