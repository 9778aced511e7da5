// Voice activity in 16-bit mono PCM, from its energy in 10 ms frames: a frame
// is loud when it is above an absolute threshold and well above the noise
// floor (followed slowly upwards, quickly downwards); speech starts after
// `minSpeech` of loud frames (with a little slack for the gaps between
// syllables) and ends after `hangover` without one. Small and cheap (one
// multiply-add per sample), meant for barge-in: "the caller started
// talking" while a prompt or a bot's answer plays.
#pragma once
#include <cstddef>
#include <cstdint>

namespace rms {

struct VoiceParams {
  float thresholdDbfs;   // quietest frame that can be speech, dB relative to full scale (-70..0)
  float marginDb;        // how far above the noise floor a loud frame must be (0..40)
  uint32_t minSpeechMs;  // loud audio needed to start speech (10..2000)
  uint32_t hangoverMs;   // quiet audio that ends it (10..5000)
};

struct VoiceEvent {
  uint32_t speaking;  // 1: speech started, 0: it ended
  uint32_t atMs;      // audio heard before the event, ms
  float levelDbfs;    // level of the frame that decided it
  float noiseDbfs;    // the noise floor then
};

class VoiceDetect {
 public:
  static VoiceParams Defaults() { return VoiceParams{-45.0f, 9.0f, 100, 500}; }
  static bool Valid(const VoiceParams& p);

  explicit VoiceDetect(int rate = 8000);
  bool SetRate(int rate);
  void SetParams(const VoiceParams& p) { params_ = p; }
  const VoiceParams& params() const { return params_; }
  int rate() const { return rate_; }
  bool speaking() const { return speaking_; }
  void Reset();

  // Feeds samples; `sink` is called for each start and end of speech.
  using Sink = void (*)(void* user, const VoiceEvent& ev);
  void Feed(const int16_t* s, size_t n, Sink sink, void* user);

 private:
  void Frame(Sink sink, void* user);

  int rate_ = 8000;
  size_t frame_ = 80;
  VoiceParams params_ = Defaults();
  double acc_ = 0;
  size_t accN_ = 0;
  double noiseDb_ = -70;
  bool speaking_ = false;
  uint32_t loudMs_ = 0;   // loud audio in the current run towards a start
  uint32_t quietMs_ = 0;  // quiet audio since the last loud frame
  uint64_t frames_ = 0;
};

}  // namespace rms
