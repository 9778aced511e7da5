#include "dtmf_detect.h"

#include <algorithm>
#include <cstring>

namespace rms {
namespace {

// A digit held while no audio arrives ends after this long: a sender that
// stops sending after the tone (DTX, VAD) would otherwise hold it until the
// next packet. Shorter gaps (jitter, a lost packet) are bridged.
constexpr int kFlushAfterMs = 100;
// Events found in one chunk of audio; a chunk is at most kChunk samples, far
// less than the two windows any event needs, so this never fills.
constexpr int kMaxEvents = 8;
constexpr size_t kChunk = 320;

struct DtmfDetect {
  DtmfGoertzel core;
  // Found under the filter lock, sent after it (a synchronous notify listener
  // may call a method of this filter).
  struct Found {
    bool start;
    DtmfEvent ev;
  } found[kMaxEvents];
  int nfound = 0;
  // An odd byte left by a message block of odd length (not seen in practice)
  uint8_t carry = 0;
  bool hasCarry = false;
  int msWithoutInput = 0;
};

DtmfDetect* Data(MSFilter* f) { return static_cast<DtmfDetect*>(f->data); }

void OnDetect(void* user, bool start, const DtmfEvent& ev) {
  auto* d = static_cast<DtmfDetect*>(user);
  if (d->nfound == kMaxEvents) {
    ms_warning("RmsDtmfDetect: event dropped (%c)", ev.digit);
    return;
  }
  d->found[d->nfound++] = DtmfDetect::Found{start, ev};
}

void Init(MSFilter* f) {
  auto* d = new DtmfDetect();
  d->core.SetSink(&OnDetect, d);
  f->data = d;
}

void Uninit(MSFilter* f) { delete Data(f); }

void SendFound(MSFilter* f, DtmfDetect* d) {
  for (int i = 0; i < d->nfound; ++i)
    ms_filter_notify(f, d->found[i].start ? RMS_DTMF_DETECT_START : RMS_DTMF_DETECT_EVENT, &d->found[i].ev);
  d->nfound = 0;
}

// Bytes of one message block, in chunks, as aligned samples (b_rptr may be odd).
void FeedBytes(MSFilter* f, DtmfDetect* d, const uint8_t* p, size_t len) {
  int16_t buf[kChunk];
  while (len > 0) {
    size_t n = 0;
    if (d->hasCarry) {
      uint8_t two[2] = {d->carry, *p++};
      std::memcpy(&buf[n++], two, 2);
      --len;
      d->hasCarry = false;
    }
    size_t take = std::min((kChunk - n) * 2, len - len % 2);
    std::memcpy(&buf[n], p, take);
    n += take / 2;
    p += take;
    len -= take;
    if (len == 1) {
      d->carry = *p++;
      d->hasCarry = true;
      len = 0;
    }
    ms_filter_lock(f);
    d->core.Feed(buf, n);
    ms_filter_unlock(f);
    SendFound(f, d);
  }
}

// Each run of the graph starts a new stream: position 0, nothing held.
void Preprocess(MSFilter* f) {
  DtmfDetect* d = Data(f);
  ms_filter_lock(f);
  d->core.Reset();
  d->hasCarry = false;
  d->msWithoutInput = 0;
  ms_filter_unlock(f);
}

void Process(MSFilter* f) {
  DtmfDetect* d = Data(f);
  bool any = false;
  mblk_t* m;
  while ((m = ms_queue_get(f->inputs[0])) != nullptr) {
    any = true;
    for (mblk_t* b = m; b != nullptr; b = b->b_cont)
      if (b->b_wptr > b->b_rptr) FeedBytes(f, d, b->b_rptr, static_cast<size_t>(b->b_wptr - b->b_rptr));
    // Never unlinked on a ticker (see the header); driven by hand it may be.
    if (f->outputs[0] != nullptr)
      ms_queue_put(f->outputs[0], m);
    else
      freemsg(m);
  }
  if (any) {
    d->msWithoutInput = 0;
    return;
  }
  const int before = d->msWithoutInput;
  d->msWithoutInput += f->ticker ? static_cast<int>(f->ticker->interval) : 10;
  if (before < kFlushAfterMs && d->msWithoutInput >= kFlushAfterMs) {
    ms_filter_lock(f);
    d->core.Flush();
    ms_filter_unlock(f);
    SendFound(f, d);
  }
}

// Detaching ends a digit still held: its release will never be heard.
void Postprocess(MSFilter* f) {
  DtmfDetect* d = Data(f);
  ms_filter_lock(f);
  d->core.Flush();
  ms_filter_unlock(f);
  SendFound(f, d);
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
  DtmfParams p;
  std::memcpy(&p, arg, sizeof(p));
  return Data(f)->core.SetParams(p) ? 0 : -1;
}

int GetParams(MSFilter* f, void* arg) {
  std::memcpy(arg, &Data(f)->core.params(), sizeof(DtmfParams));
  return 0;
}

MSFilterMethod kMethods[] = {
    {MS_FILTER_SET_SAMPLE_RATE, Locked<SetRate>},
    {MS_FILTER_GET_SAMPLE_RATE, Locked<GetRate>},
    {RMS_DTMF_DETECT_SET_PARAMS, Locked<SetParams>},
    {RMS_DTMF_DETECT_GET_PARAMS, Locked<GetParams>},
    {0, nullptr},
};

}  // namespace
}  // namespace rms

extern "C" {
MSFilterDesc rms_dtmf_detect_desc = {
    MS_FILTER_PLUGIN_ID,
    "RmsDtmfDetect",
    "In-band DTMF detector (Goertzel), audio passed through",
    MS_FILTER_OTHER,
    nullptr,
    1,
    1,
    rms::Init,
    rms::Preprocess,
    rms::Process,
    rms::Postprocess,
    rms::Uninit,
    rms::kMethods,
    0,
};
}
