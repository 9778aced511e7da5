#include "source_gate.h"

#include <cstdint>

namespace rms {
namespace {

constexpr uint64_t kHoldMs = 100;  // five 20 ms frames of concealment, then nothing

struct Gate {
  bool seen = false;  // no packet yet: nothing to conceal
  uint64_t lastMs = 0;
};

Gate* Of(MSFilter* f) { return static_cast<Gate*>(f->data); }

void Init(MSFilter* f) { f->data = new Gate(); }
void Uninit(MSFilter* f) { delete Of(f); }

// A new run (a graph rebuilt on a live leg) waits for the source again.
void Preprocess(MSFilter* f) { Of(f)->seen = false; }

void Process(MSFilter* f) {
  Gate* g = Of(f);
  const uint64_t now = f->ticker->time;
  if (f->inputs[1] && !ms_queue_empty(f->inputs[1])) {
    ms_queue_flush(f->inputs[1]);
    g->seen = true;
    g->lastMs = now;
  }
  const bool open = g->seen && now - g->lastMs <= kHoldMs;
  mblk_t* m;
  while ((m = ms_queue_get(f->inputs[0])) != nullptr) {
    if (open)
      ms_queue_put(f->outputs[0], m);
    else
      freemsg(m);
  }
}

MSFilterMethod kMethods[] = {
    {0, nullptr},
};

}  // namespace
}  // namespace rms

extern "C" {
MSFilterDesc rms_source_gate_desc = {
    MS_FILTER_PLUGIN_ID,
    "RmsSourceGate",
    "Passes decoded audio while its source still sends packets",
    MS_FILTER_OTHER,
    nullptr,
    2,
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
