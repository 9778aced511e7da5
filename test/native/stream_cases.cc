// The audio stream pieces (forks, injection, mixing, voice activity): their
// Node-free cores, and the filters driven by hand (a stand-in ticker whose
// clock the test moves) against the real mediastreamer2.
#include <cmath>
#include <cstring>
#include <vector>

#include "core/audio_join.h"
#include "core/buffer_arg.h"
#include "core/frame_ring.h"
#include "core/inject_queue.h"
#include "core/method_table.h"
#include "core/voice_detect.h"
#include "filters/audio_fork.h"
#include "filters/audio_inject.h"
#include "filters/audio_mix.h"
#include "filters/voice_detect.h"
#include "own_filters.h"
#include "harness.h"

namespace rms_test {

namespace {

constexpr double kPi = 3.14159265358979323846;

uint32_t U32(const uint8_t* p) { return p[0] | p[1] << 8 | p[2] << 16 | static_cast<uint32_t>(p[3]) << 24; }

// Frames out of a Drain(): their sequence numbers and first bytes.
struct Drained {
  std::vector<uint32_t> seqs;
  std::vector<std::vector<uint8_t>> frames;
};
Drained Parse(const uint8_t* p, size_t n) {
  Drained d;
  size_t at = 0;
  while (at + rms::FrameRing::kHeader <= n) {
    uint32_t len = U32(p + at), seq = U32(p + at + 4);
    d.seqs.push_back(seq);
    d.frames.emplace_back(p + at + 8, p + at + 8 + len);
    at += 8 + len;
  }
  return d;
}

std::vector<int16_t> Tone(int rate, int ms, double hz, double amp, double* phase) {
  std::vector<int16_t> v(static_cast<size_t>(rate) * ms / 1000);
  for (auto& s : v) {
    s = static_cast<int16_t>(amp * 32767 * std::sin(*phase));
    *phase += 2 * kPi * hz / rate;
  }
  return v;
}

MSFilter* Make(MSFilterDesc* d) { return ms_factory_create_filter_from_desc(g_factory, d); }

void Put(MSFilter* f, int pin, const std::vector<int16_t>& s) {
  mblk_t* m = allocb(s.size() * 2 + 1, 0);
  std::memcpy(m->b_wptr, s.data(), s.size() * 2);
  m->b_wptr += s.size() * 2;
  ms_queue_put(f->inputs[pin], m);
}

std::vector<int16_t> TakeOut(MSFilter* f) {
  std::vector<int16_t> out;
  while (mblk_t* m = ms_queue_get(f->outputs[0])) {
    size_t n = static_cast<size_t>(m->b_wptr - m->b_rptr) / 2;
    size_t at = out.size();
    out.resize(at + n);
    std::memcpy(out.data() + at, m->b_rptr, n * 2);
    freemsg(m);
  }
  return out;
}

struct Events {
  std::vector<rms::AudioForkReady> ready;
  std::vector<rms::InjectMark> marks;
  std::vector<rms::VoiceEvent> voice;
};
void OnEvent(void* user, MSFilter*, unsigned int id, void* arg) {
  auto* e = static_cast<Events*>(user);
  if (id == RMS_AUDIO_FORK_READY) e->ready.push_back(*static_cast<rms::AudioForkReady*>(arg));
  if (id == RMS_AUDIO_INJECT_MARK_EVENT) e->marks.push_back(*static_cast<rms::InjectMark*>(arg));
  if (id == RMS_VOICE_DETECT_EVENT) e->voice.push_back(*static_cast<rms::VoiceEvent*>(arg));
}

}  // namespace

// Bounded ring of frames: what fits is kept in order, the oldest go first
// when it is full (counted), a frame larger than the ring is refused, and a
// reader with a small buffer gets whole frames only.
void TestFrameRing() {
  rms::FrameRing r(100, 8);
  uint8_t a[30];
  for (int i = 0; i < 30; ++i) a[i] = static_cast<uint8_t>(i);
  for (int i = 0; i < 3; ++i) CHECK(r.Push(a, 20));  // 3 x 28 bytes = 84
  CHECK(r.frames() == 3 && r.bytes() == 84);
  CHECK(r.Push(a, 30));  // 38 more: the first frame goes
  CHECK(r.frames() == 3 && r.stats().droppedFrames == 1 && r.stats().droppedBytes == 20);
  uint8_t out[256];
  size_t n = r.Drain(out, 40);  // room for one 28-byte record only
  Drained d = Parse(out, n);
  CHECK(d.seqs.size() == 1 && d.seqs[0] == 1);
  n = r.Drain(out, sizeof(out));
  d = Parse(out, n);
  CHECK_MSG(d.seqs.size() == 2 && d.seqs[0] == 2 && d.seqs[1] == 3, "%zu frames", d.seqs.size());
  CHECK(d.frames.size() == 2 && d.frames[1].size() == 30 && d.frames[1][29] == 29);
  CHECK(r.frames() == 0 && r.bytes() == 0);
  CHECK(!r.Push(a, 93));  // 8 + 93 > 100
  CHECK(r.stats().droppedFrames == 2 && r.stats().frames == 4);
  // wrap-around many times: content survives the seam
  uint32_t expect = 5;
  for (int round = 0; round < 50; ++round) {
    uint8_t b[17];
    for (int i = 0; i < 17; ++i) b[i] = static_cast<uint8_t>(round + i);
    r.Push(b, 17);
    n = r.Drain(out, sizeof(out));
    d = Parse(out, n);
    CHECK(d.seqs.size() == 1 && d.seqs[0] == expect++ && d.frames[0][16] == static_cast<uint8_t>(round + 16));
  }
  // the frame count bounds it too
  rms::FrameRing small(1000, 2);
  for (int i = 0; i < 5; ++i) small.Push(a, 4);
  CHECK(small.frames() == 2 && small.stats().droppedFrames == 3);
}

// Injection queue: the jitter allowance, real-time takes, marks (reached
// when what came before them was taken; cleared by Clear), overflow.
void TestInjectQueue() {
  rms::InjectQueue q(1000, 4);
  q.SetJitter(480);  // 60 ms at 8 kHz
  std::vector<int16_t> s(400);
  for (size_t i = 0; i < s.size(); ++i) s[i] = static_cast<int16_t>(i);
  CHECK(q.Write(s.data(), s.size()) == 400);
  int16_t out[200];
  rms::InjectMark marks[8];
  size_t nm = 0;
  // 400 < 480 queued: waits, 10 ms per take, until 60 ms passed
  for (int t = 0; t < 5; ++t) CHECK(q.Take(80, out, 200, marks, 8, &nm) == 0);
  CHECK(q.Take(80, out, 200, marks, 8, &nm) == 80);
  CHECK(out[0] == 0 && out[79] == 79);
  CHECK(q.Stats().playing == 1 && q.Stats().starts == 1);
  CHECK(q.Mark(7));
  CHECK(q.Write(s.data(), 100) == 100);
  CHECK(q.Mark(8));
  size_t total = 80;
  std::vector<uint32_t> reached;
  while (q.queued() > 0) {
    total += q.Take(80, out, 200, marks, 8, &nm);
    for (size_t i = 0; i < nm; ++i) reached.push_back(marks[i].id);
    if (reached.size() == 1 && total < 400) CHECK(false);  // mark 7 before its audio played
  }
  CHECK_MSG(total == 500 && reached.size() == 2 && reached[0] == 7 && reached[1] == 8, "total %zu marks %zu", total,
            reached.size());
  CHECK(q.Stats().playing == 0);
  // a mark on an empty queue is reached at the next take
  CHECK(q.Mark(9));
  q.Take(80, out, 200, marks, 8, &nm);
  CHECK(nm == 1 && marks[0].id == 9 && marks[0].cleared == 0);
  // a complete chunk (a mark at its end) plays at once, jitter allowance or not
  q.Write(s.data(), 100);
  q.Mark(10);
  CHECK(q.Take(80, out, 200, marks, 8, &nm) == 80);
  // clear: the queue empties at once, the pending mark comes back cleared
  CHECK(q.Clear(marks, 8) == 1 && marks[0].id == 10 && marks[0].cleared == 1);
  CHECK(q.queued() == 0 && q.Stats().cleared == 20);
  CHECK(q.Take(80, out, 200, marks, 8, &nm) == 0 && nm == 0);
  // bounded: what does not fit is refused and counted; marks too
  CHECK(q.Write(s.data(), 400) == 400 && q.Write(s.data(), 400) == 400 && q.Write(s.data(), 400) == 200);
  CHECK(q.Stats().overflow == 200);
  for (uint32_t i = 0; i < 4; ++i) CHECK(q.Mark(20 + i));
  CHECK(!q.Mark(99));
  CHECK(q.Clear(marks, 8) == 4);
}

// Two inputs made one: aligned sums, stereo interleaving, a side left
// silent once the other is `lag` ahead, the lead input never held back,
// replacement while input 1 plays, bounded buffers.
void TestAudioJoin() {
  std::vector<int16_t> out;
  std::vector<int16_t> a(160, 100), b(80, 10);
  rms::AudioJoin mix(rms::AudioJoin::kMix, 240, 4000);
  mix.Put(0, a.data(), a.size());  // 20 ms of input 0, 10 ms of input 1
  mix.Put(1, b.data(), b.size());
  mix.Take(out);
  CHECK(out.size() == 80 && out[0] == 110);
  mix.Put(1, b.data(), b.size());
  mix.Take(out);
  CHECK(out.size() == 80 && out[79] == 110);
  // input 1 goes quiet: input 0 waits up to the lag, then goes on alone
  for (int i = 0; i < 2; ++i) {
    mix.Put(0, b.data(), b.size());
    mix.Take(out);
    CHECK(out.empty());
  }
  mix.Put(0, b.data(), b.size());  // 240 buffered: still at the lag
  mix.Take(out);
  CHECK(out.empty());
  mix.Put(0, b.data(), b.size());  // 320: 80 over
  mix.Take(out);
  CHECK(out.size() == 80 && out[0] == 10);
  // saturating sum
  std::vector<int16_t> loud(80, 30000);
  rms::AudioJoin sat(rms::AudioJoin::kMix, 240, 4000);
  sat.Put(0, loud.data(), 80);
  sat.Put(1, loud.data(), 80);
  sat.Take(out);
  CHECK(out.size() == 80 && out[0] == 32767);

  rms::AudioJoin st(rms::AudioJoin::kStereo, 240, 4000);
  std::vector<int16_t> l(80, 1), r(80, 2);
  st.Put(0, l.data(), 80);
  st.Put(1, r.data(), 80);
  st.Take(out);
  CHECK(out.size() == 160 && out[0] == 1 && out[1] == 2 && out[158] == 1 && out[159] == 2);

  rms::AudioJoin lead(rms::AudioJoin::kLeadMix, 240, 4000);
  lead.Put(0, a.data(), 160);  // input 0 passes at once, with what input 1 has summed in
  lead.Put(1, b.data(), 80);
  lead.Take(out);
  CHECK(out.size() == 160 && out[0] == 110 && out[80] == 100);
  for (int i = 0; i < 4; ++i) lead.Put(1, b.data(), 80);  // input 0 quiet: input 1 alone past the lag
  lead.Take(out);
  CHECK_MSG(out.size() == 80 && out[0] == 10, "%zu", out.size());

  rms::AudioJoin rep(rms::AudioJoin::kReplace, 240, 4000);
  rep.Put(0, a.data(), 160);
  rep.Take(out);
  CHECK(out.size() == 160 && out[0] == 100);
  rep.Put(0, a.data(), 160);
  rep.Put(1, b.data(), 80);
  rep.Take(out);
  CHECK(out.size() == 80 && out[0] == 10);
  CHECK(rep.buffered(0) == 0);

  rms::AudioJoin bounded(rms::AudioJoin::kMix, 240, 400);
  for (int i = 0; i < 10; ++i) bounded.Put(1, a.data(), 160);
  CHECK(bounded.buffered(1) == 400 && bounded.dropped() == 1200);
}

// Voice activity: nothing in silence or low noise; a start after the
// minimum speech time, an end after the hangover; steady loud noise stops
// counting as speech.
void TestVoiceDetect() {
  struct Seen {
    std::vector<rms::VoiceEvent> ev;
  } seen;
  auto sink = [](void* u, const rms::VoiceEvent& e) { static_cast<Seen*>(u)->ev.push_back(e); };
  rms::VoiceDetect v(16000);
  CHECK(!v.SetRate(4000) && v.rate() == 16000);
  std::vector<int16_t> silence(16000, 0);
  v.Feed(silence.data(), silence.size(), sink, &seen);
  CHECK(seen.ev.empty());
  double ph = 0;
  std::vector<int16_t> speech = Tone(16000, 600, 300, 0.1, &ph);  // -23 dBFS
  v.Feed(speech.data(), speech.size(), sink, &seen);
  CHECK(seen.ev.size() == 1 && seen.ev[0].speaking == 1);
  if (!seen.ev.empty()) CHECK_MSG(seen.ev[0].atMs >= 1090 && seen.ev[0].atMs <= 1110, "%u", seen.ev[0].atMs);
  v.Feed(silence.data(), 8000, sink, &seen);  // 500 ms: the hangover
  CHECK(seen.ev.size() == 2 && seen.ev[1].speaking == 0);
  if (seen.ev.size() == 2) CHECK_MSG(seen.ev[1].atMs >= 2090 && seen.ev[1].atMs <= 2110, "%u", seen.ev[1].atMs);
  // a 50 ms click is not speech
  seen.ev.clear();
  std::vector<int16_t> click = Tone(16000, 50, 1000, 0.5, &ph);
  v.Feed(click.data(), click.size(), sink, &seen);
  v.Feed(silence.data(), 8000, sink, &seen);
  CHECK(seen.ev.empty());
  // noise below the threshold: nothing
  rms::VoiceDetect n(8000);
  std::vector<int16_t> hum = Tone(8000, 3000, 50, 0.003, &ph);  // -53 dBFS
  n.Feed(hum.data(), hum.size(), sink, &seen);
  CHECK(seen.ev.empty());
  // params
  rms::VoiceParams p = rms::VoiceDetect::Defaults();
  CHECK(rms::VoiceDetect::Valid(p));
  p.hangoverMs = 0;
  CHECK(!rms::VoiceDetect::Valid(p));
}

// The four filters by hand: registered, methods in the table with their
// shapes; RmsAudioFork's ring and wake-up, RmsAudioInject's real-time
// output, marks and clear, RmsAudioMix's pins, RmsVoiceDetect's events.
void TestStreamFilters() {
  for (const char* name : {"RmsAudioFork", "RmsAudioInject", "RmsAudioMix", "RmsVoiceDetect"})
    CHECK_MSG(rms::FindOwnFilter(name) != nullptr, "%s", name);
  const rms::MethodInfo* m = rms::FindMethod(RMS_AUDIO_FORK_READ);
  CHECK(m && m->kind == rms::ArgKind::Buffer);
  m = rms::FindMethod(RMS_AUDIO_INJECT_WRITE);
  CHECK(m && m->kind == rms::ArgKind::Buffer);
  CHECK(rms::MethodArgSize(RMS_AUDIO_FORK_READ) == sizeof(rms::BufferArg));

  MSTicker clock{};  // only its time is read
  Events ev;

  // fork: frames in, wake-up once, read them all; a reader that does not come loses the oldest
  MSFilter* src = ms_factory_create_filter(g_factory, MS_VOID_SOURCE_ID);
  MSFilter* fork = Make(&rms_audio_fork_desc);
  ms_filter_add_notify_callback(fork, OnEvent, &ev, TRUE);
  ms_filter_link(src, 0, fork, 0);
  rms::AudioForkConfig cfg{2000, 100, 1};
  CHECK(ms_filter_call_method(fork, RMS_AUDIO_FORK_CONFIGURE, &cfg) == 0);
  rms::AudioForkConfig bad{10, 100, 1};
  CHECK(ms_filter_call_method(fork, RMS_AUDIO_FORK_CONFIGURE, &bad) != 0);
  fork->ticker = &clock;
  std::vector<int16_t> frame(160, 7);
  Put(fork, 0, frame);
  fork->desc->process(fork);
  Put(fork, 0, frame);
  fork->desc->process(fork);
  CHECK_MSG(ev.ready.size() == 1 && ev.ready[0].frames == 1, "%zu wake-ups", ev.ready.size());
  std::vector<uint8_t> buf(4096);
  rms::BufferArg b{buf.data(), static_cast<uint32_t>(buf.size()), 0};
  CHECK(ms_filter_call_method(fork, RMS_AUDIO_FORK_READ, &b) == 0);
  Drained d = Parse(buf.data(), b.used);
  CHECK(d.frames.size() == 2 && d.frames[0].size() == 320 && d.frames[1][0] == 7);
  for (int i = 0; i < 20; ++i) {
    Put(fork, 0, frame);
    fork->desc->process(fork);
  }
  CHECK(ev.ready.size() == 2);  // one more after the read, not one per frame
  rms::FrameRingStats st{};
  ms_filter_call_method(fork, RMS_AUDIO_FORK_GET_STATS, &st);
  // 2000 bytes hold six 328-byte records: 14 of the 20 were dropped unread
  CHECK_MSG(st.frames == 22 && st.droppedFrames == 14, "%llu dropped",
            static_cast<unsigned long long>(st.droppedFrames));
  clock.time += 600;  // unanswered for 500 ms+: woken again
  fork->desc->process(fork);
  CHECK(ev.ready.size() == 3);
  fork->ticker = nullptr;
  ms_filter_unlink(src, 0, fork, 0);
  ms_filter_destroy(fork);

  // inject: nothing until written; 10 ms per tick once playing; mark after its audio; clear at once
  MSFilter* inj = Make(&rms_audio_inject_desc);
  MSFilter* sink = ms_factory_create_filter(g_factory, MS_VOID_SINK_ID);
  ms_filter_add_notify_callback(inj, OnEvent, &ev, TRUE);
  ms_filter_link(inj, 0, sink, 0);
  rms::AudioInjectConfig ic{16000, 1000, 40, 8};
  CHECK(ms_filter_call_method(inj, RMS_AUDIO_INJECT_CONFIGURE, &ic) == 0);
  inj->ticker = &clock;
  inj->desc->preprocess(inj);
  auto tick = [&](MSFilter* f) {
    clock.time += 10;
    f->desc->process(f);
    return TakeOut(f);
  };
  CHECK(tick(inj).empty());
  double ph = 0;
  std::vector<int16_t> pcm = Tone(16000, 100, 440, 0.3, &ph);
  std::vector<uint8_t> bytes(pcm.size() * 2 + 1);  // odd offset: unaligned in the buffer
  std::memcpy(bytes.data() + 1, pcm.data(), pcm.size() * 2);
  rms::BufferArg w{bytes.data() + 1, static_cast<uint32_t>(pcm.size() * 2), 0};
  CHECK(ms_filter_call_method(inj, RMS_AUDIO_INJECT_WRITE, &w) == 0 && w.used == pcm.size() * 2);
  int id = 42;
  CHECK(ms_filter_call_method(inj, RMS_AUDIO_INJECT_MARK, &id) == 0);
  std::vector<int16_t> played;
  for (int t = 0; t < 12; ++t) {
    auto o = tick(inj);
    if (t < 9) CHECK(ev.marks.empty());
    played.insert(played.end(), o.begin(), o.end());
  }
  CHECK_MSG(played.size() == pcm.size() && played == pcm, "%zu played", played.size());
  CHECK(ev.marks.size() == 1 && ev.marks[0].id == 42 && ev.marks[0].cleared == 0);
  ms_filter_call_method(inj, RMS_AUDIO_INJECT_WRITE, &w);
  id = 43;
  ms_filter_call_method(inj, RMS_AUDIO_INJECT_MARK, &id);
  CHECK(tick(inj).size() == 160);
  CHECK(ms_filter_call_method_noarg(inj, RMS_AUDIO_INJECT_CLEAR) == 0);
  CHECK(tick(inj).empty());
  CHECK(ev.marks.size() == 2 && ev.marks[1].id == 43 && ev.marks[1].cleared == 1);
  rms::InjectStats is{};
  ms_filter_call_method(inj, RMS_AUDIO_INJECT_GET_STATS, &is);
  CHECK(is.written == 3200 && is.played == 1760 && is.cleared == 1440);
  // a ticker that stalled is not made up for beyond 200 ms
  ms_filter_call_method(inj, RMS_AUDIO_INJECT_WRITE, &w);
  clock.time += 5000;
  inj->desc->process(inj);
  CHECK(TakeOut(inj).size() <= 3200);
  inj->desc->postprocess(inj);
  inj->ticker = nullptr;
  ms_filter_unlink(inj, 0, sink, 0);
  ms_filter_destroy(inj);

  // mix: input 1 unlinked passes input 0; modes; rate
  MSFilter* mix = Make(&rms_audio_mix_desc);
  MSFilter* s0 = ms_factory_create_filter(g_factory, MS_VOID_SOURCE_ID);
  MSFilter* s1 = ms_factory_create_filter(g_factory, MS_VOID_SOURCE_ID);
  ms_filter_link(s0, 0, mix, 0);
  ms_filter_link(mix, 0, sink, 0);
  int rate = 16000, mode = 3;
  CHECK(ms_filter_call_method(mix, MS_FILTER_SET_SAMPLE_RATE, &rate) == 0);
  CHECK(ms_filter_call_method(mix, RMS_AUDIO_MIX_SET_MODE, &mode) == 0);
  mode = 9;
  CHECK(ms_filter_call_method(mix, RMS_AUDIO_MIX_SET_MODE, &mode) != 0);
  Put(mix, 0, frame);
  mix->desc->process(mix);
  CHECK(TakeOut(mix).size() == 160);
  ms_filter_link(s1, 0, mix, 1);
  std::vector<int16_t> other(160, 3);
  Put(mix, 0, frame);
  Put(mix, 1, other);
  mix->desc->process(mix);
  auto o = TakeOut(mix);
  CHECK(o.size() == 160 && o[0] == 3);
  mode = 1;
  ms_filter_call_method(mix, RMS_AUDIO_MIX_SET_MODE, &mode);
  int ch = 0;
  CHECK(ms_filter_call_method(mix, MS_FILTER_GET_NCHANNELS, &ch) == 0 && ch == 2);
  ms_filter_unlink(s0, 0, mix, 0);
  ms_filter_unlink(s1, 0, mix, 1);
  ms_filter_unlink(mix, 0, sink, 0);
  ms_filter_destroy(mix);

  // voice detect: pass-through, start and end events
  MSFilter* vad = Make(&rms_voice_detect_desc);
  ms_filter_add_notify_callback(vad, OnEvent, &ev, TRUE);
  ms_filter_link(src, 0, vad, 0);
  ms_filter_link(vad, 0, sink, 0);
  rate = 8000;
  CHECK(ms_filter_call_method(vad, MS_FILTER_SET_SAMPLE_RATE, &rate) == 0);
  rms::VoiceParams vp{-40, 9, 60, 200};
  CHECK(ms_filter_call_method(vad, RMS_VOICE_DETECT_SET_PARAMS, &vp) == 0);
  vp.minSpeechMs = 0;
  CHECK(ms_filter_call_method(vad, RMS_VOICE_DETECT_SET_PARAMS, &vp) != 0);
  std::vector<int16_t> quiet(80, 0);
  for (int t = 0; t < 30; ++t) {
    auto chunk = t < 10 ? Tone(8000, 10, 300, 0.2, &ph) : quiet;
    Put(vad, 0, chunk);
    vad->desc->process(vad);
    CHECK(TakeOut(vad) == chunk);
  }
  CHECK_MSG(ev.voice.size() == 2 && ev.voice[0].speaking == 1 && ev.voice[1].speaking == 0, "%zu", ev.voice.size());
  ms_filter_unlink(src, 0, vad, 0);
  ms_filter_unlink(vad, 0, sink, 0);
  for (MSFilter* f : {vad, src, s0, s1, sink}) ms_filter_destroy(f);
}

}  // namespace rms_test
