#include "loss_meter.h"

namespace rms {
namespace {

BurstGap* Meter(MSFilter* f) { return static_cast<BurstGap*>(f->data); }

void Init(MSFilter* f) { f->data = new BurstGap(16); }
void Uninit(MSFilter* f) { delete Meter(f); }

// A new run (re-attach after a re-INVITE) starts a new sequence.
void Preprocess(MSFilter* f) { Meter(f)->Reset(); }

void Process(MSFilter* f) {
  mblk_t* m;
  while ((m = ms_queue_get(f->inputs[0])) != nullptr) {
    Meter(f)->OnPacket(static_cast<uint16_t>(mblk_get_cseq(m)));
    ms_queue_put(f->outputs[0], m);
  }
}

int Get(MSFilter* f, void* arg) {
  *static_cast<BurstGapSnapshot*>(arg) = Meter(f)->Snapshot();
  return 0;
}

int Reset(MSFilter* f, void*) {
  Meter(f)->Reset();
  return 0;
}

MSFilterMethod kMethods[] = {
    {RMS_LOSS_METER_GET, Get},
    {RMS_LOSS_METER_RESET, Reset},
    {0, nullptr},
};

}  // namespace
}  // namespace rms

extern "C" {
MSFilterDesc rms_loss_meter_desc = {
    MS_FILTER_PLUGIN_ID,
    "RmsLossMeter",
    "Loss and burst/gap metrics (RFC 3611) of played-out RTP",
    MS_FILTER_OTHER,
    nullptr,
    1,
    1,
    rms::Init,
    rms::Preprocess,
    rms::Process,
    nullptr,
    rms::Uninit,
    rms::kMethods,
    0,
};
}
