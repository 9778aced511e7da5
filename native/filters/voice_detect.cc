#include "voice_detect.h"

#include <cstring>
#include <vector>

namespace rms {
namespace {

constexpr size_t kMaxEvents = 8;

struct VoiceDetectFilter {
  VoiceDetect core;
  // Found under the lock, sent after it (a synchronous listener may call a method of this filter).
  VoiceEvent found[kMaxEvents];
  size_t nfound = 0;
  std::vector<int16_t> scratch;
};

VoiceDetectFilter* Data(MSFilter* f) { return static_cast<VoiceDetectFilter*>(f->data); }

void OnEvent(void* user, const VoiceEvent& ev) {
  auto* d = static_cast<VoiceDetectFilter*>(user);
  if (d->nfound < kMaxEvents) d->found[d->nfound++] = ev;
}

void Init(MSFilter* f) { f->data = new VoiceDetectFilter(); }
void Uninit(MSFilter* f) { delete Data(f); }

void Process(MSFilter* f) {
  VoiceDetectFilter* d = Data(f);
  mblk_t* m;
  while ((m = ms_queue_get(f->inputs[0])) != nullptr) {
    ms_filter_lock(f);
    for (mblk_t* b = m; b != nullptr; b = b->b_cont) {
      size_t bytes = static_cast<size_t>(b->b_wptr - b->b_rptr) & ~static_cast<size_t>(1);
      d->scratch.resize(bytes / 2);
      if (bytes) std::memcpy(d->scratch.data(), b->b_rptr, bytes);
      d->core.Feed(d->scratch.data(), d->scratch.size(), &OnEvent, d);
    }
    size_t n = d->nfound;
    VoiceEvent evs[kMaxEvents];
    std::memcpy(evs, d->found, n * sizeof(VoiceEvent));
    d->nfound = 0;
    ms_filter_unlock(f);
    for (size_t i = 0; i < n; ++i) ms_filter_notify(f, RMS_VOICE_DETECT_EVENT, &evs[i]);
    if (f->outputs[0] != nullptr)
      ms_queue_put(f->outputs[0], m);
    else
      freemsg(m);
  }
}

template <int (*Fn)(MSFilter*, void*)>
int Locked(MSFilter* f, void* arg) {
  ms_filter_lock(f);
  int r = Fn(f, arg);
  ms_filter_unlock(f);
  return r;
}

int SetRate(MSFilter* f, void* arg) { return Data(f)->core.SetRate(*static_cast<int*>(arg)) ? 0 : -1; }
int GetRate(MSFilter* f, void* arg) {
  *static_cast<int*>(arg) = Data(f)->core.rate();
  return 0;
}
int SetParams(MSFilter* f, void* arg) {
  VoiceParams p;
  std::memcpy(&p, arg, sizeof(p));
  if (!VoiceDetect::Valid(p)) return -1;
  Data(f)->core.SetParams(p);
  return 0;
}
int GetParams(MSFilter* f, void* arg) {
  std::memcpy(arg, &Data(f)->core.params(), sizeof(VoiceParams));
  return 0;
}

MSFilterMethod kMethods[] = {
    {MS_FILTER_SET_SAMPLE_RATE, Locked<SetRate>},
    {MS_FILTER_GET_SAMPLE_RATE, Locked<GetRate>},
    {RMS_VOICE_DETECT_SET_PARAMS, Locked<SetParams>},
    {RMS_VOICE_DETECT_GET_PARAMS, Locked<GetParams>},
    {0, nullptr},
};

}  // namespace
}  // namespace rms

extern "C" {
MSFilterDesc rms_voice_detect_desc = {
    MS_FILTER_PLUGIN_ID,
    "RmsVoiceDetect",
    "Voice activity (energy and hangover), audio passed through",
    MS_FILTER_OTHER,
    nullptr,
    1,
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
