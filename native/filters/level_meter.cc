#include "level_meter.h"

namespace rms {
namespace {

LevelMeter* Meter(MSFilter* f) { return static_cast<LevelMeter*>(f->data); }

void Init(MSFilter* f) { f->data = new LevelMeter(8000); }
void Uninit(MSFilter* f) { delete Meter(f); }

void Process(MSFilter* f) {
  mblk_t* m;
  while ((m = ms_queue_get(f->inputs[0])) != nullptr) {
    Meter(f)->Add(reinterpret_cast<const int16_t*>(m->b_rptr), static_cast<size_t>(m->b_wptr - m->b_rptr) / 2);
    ms_queue_put(f->outputs[0], m);
  }
}

int SetRate(MSFilter* f, void* arg) {
  int rate = *static_cast<int*>(arg);
  if (rate < 1000 || rate > 192000) return -1;
  Meter(f)->SetRate(rate);
  return 0;
}

int Get(MSFilter* f, void* arg) {
  *static_cast<LevelSnapshot*>(arg) = Meter(f)->Snapshot();
  return 0;
}

int Reset(MSFilter* f, void*) {
  Meter(f)->Reset();
  return 0;
}

MSFilterMethod kMethods[] = {
    {MS_FILTER_SET_SAMPLE_RATE, SetRate},
    {RMS_LEVEL_METER_GET, Get},
    {RMS_LEVEL_METER_RESET, Reset},
    {0, nullptr},
};

}  // namespace
}  // namespace rms

extern "C" {
MSFilterDesc rms_level_meter_desc = {
    MS_FILTER_PLUGIN_ID,
    "RmsLevelMeter",
    "Level of 16-bit mono PCM in 200 ms blocks, and its speech level (RFC 3611 SL)",
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
