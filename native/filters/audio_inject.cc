#include "audio_inject.h"

#include <memory>
#include <vector>

namespace rms {
namespace {

// Most real time one tick may catch up on (a ticker that stalled longer skips the rest).
constexpr uint32_t kMaxTickMs = 200;
constexpr size_t kMaxMarksPerTick = 16;

struct AudioInject {
  AudioInjectConfig cfg{8000, 20000, 60, 256};
  std::unique_ptr<InjectQueue> queue;
  std::vector<int16_t> out;  // one tick's samples, reserved once
  uint64_t startMs = 0;      // ticker time at preprocess
  uint64_t accounted = 0;    // samples of real time handed to the queue since then
  bool running = false;

  void Build() {
    queue = std::make_unique<InjectQueue>(static_cast<size_t>(cfg.rate) * cfg.capacityMs / 1000, cfg.maxMarks);
    queue->SetJitter(static_cast<size_t>(cfg.rate) * cfg.jitterMs / 1000);
    out.assign(static_cast<size_t>(cfg.rate) * kMaxTickMs / 1000, 0);
  }
};

AudioInject* Data(MSFilter* f) { return static_cast<AudioInject*>(f->data); }

void Init(MSFilter* f) {
  auto* d = new AudioInject();
  d->Build();
  f->data = d;
}
void Uninit(MSFilter* f) { delete Data(f); }

void Preprocess(MSFilter* f) {
  AudioInject* d = Data(f);
  ms_filter_lock(f);
  d->startMs = f->ticker ? f->ticker->time : 0;
  d->accounted = 0;
  d->running = true;
  ms_filter_unlock(f);
}

void Postprocess(MSFilter* f) {
  ms_filter_lock(f);
  Data(f)->running = false;
  ms_filter_unlock(f);
}

void Process(MSFilter* f) {
  AudioInject* d = Data(f);
  InjectMark marks[kMaxMarksPerTick];
  size_t nmarks = 0;
  size_t n = 0;
  ms_filter_lock(f);
  const uint64_t now = f->ticker ? f->ticker->time : d->startMs;
  const uint64_t due = (now - d->startMs) * d->cfg.rate / 1000;
  uint64_t elapsed = due > d->accounted ? due - d->accounted : 0;
  d->accounted = due;
  if (elapsed > d->out.size()) elapsed = d->out.size();
  n = d->queue->Take(static_cast<size_t>(elapsed), d->out.data(), d->out.size(), marks, kMaxMarksPerTick, &nmarks);
  mblk_t* m = nullptr;
  if (n > 0) {
    m = allocb(n * 2, 0);
    memcpy(m->b_wptr, d->out.data(), n * 2);
    m->b_wptr += n * 2;
  }
  ms_filter_unlock(f);
  if (m) ms_queue_put(f->outputs[0], m);
  for (size_t i = 0; i < nmarks; ++i) ms_filter_notify(f, RMS_AUDIO_INJECT_MARK_EVENT, &marks[i]);
}

int Configure(MSFilter* f, void* arg) {
  AudioInjectConfig c = *static_cast<AudioInjectConfig*>(arg);
  if (c.rate < 8000 || c.rate > 48000 || c.capacityMs < 100 || c.capacityMs > 600000 || c.jitterMs > 1000 ||
      c.maxMarks < 1 || c.maxMarks > 4096)
    return -1;
  ms_filter_lock(f);
  AudioInject* d = Data(f);
  int r = 0;
  if (d->queue->queued() > 0 || d->queue->pendingMarks() > 0) {
    r = -1;  // never drops what is queued
  } else {
    d->cfg = c;
    d->Build();
  }
  ms_filter_unlock(f);
  return r;
}

int Write(MSFilter* f, void* arg) {
  auto* b = static_cast<BufferArg*>(arg);
  size_t samples = b->size / 2;
  ms_filter_lock(f);
  // b->data may be unaligned for int16_t: the queue copies bytes
  size_t took = Data(f)->queue->Write(b->data, samples);
  ms_filter_unlock(f);
  b->used = static_cast<uint32_t>(took * 2);
  return 0;
}

int Mark(MSFilter* f, void* arg) {
  uint32_t id = static_cast<uint32_t>(*static_cast<int*>(arg));
  ms_filter_lock(f);
  bool ok = Data(f)->queue->Mark(id);
  ms_filter_unlock(f);
  return ok ? 0 : -1;
}

int Clear(MSFilter* f, void*) {
  AudioInject* d = Data(f);
  std::vector<InjectMark> marks(d->cfg.maxMarks);  // JS thread: allocating is fine
  ms_filter_lock(f);
  marks.resize(d->queue->Clear(marks.data(), marks.size()));
  ms_filter_unlock(f);
  // outside the lock: a listener may call back into the filter
  for (const InjectMark& m : marks) ms_filter_notify(f, RMS_AUDIO_INJECT_MARK_EVENT, const_cast<InjectMark*>(&m));
  return 0;
}

int Stats(MSFilter* f, void* arg) {
  ms_filter_lock(f);
  *static_cast<InjectStats*>(arg) = Data(f)->queue->Stats();
  ms_filter_unlock(f);
  return 0;
}

MSFilterMethod kMethods[] = {
    {RMS_AUDIO_INJECT_CONFIGURE, Configure}, {RMS_AUDIO_INJECT_WRITE, Write},     {RMS_AUDIO_INJECT_MARK, Mark},
    {RMS_AUDIO_INJECT_CLEAR, Clear},         {RMS_AUDIO_INJECT_GET_STATS, Stats}, {0, nullptr},
};

}  // namespace
}  // namespace rms

extern "C" {
MSFilterDesc rms_audio_inject_desc = {
    MS_FILTER_PLUGIN_ID,
    "RmsAudioInject",
    "Plays PCM written from JS at real time, with marks and clear",
    MS_FILTER_OTHER,
    nullptr,
    0,
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
