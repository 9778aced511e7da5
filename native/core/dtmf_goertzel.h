// In-band DTMF detection (ITU-T Q.23 frequencies, Q.24-style acceptance) over
// mono 16-bit PCM at 8 or 16 kHz. Pure C++, no ms2: the RmsDtmfDetect filter
// (native/filters/dtmf_detect.cc) is a thin wrapper, and the native test feeds
// this class directly.
//
// Analysis: Goertzel at the 8 DTMF frequencies and at the 2nd harmonic of the
// 4 high-group ones, on sub-blocks of 4.25 ms (34 samples at 8 kHz, 68 at
// 16 kHz). Every sub-block, the last 3 sub-blocks are combined with their phase
// into one 12.75 ms window (102 / 204 samples: 78 Hz resolution, which keeps
// adjacent low-group tones 73 Hz apart > 20 dB apart). Windows overlap by
// two thirds so that tone start and end are known to within a sub-block; the
// energy of the edge sub-blocks then gives the duration to about a millisecond,
// which is what separates a 30 ms blip from a 40 ms digit.
//
// A window shows digit D when (levels are per tone, as mean power relative to
// a full-scale sine, "dBFS"):
//   - one low-group and one high-group tone are each the strongest of their
//     group by kGroupMarginDb (6 dB; more would cost the weak tone of a
//     twisted pair, whose neighbours catch the strong tone's side lobes);
//   - each is at least min_level_dbfs (default -33 dBFS, about -30 dBm0: a
//     full-scale sine is +3.17 dBm0 in G.711);
//   - twist within limits: low above high by at most normal_twist_db (8),
//     high above low by at most reverse_twist_db (4);
//   - the two tones hold at least kToneEnergyFraction (80 %) of the window's
//     energy: speech and music spread theirs (a vowel whose harmonics sit on
//     a row and a column frequency holds about 70 %; a clean digit 90-100 %,
//     still over 80 % at 8 dB signal-to-noise ratio);
//   - the 2nd harmonic of the high-group tone is at least kHarmonicRejectDb
//     (12 dB) below it. (Not checked for the low group: 2 x 697/770/852 Hz
//     falls within a bin of 1336/1477/1633 Hz, so the column tone itself
//     would fail the check.)
// A digit starts with the first window showing it and is confirmed once its
// estimated duration reaches min_duration_ms (default 35) over consecutive
// windows; it ends after release_ms (default 25) of windows without it (short
// drop-outs inside a tone are bridged). One end event per key press, carrying
// the estimated duration; a start event when it is confirmed.
#pragma once
#include <cstddef>
#include <cstdint>

namespace rms {

// Settings; plain layout, passed as bytes from JavaScript
// (RMS_DTMF_DETECT_SET_PARAMS).
struct DtmfParams {
  float min_level_dbfs;    // per tone, mean power relative to a full-scale sine
  float normal_twist_db;   // low-group tone louder than the high-group one by at most this
  float reverse_twist_db;  // high-group tone louder than the low-group one by at most this
  uint32_t min_duration_ms;
  uint32_t release_ms;  // windows without the digit for this long end it
};

// One detection; plain layout, the payload of the filter's notifications.
struct DtmfEvent {
  char digit;  // '0'-'9', '*', '#', 'A'-'D'
  uint8_t reserved[3];
  uint32_t start_ms;     // tone onset, in ms of audio fed since the last reset
  uint32_t duration_ms;  // estimated tone duration (start event: the part seen so far)
  float low_dbfs;        // mean level of the low-group (row) tone
  float high_dbfs;       // mean level of the high-group (column) tone
};
static_assert(sizeof(DtmfEvent) == 20, "DtmfEvent is decoded byte by byte in lib/graph/filters.ts");
static_assert(sizeof(DtmfParams) == 20, "DtmfParams is packed byte by byte in lib/graph/filters.ts");

class DtmfGoertzel {
 public:
  // start == true: the digit was just confirmed; false: the key was released.
  using Sink = void (*)(void* user, bool start, const DtmfEvent& ev);

  static DtmfParams DefaultParams();
  // Whether params are within the ranges this detector supports.
  static bool ValidParams(const DtmfParams& p);

