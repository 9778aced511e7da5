#include "audio_mix.h"

#include <memory>
#include <vector>

namespace rms {
namespace {

// How far one input may run ahead of a silent other before it goes on alone.
constexpr int kLagMs = 30;
constexpr int kMaxBufferMs = 500;

struct AudioMix {
  AudioJoin::Mode mode = AudioJoin::kLeadMix;
  int rate = 8000;
  std::unique_ptr<AudioJoin> join;
  std::vector<int16_t> out;
  std::vector<int16_t> scratch;

  void Build() {
    join = std::make_unique<AudioJoin>(mode, static_cast<size_t>(rate) * kLagMs / 1000,
                                       static_cast<size_t>(rate) * kMaxBufferMs / 1000);
    out.clear();
    out.reserve(static_cast<size_t>(rate) * kMaxBufferMs / 1000 * 2 * 2);
  }
};

AudioMix* Data(MSFilter* f) { return static_cast<AudioMix*>(f->data); }

void Init(MSFilter* f) {
  auto* d = new AudioMix();
  d->Build();
  f->data = d;
}
void Uninit(MSFilter* f) { delete Data(f); }

void Feed(AudioMix* d, int pin, mblk_t* m) {
  for (mblk_t* b = m; b != nullptr; b = b->b_cont) {
    size_t bytes = static_cast<size_t>(b->b_wptr - b->b_rptr) & ~static_cast<size_t>(1);
    d->scratch.resize(bytes / 2);
    if (bytes) memcpy(d->scratch.data(), b->b_rptr, bytes);  // b_rptr may be odd
    d->join->Put(pin, d->scratch.data(), d->scratch.size());
  }
}

void Process(MSFilter* f) {
  AudioMix* d = Data(f);
  ms_filter_lock(f);
  for (int pin = 0; pin < 2; ++pin) {
    if (f->inputs[pin] == nullptr) continue;
    mblk_t* m;
    while ((m = ms_queue_get(f->inputs[pin])) != nullptr) {
      Feed(d, pin, m);
      freemsg(m);
    }
  }
  d->join->Take(d->out);
  mblk_t* o = nullptr;
  if (!d->out.empty()) {
    size_t bytes = d->out.size() * 2;
    o = allocb(bytes, 0);
    memcpy(o->b_wptr, d->out.data(), bytes);
    o->b_wptr += bytes;
  }
  ms_filter_unlock(f);
  if (o) ms_queue_put(f->outputs[0], o);
}

int SetMode(MSFilter* f, void* arg) {
  int mode = *static_cast<int*>(arg);
  if (mode < AudioJoin::kMix || mode > AudioJoin::kReplace) return -1;
  ms_filter_lock(f);
  Data(f)->mode = static_cast<AudioJoin::Mode>(mode);
  Data(f)->Build();
  ms_filter_unlock(f);
  return 0;
}

int SetRate(MSFilter* f, void* arg) {
  int rate = *static_cast<int*>(arg);
  if (rate < 8000 || rate > 48000) return -1;
  ms_filter_lock(f);
  Data(f)->rate = rate;
  Data(f)->Build();
  ms_filter_unlock(f);
  return 0;
}

int GetRate(MSFilter* f, void* arg) {
  *static_cast<int*>(arg) = Data(f)->rate;
  return 0;
}

int GetChannels(MSFilter* f, void* arg) {
  *static_cast<int*>(arg) = Data(f)->mode == AudioJoin::kStereo ? 2 : 1;
  return 0;
}

MSFilterMethod kMethods[] = {
    {RMS_AUDIO_MIX_SET_MODE, SetMode},
    {MS_FILTER_SET_SAMPLE_RATE, SetRate},
    {MS_FILTER_GET_SAMPLE_RATE, GetRate},
    {MS_FILTER_GET_NCHANNELS, GetChannels},
    {0, nullptr},
};

}  // namespace
}  // namespace rms

extern "C" {
MSFilterDesc rms_audio_mix_desc = {
    MS_FILTER_PLUGIN_ID,
    "RmsAudioMix",
    "Two PCM inputs summed, interleaved, or one in place of the other",
    MS_FILTER_OTHER,
    nullptr,
    2,
    1,
    rms::Init,
    nullptr,
    rms::Process,
    nullptr,
    rms::Uninit,
    rms::kMethods,
    0,
};
}
