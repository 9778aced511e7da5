#include "audio_fork.h"

#include <memory>
#include <vector>

namespace rms {
namespace {

// A wake-up that JS has not answered (its read) for this long is sent again:
// the event channel may have been full when it went out.
constexpr uint64_t kRewakeMs = 500;

struct AudioFork {
  std::unique_ptr<FrameRing> ring{new FrameRing(64 * 1024, 1024)};
  uint32_t wakeBytes = 1;
  bool wakePending = false;
  uint64_t wokeAt = 0;
  std::vector<uint8_t> scratch;  // a chained message block, made contiguous
};

AudioFork* Data(MSFilter* f) { return static_cast<AudioFork*>(f->data); }

void Init(MSFilter* f) { f->data = new AudioFork(); }
void Uninit(MSFilter* f) { delete Data(f); }

void Process(MSFilter* f) {
  AudioFork* d = Data(f);
  AudioForkReady ready{};
  bool wake = false;
  mblk_t* m;
  ms_filter_lock(f);
  while ((m = ms_queue_get(f->inputs[0])) != nullptr) {
    if (m->b_cont == nullptr) {
      d->ring->Push(m->b_rptr, static_cast<size_t>(m->b_wptr - m->b_rptr));
    } else {
      d->scratch.clear();
      for (mblk_t* b = m; b != nullptr; b = b->b_cont) d->scratch.insert(d->scratch.end(), b->b_rptr, b->b_wptr);
      d->ring->Push(d->scratch.data(), d->scratch.size());
    }
    freemsg(m);
  }
  const uint64_t now = f->ticker ? f->ticker->time : 0;
  if (d->ring->bytes() >= d->wakeBytes && d->ring->frames() > 0 && (!d->wakePending || now - d->wokeAt >= kRewakeMs)) {
    d->wakePending = true;
    d->wokeAt = now;
    ready = AudioForkReady{static_cast<uint32_t>(d->ring->bytes()), static_cast<uint32_t>(d->ring->frames())};
    wake = true;
  }
  ms_filter_unlock(f);
  if (wake) ms_filter_notify(f, RMS_AUDIO_FORK_READY, &ready);
}

int Configure(MSFilter* f, void* arg) {
  auto* c = static_cast<AudioForkConfig*>(arg);
  if (c->capacityBytes < 64 || c->capacityBytes > 8u * 1024 * 1024 || c->maxFrames < 1 || c->maxFrames > 65536 ||
      c->wakeBytes < 1 || c->wakeBytes > c->capacityBytes)
    return -1;
  auto ring = std::make_unique<FrameRing>(c->capacityBytes, c->maxFrames);
  ms_filter_lock(f);
  Data(f)->ring = std::move(ring);
  Data(f)->wakeBytes = c->wakeBytes;
  ms_filter_unlock(f);
  return 0;
}

int Read(MSFilter* f, void* arg) {
  auto* b = static_cast<BufferArg*>(arg);
  ms_filter_lock(f);
  b->used = static_cast<uint32_t>(Data(f)->ring->Drain(b->data, b->size));
  Data(f)->wakePending = false;
  ms_filter_unlock(f);
  return 0;
}

int Stats(MSFilter* f, void* arg) {
  ms_filter_lock(f);
  *static_cast<FrameRingStats*>(arg) = Data(f)->ring->stats();
  ms_filter_unlock(f);
  return 0;
}

MSFilterMethod kMethods[] = {
    {RMS_AUDIO_FORK_CONFIGURE, Configure},
    {RMS_AUDIO_FORK_READ, Read},
    {RMS_AUDIO_FORK_GET_STATS, Stats},
    {0, nullptr},
};

}  // namespace
}  // namespace rms

extern "C" {
MSFilterDesc rms_audio_fork_desc = {
    MS_FILTER_PLUGIN_ID,
    "RmsAudioFork",
    "End of an audio fork: frames copied into a bounded ring that JS reads",
    MS_FILTER_OTHER,
    nullptr,
    1,
    0,
    rms::Init,
    nullptr,
    rms::Process,
    nullptr,
    rms::Uninit,
    rms::kMethods,
    0,
};
}
