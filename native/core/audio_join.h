// Two 16-bit mono PCM streams at one rate made into one, as they arrive on a
// ticker (each input in its own rhythm: 20 ms packets every other tick,
// 10 ms every tick, nothing while a peer is silent):
//
//   kMix      sum, aligned sample for sample; a side that has nothing is
//             silence once the other is `lag` ahead (one side is quiet)
//   kStereo   the same alignment, interleaved: input 0 left, input 1 right
//   kLeadMix  input 0 is never held back: what input 1 has is summed into
//             it as it passes; input 1 alone once it is `lag` ahead (input 0
//             is quiet). For audio played into a call: no delay added to it.
//   kReplace  input 1, while it has audio, in place of input 0 (input 0 is
//             dropped meanwhile); input 0 unchanged otherwise.
//
// Each input waits in a bounded buffer (`maxBuffer` samples, oldest dropped).
// Not thread-safe by itself: the owner (RmsAudioMix) holds its filter lock.
#pragma once
#include <cstddef>
#include <cstdint>
#include <vector>

namespace rms {

class AudioJoin {
 public:
  enum Mode { kMix = 0, kStereo = 1, kLeadMix = 2, kReplace = 3 };

  AudioJoin(Mode mode, size_t lag, size_t maxBuffer);

  // Input audio of `pin` (0 or 1) for this tick.
  void Put(int pin, const int16_t* s, size_t n);
  // After the tick's inputs: the output samples (interleaved for kStereo).
  // `out` is reused between ticks (its capacity is bounded by maxBuffer).
  void Take(std::vector<int16_t>& out);

  Mode mode() const { return mode_; }
  uint64_t dropped() const { return dropped_; }
  size_t buffered(int pin) const { return in_[pin].size(); }

 private:
  void Emit(std::vector<int16_t>& out, size_t n0, size_t n1, size_t n);

  Mode mode_;
  size_t lag_;
  size_t max_;
  std::vector<int16_t> in_[2];
  uint64_t dropped_ = 0;
};

}  // namespace rms
