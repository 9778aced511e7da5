#include "plc.h"

#include <cstdint>
#include <cstring>
#include <deque>
#include <vector>

namespace rms {
namespace {

constexpr int kMaxConceal = 5;  // 100 ms of 20 ms frames; a longer gap is not concealed
constexpr size_t kMaxPending = 32;

struct Plc {
  bool haveSeq = false;
  uint16_t lastSeq = 0;
  std::deque<int> missing;    // per packet played out, the packets missing before it
  std::vector<int16_t> last;  // the last frame passed on
};

Plc* Of(MSFilter* f) { return static_cast<Plc*>(f->data); }
void Init(MSFilter* f) { f->data = new Plc(); }
void Uninit(MSFilter* f) { delete Of(f); }
// a graph rebuilt on a live leg: the next packet starts a new sequence
void Preprocess(MSFilter* f) {
  Of(f)->haveSeq = false;
  Of(f)->missing.clear();
}

void Conceal(MSFilter* f, Plc* p, int frames) {
  if (p->last.empty()) return;
  float gain = 1.0f;
  for (int i = 0; i < frames; ++i) {
    gain *= 0.5f;
    mblk_t* m = allocb(p->last.size() * 2, 0);
    auto* out = reinterpret_cast<int16_t*>(m->b_wptr);
    for (size_t k = 0; k < p->last.size(); ++k) out[k] = static_cast<int16_t>(p->last[k] * gain);
    m->b_wptr += p->last.size() * 2;
    ms_queue_put(f->outputs[0], m);
  }
}

void Process(MSFilter* f) {
  Plc* p = Of(f);
  mblk_t* m;
  if (f->inputs[1]) {
    while ((m = ms_queue_get(f->inputs[1])) != nullptr) {
      const uint16_t seq = static_cast<uint16_t>(mblk_get_cseq(m));
      int gap = 0;
      if (p->haveSeq) {
        const int d = static_cast<uint16_t>(seq - p->lastSeq);
        if (d >= 2 && d - 1 <= kMaxConceal) gap = d - 1;
      }
      p->haveSeq = true;
      p->lastSeq = seq;
      if (p->missing.size() >= kMaxPending) p->missing.clear();  // the decoder dropped what it got: start over
      p->missing.push_back(gap);
      freemsg(m);
    }
  }
  while ((m = ms_queue_get(f->inputs[0])) != nullptr) {
    int gap = 0;
    if (!p->missing.empty()) {
      gap = p->missing.front();
      p->missing.pop_front();
    }
    if (gap > 0) Conceal(f, p, gap);
    if (m->b_cont) msgpullup(m, static_cast<size_t>(-1));
    const size_t n = static_cast<size_t>(m->b_wptr - m->b_rptr) / 2;
    p->last.assign(reinterpret_cast<const int16_t*>(m->b_rptr), reinterpret_cast<const int16_t*>(m->b_rptr) + n);
    ms_queue_put(f->outputs[0], m);
  }
}

MSFilterMethod kMethods[] = {
    {0, nullptr},
};

}  // namespace
}  // namespace rms

extern "C" {
MSFilterDesc rms_plc_desc = {
    MS_FILTER_PLUGIN_ID,
    "RmsPlc",
    "Conceals the packets the sequence numbers say are missing, nothing else",
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