  explicit DtmfGoertzel(int rate = 8000);

  // 8000 or 16000; anything else is refused. Resets the detector.
  bool SetRate(int rate);
  int rate() const { return rate_; }
  // Takes effect from the next window; refuses (and keeps the old ones) when
  // !ValidParams(p).
  bool SetParams(const DtmfParams& p);
  const DtmfParams& params() const { return params_; }
  void SetSink(Sink sink, void* user) {
    sink_ = sink;
    user_ = user;
  }

  // Feeds samples; may call the sink. No allocation.
  void Feed(const int16_t* samples, size_t n);
  // End of the stream: ends a digit in progress as if released now.
  void Flush();
  // Forgets everything; the position restarts at 0.
  void Reset();

  // True while a confirmed digit is held.
  bool active() const { return run_.digit != 0 && run_.confirmed; }
  uint64_t windows() const { return windows_; }

 private:
  static constexpr int kLow = 4;
  static constexpr int kHigh = 4;
  static constexpr int kFreqs = kLow + kHigh + kHigh;  // + 2nd harmonics of the high group
  static constexpr int kSubBlocks = 3;                 // per window
  static constexpr int kRing = 4;                      // sub-blocks kept: a window and the one before it

  struct SubBlock {
    double re[kFreqs];
    double im[kFreqs];
    double energy;
  };

  // A run of windows showing one digit.
  struct Run {
    char digit = 0;
    bool confirmed = false;
    uint64_t first = 0;                    // index of the first sub-block of the first window showing it
    uint64_t last = 0;                     // same, of the last window showing it
    int misses = 0;                        // windows since `last` without the digit
    double leadBefore = 0, leadFirst = 0;  // energies of sub-blocks first-1 and first
    double tail2 = 0, tail3 = 0;           // energies of sub-blocks last+2 and last+3
    bool haveTail = false;
    double interiorEnergy = 0;  // sub-blocks first+1 .. last+1: sum and count
    uint32_t interiorCount = 0;
    double lowPower = 0, highPower = 0;  // summed over the windows showing the digit
    uint32_t hits = 0;
    double onset = 0;  // samples, set when confirmed
  };

  void EndSubBlock();
  // The digit the window ending with the newest sub-block shows, or 0.
  char Classify(double* lowPower, double* highPower) const;
  void OnWindow(char digit, double lowPower, double highPower);
  void StartRun(Run& r, char digit);
  void Extend(Run& r, double lowPower, double highPower);
  // Duration estimate in samples; tail edges counted only when seen.
  double EstimateSamples(const Run& r, bool withTail) const;
  // Fraction of a full sub-block's tone energy that `energy` is (0..1).
  static double Part(const Run& r, double energy);
  void Confirm(Run& r, double durationSamples);
  void Emit(const Run& r, bool start, double durationSamples);
  // Ends r: emits the release when it was (or turns out) long enough.
  void Finish(Run& r);
  const SubBlock& Ring(uint64_t index) const { return ring_[index % kRing]; }

  int rate_ = 8000;
  int hop_ = 34;  // samples per sub-block
  DtmfParams params_;
  int releaseWindows_ = 6;
  double minLevelPower_ = 0;
  double normalTwist_ = 0, reverseTwist_ = 0;  // as power ratios
  double coef_[kFreqs];                        // 2 cos(w)
  double cosW_[kFreqs], sinW_[kFreqs];
  double rot1Re_[kFreqs], rot1Im_[kFreqs];  // e^{-j w hop}
  double rot2Re_[kFreqs], rot2Im_[kFreqs];  // e^{-j w 2 hop}

  // Goertzel state of the sub-block being filled
  double s1_[kFreqs], s2_[kFreqs];
  double energy_ = 0;
  int filled_ = 0;

  SubBlock ring_[kRing];
  uint64_t subBlocks_ = 0;  // completed
  uint64_t windows_ = 0;

  Run run_;      // the digit being held (or tried)
  Run pending_;  // another digit showing while run_ is in its release

  Sink sink_ = nullptr;
  void* user_ = nullptr;
};

}  // namespace rms
