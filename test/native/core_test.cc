// Native test of the Node-API-free core (native/core/) and of our own filters
// (native/filters/, native/own_filters.cc) against the real mediastreamer2.
// Built by CMakeLists.txt as core_test and run by ctest; also run under ASan
// (scripts/asan.sh) and valgrind (scripts/valgrind.sh).
//
//   core_test            run every case
//   core_test codec2     run the cases whose name contains "codec2"
//
// Prints one line per case and exits 1 if any check failed.
#include <codec2/codec2.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "core/graph_check.h"
#include "core/method_table.h"
#include "core/ms_includes.h"
#include "core/ms_init.h"
#include "core/tick_stats.h"
#include "core/burst_gap.h"
#include "filters/codec2.h"
#include "own_filters.h"

// ---------------------------------------------------------------------------
// A tiny harness
// ---------------------------------------------------------------------------
namespace {

int g_checks = 0;
int g_failed = 0;  // failed checks in the current case

#define CHECK(cond) CHECK_MSG(cond, "%s", "")
#define CHECK_MSG(cond, ...)                                               \
  do {                                                                     \
    ++g_checks;                                                            \
    if (!(cond)) {                                                         \
      ++g_failed;                                                          \
      std::fprintf(stdout, "    FAIL %s:%d: %s  ", __FILE__, __LINE__, #cond); \
      std::fprintf(stdout, __VA_ARGS__);                                   \
      std::fprintf(stdout, "\n");                                          \
    }                                                                      \
  } while (0)
#define CHECK_CONTAINS(str, needle) \
  CHECK_MSG(std::string(str).find(needle) != std::string::npos, "got \"%s\"", std::string(str).c_str())

MSFactory* g_factory = nullptr;
constexpr double kPi = 3.14159265358979323846;

bool Contains(const std::string& s, const char* needle) { return s.find(needle) != std::string::npos; }

// ---------------------------------------------------------------------------
// Test filters: a PCM tone source, a raw byte-packet source, a probe that
// records packet sizes and passes them on, and a sink that counts.
// ---------------------------------------------------------------------------
struct SourceState {
  bool pcm = true;       // 16-bit 8 kHz sine, 10 ms per tick
  size_t packetBytes = 0;  // otherwise: one packet of this many bytes per tick
  double phase = 0;
  uint32_t ts = 0;
};

void SourceInit(MSFilter* f) { f->data = new SourceState(); }
void SourceUninit(MSFilter* f) { delete static_cast<SourceState*>(f->data); }
void SourceProcess(MSFilter* f) {
  auto* s = static_cast<SourceState*>(f->data);
  mblk_t* m;
  if (s->pcm) {
    const int n = 80;  // 10 ms at 8 kHz
    m = allocb(n * 2, 0);
    for (int i = 0; i < n; ++i) {
      auto v = static_cast<int16_t>(8000 * std::sin(s->phase));
      s->phase += 2 * kPi * 440 / 8000;
      std::memcpy(m->b_wptr, &v, 2);
      m->b_wptr += 2;
    }
    mblk_set_timestamp_info(m, s->ts);
    s->ts += n;
  } else {
    m = allocb(s->packetBytes, 0);
    std::memset(m->b_wptr, 0x5a, s->packetBytes);
    m->b_wptr += s->packetBytes;
  }
  ms_queue_put(f->outputs[0], m);
}
MSFilterDesc kSourceDesc = {MS_FILTER_PLUGIN_ID, "TestSource", "test source", MS_FILTER_OTHER, nullptr, 0, 1,
                            SourceInit, nullptr, SourceProcess, nullptr, SourceUninit, nullptr, 0};

struct ProbeState {
  std::vector<size_t> sizes;  // touched by the ticker thread only while running
};
void ProbeInit(MSFilter* f) { f->data = new ProbeState(); }
void ProbeUninit(MSFilter* f) { delete static_cast<ProbeState*>(f->data); }
void ProbeProcess(MSFilter* f) {
  auto* p = static_cast<ProbeState*>(f->data);
  mblk_t* m;
  while ((m = ms_queue_get(f->inputs[0])) != nullptr) {
    p->sizes.push_back(msgdsize(m));
    ms_queue_put(f->outputs[0], m);
  }
}
MSFilterDesc kProbeDesc = {MS_FILTER_PLUGIN_ID, "TestProbe", "test probe", MS_FILTER_OTHER, nullptr, 1, 1,
                           ProbeInit, nullptr, ProbeProcess, nullptr, ProbeUninit, nullptr, 0};

struct SinkState {
  size_t packets = 0;
  size_t bytes = 0;
  size_t nonZeroSamples = 0;
  std::vector<size_t> sizes;
};
void SinkInit(MSFilter* f) { f->data = new SinkState(); }
void SinkUninit(MSFilter* f) { delete static_cast<SinkState*>(f->data); }
void SinkProcess(MSFilter* f) {
  auto* s = static_cast<SinkState*>(f->data);
  mblk_t* m;
  while ((m = ms_queue_get(f->inputs[0])) != nullptr) {
    if (m->b_cont) msgpullup(m, static_cast<size_t>(-1));
    size_t len = static_cast<size_t>(m->b_wptr - m->b_rptr);
    s->packets++;
    s->bytes += len;
    s->sizes.push_back(len);
    for (size_t i = 0; i + 1 < len; i += 2) {
      int16_t v;
      std::memcpy(&v, m->b_rptr + i, 2);
      if (v != 0) s->nonZeroSamples++;
    }
    freemsg(m);
  }
}
MSFilterDesc kSinkDesc = {MS_FILTER_PLUGIN_ID, "TestSink", "test sink", MS_FILTER_OTHER, nullptr, 1, 0,
                          SinkInit, nullptr, SinkProcess, nullptr, SinkUninit, nullptr, 0};

MSFilter* Make(MSFilterDesc* d) { return ms_factory_create_filter_from_desc(g_factory, d); }

// Registers our codec2 descriptors once (the registration case checks it).
bool g_codec2Registered = false;
void EnsureCodec2Registered() {
  if (g_codec2Registered) return;
  ms_factory_register_filter(g_factory, &rms_codec2_enc_desc);
  ms_factory_register_filter(g_factory, &rms_codec2_dec_desc);
  g_codec2Registered = true;
}

int CallInt(MSFilter* f, unsigned int id, int value) { return ms_filter_call_method(f, id, &value); }
int GetInt(MSFilter* f, unsigned int id, int fallback = -12345) {
  int v = fallback;
  if (ms_filter_call_method(f, id, &v) != 0) return fallback;
  return v;
}

// ---------------------------------------------------------------------------
// (a) method table
// ---------------------------------------------------------------------------
void TestMethodTable() {
  using rms::ArgKind;
  const rms::MethodInfo* m = rms::FindMethod(MS_FILTER_SET_SAMPLE_RATE);
  CHECK(m != nullptr);
  if (m) {
    CHECK(m->kind == ArgKind::IntIn);
    CHECK(std::strcmp(m->name, "MS_FILTER_SET_SAMPLE_RATE") == 0);
    CHECK(m->id == MS_FILTER_SET_SAMPLE_RATE);
  }
  CHECK(rms::FindMethod(0) == nullptr);
  CHECK(rms::FindMethod(0xFFFFFFFFu) == nullptr);
  CHECK(rms::FindMethod(MS_FILTER_METHOD(MS_FILTER_BASE_ID, 250, int)) == nullptr);
  // An id that differs from a known one only in the size byte is unknown too.
  CHECK(rms::FindMethod(MS_FILTER_METHOD_ID(MS_FILTER_BASE_ID, 0, sizeof(float) + 1)) == nullptr);
  // Alias of MS_DTMF_GEN_PUT: found, as PUT.
  const rms::MethodInfo* play = rms::FindMethod(MS_DTMF_GEN_PLAY);
  CHECK(play != nullptr && std::strcmp(play->name, "MS_DTMF_GEN_PUT") == 0);

  const auto& all = rms::AllMethods();
  CHECK(all.size() > 40);
  std::set<unsigned int> ids;
  for (const rms::MethodInfo& e : all) {
    size_t got = rms::MethodArgSize(e.id);
    bool ok = true;
    const char* want = "";
    switch (e.kind) {
      case ArgKind::None: ok = got == 0; want = "0"; break;
      case ArgKind::IntIn:
      case ArgKind::IntOut: ok = got == sizeof(int); want = "sizeof(int)"; break;
      case ArgKind::FloatIn:
      case ArgKind::FloatOut: ok = got == sizeof(float); want = "sizeof(float)"; break;
      case ArgKind::BoolIn:
      case ArgKind::BoolOut: ok = got == sizeof(bool_t); want = "sizeof(bool_t)"; break;
      // "const char" (1) or "const char*" (MS_FILE_PLAYER_OPEN): both carry a string
      case ArgKind::String: ok = got == 1 || got == sizeof(const char*); want = "1 or sizeof(char*)"; break;
      case ArgKind::Char: ok = got == 1; want = "1"; break;
      case ArgKind::Bytes:
      case ArgKind::BytesOut: ok = e.bytes > 0 && got == e.bytes; want = "bytes"; break;
      case ArgKind::RtpSession: ok = got == sizeof(RtpSession*); want = "sizeof(RtpSession*)"; break;
    }
    CHECK_MSG(ok, "%s: kind %s, id size byte %zu, expected %s (bytes=%zu)", e.name, rms::ArgKindName(e.kind), got,
              want, e.bytes);
    CHECK_MSG(e.kind == ArgKind::Bytes || e.kind == ArgKind::BytesOut || e.bytes == 0,
              "%s: bytes set for a non-Bytes kind", e.name);
    CHECK_MSG(std::strcmp(rms::ArgKindName(e.kind), "?") != 0, "%s", e.name);
    CHECK_MSG(ids.insert(e.id).second, "%s: id 0x%08x listed twice (second entry unreachable)", e.name, e.id);
    CHECK_MSG(rms::FindMethod(e.id) == &e, "%s", e.name);
  }
}

// ---------------------------------------------------------------------------
// (b) graph checks
// ---------------------------------------------------------------------------
void TestGraphCheck() {
  MSFilter* player = ms_factory_create_filter(g_factory, MS_FILE_PLAYER_ID);
  MSFilter* sink = ms_factory_create_filter(g_factory, MS_VOID_SINK_ID);
  MSFilter* volume = ms_factory_create_filter(g_factory, MS_VOLUME_ID);
  MSFilter* tee = ms_factory_create_filter(g_factory, MS_TEE_ID);
  CHECK(player && sink && volume && tee);
  if (!player || !sink || !volume || !tee) return;

  // no source: a lone sink, and volume -> sink
  std::string e = rms::CheckRunnable(sink);
  CHECK_CONTAINS(e, "no source");
  ms_filter_link(volume, 0, sink, 0);
  e = rms::CheckRunnable(sink);
  CHECK_CONTAINS(e, "no source");
  CHECK(rms::GraphOf(sink).size() == 2);
  ms_filter_unlink(volume, 0, sink, 0);

  // unlinked output: a lone player, and player -> volume with volume open
  e = rms::CheckRunnable(player);
  CHECK_CONTAINS(e, "not linked");
  CHECK_CONTAINS(e, "MSFilePlayer");
  ms_filter_link(player, 0, volume, 0);
  e = rms::CheckRunnable(player);
  CHECK_CONTAINS(e, "not linked");
  CHECK_CONTAINS(e, "MSVolume");
  ms_filter_unlink(player, 0, volume, 0);

  // valid: player -> sink, checked from either end
  ms_filter_link(player, 0, sink, 0);
  CHECK_MSG(rms::CheckRunnable(player).empty(), "got \"%s\"", rms::CheckRunnable(player).c_str());
  CHECK(rms::CheckRunnable(sink).empty());
  CHECK(rms::LinkCount(player) == 1 && rms::LinkCount(sink) == 1 && rms::LinkCount(volume) == 0);
  CHECK(rms::GraphOf(player).size() == 2);

  // already attached
  MSTicker* ticker = ms_ticker_new();
  CHECK(ms_ticker_attach(ticker, player) == 0);
  e = rms::CheckRunnable(sink);
  CHECK_CONTAINS(e, "already attached");
  ms_ticker_detach(ticker, player);
  ms_ticker_destroy(ticker);
  CHECK(rms::CheckRunnable(player).empty());
  ms_filter_unlink(player, 0, sink, 0);

  // a tee may leave outputs open: player -> tee -> sink (tee output 1 open)
  ms_filter_link(player, 0, tee, 0);
  ms_filter_link(tee, 0, sink, 0);
  CHECK_MSG(rms::CheckRunnable(sink).empty(), "got \"%s\"", rms::CheckRunnable(sink).c_str());
  CHECK(rms::GraphOf(sink).size() == 3);
  ms_filter_unlink(tee, 0, sink, 0);
  ms_filter_unlink(player, 0, tee, 0);

  ms_filter_destroy(tee);
  ms_filter_destroy(volume);
  ms_filter_destroy(sink);
  ms_filter_destroy(player);
}

// ---------------------------------------------------------------------------
// (c) codec2 filters: registration, fmtp parsing, methods
// ---------------------------------------------------------------------------
void TestCodec2Registration() {
  if (!g_codec2Registered) {
    // ms2 itself has no codec2 filter: whatever CODEC2 resolves to below is ours
    MSFilter* none = ms_factory_create_encoder(g_factory, "CODEC2");
    CHECK_MSG(none == nullptr, "ms2 already has a CODEC2 encoder: %s", none ? none->desc->name : "");
    if (none) ms_filter_destroy(none);
  }
  EnsureCodec2Registered();
  CHECK(ms_factory_lookup_filter_by_name(g_factory, "RmsCodec2Enc") == &rms_codec2_enc_desc);
  CHECK(ms_factory_lookup_filter_by_name(g_factory, "RmsCodec2Dec") == &rms_codec2_dec_desc);
  CHECK(ms_factory_codec_supported(g_factory, "CODEC2"));

  MSFilter* enc = ms_factory_create_encoder(g_factory, "CODEC2");
  MSFilter* dec = ms_factory_create_decoder(g_factory, "codec2");  // mime match is case-insensitive
  CHECK(enc != nullptr && enc->desc == &rms_codec2_enc_desc);
  CHECK(dec != nullptr && dec->desc == &rms_codec2_dec_desc);

  CHECK(rms::FindOwnFilter("RmsCodec2Enc") == &rms_codec2_enc_desc);
  CHECK(rms::FindOwnFilter("RmsCodec2Dec") == &rms_codec2_dec_desc);
  CHECK(rms::FindOwnFilter("MSVolume") == nullptr);
  CHECK_CONTAINS(rms::OwnFilterNames(), "RmsCodec2Enc, RmsCodec2Dec");

  if (enc) {
    CHECK(GetInt(enc, MS_FILTER_GET_BITRATE) == 2400);  // default mode
    CHECK(GetInt(enc, MS_AUDIO_ENCODER_GET_PTIME) == 20);
    CHECK(ms_filter_call_method(enc, MS_FILTER_ADD_FMTP, (void*)"mode=1200") == 0);
    CHECK(GetInt(enc, MS_FILTER_GET_BITRATE) == 1200);
    CHECK(GetInt(enc, MS_AUDIO_ENCODER_GET_PTIME) == 40);
    std::printf("    (the ms2 errors below are expected: invalid arguments)\n");
    std::fflush(stdout);
    CHECK(CallInt(enc, MS_AUDIO_ENCODER_SET_PTIME, 60) != 0);  // not a multiple of 40 ms
    CHECK(CallInt(enc, MS_AUDIO_ENCODER_SET_PTIME, 160) != 0);  // > 120 ms
    CHECK(CallInt(enc, MS_AUDIO_ENCODER_SET_PTIME, 80) == 0);
    CHECK(GetInt(enc, MS_AUDIO_ENCODER_GET_PTIME) == 80);
    CHECK(ms_filter_call_method(enc, MS_FILTER_ADD_FMTP, (void*)"mode=999") != 0);
    CHECK(GetInt(enc, MS_FILTER_GET_BITRATE) == 1200);  // unchanged
    CHECK(CallInt(enc, MS_FILTER_SET_SAMPLE_RATE, 16000) != 0);
    CHECK(CallInt(enc, MS_FILTER_SET_SAMPLE_RATE, 8000) == 0);
    CHECK(GetInt(enc, MS_FILTER_GET_SAMPLE_RATE) == 8000);
    CHECK(GetInt(enc, MS_FILTER_GET_NCHANNELS) == 1);
    CHECK(CallInt(enc, MS_FILTER_SET_BITRATE, 3200) == 0);
    CHECK(GetInt(enc, MS_FILTER_GET_BITRATE) == 3200);
    CHECK(CallInt(enc, MS_FILTER_SET_BITRATE, 64000) != 0);
    ms_filter_destroy(enc);
  }
  if (dec) {
    CHECK(ms_filter_call_method(dec, MS_FILTER_ADD_FMTP, (void*)"mode=700C") == 0);
    CHECK(GetInt(dec, MS_FILTER_GET_BITRATE) == 700);
    CHECK(GetInt(dec, MS_AUDIO_DECODER_HAVE_PLC) == 0);
    ms_filter_destroy(dec);
  }
}

void TestCodec2Fmtp() {
  CHECK(rms::Codec2ModeFromFmtp("mode=1200", 1) == CODEC2_MODE_1200);
  CHECK(rms::Codec2ModeFromFmtp("mode=999", 1) == -1);
  CHECK(rms::Codec2ModeFromFmtp(nullptr, 1) == 1);
  CHECK(rms::Codec2ModeFromFmtp(nullptr, CODEC2_MODE_3200) == CODEC2_MODE_3200);
  CHECK(rms::Codec2ModeFromFmtp("", 1) == 1);
  CHECK(rms::Codec2ModeFromFmtp("ptime=40", 1) == 1);
  CHECK(rms::Codec2ModeFromFmtp("mode=3200;ptime=40", 1) == CODEC2_MODE_3200);
  CHECK(rms::Codec2ModeFromFmtp("ptime=40; mode=1600", 1) == CODEC2_MODE_1600);
  CHECK(rms::Codec2ModeFromFmtp("mode=700C", 1) == CODEC2_MODE_700C);
  CHECK(rms::Codec2ModeFromFmtp("mode=700", 1) == CODEC2_MODE_700C);
  CHECK(rms::Codec2ModeFromFmtp("mode=1200x", 1) == -1);
  CHECK(rms::Codec2ModeFromFmtp("mode=", 1) == -1);
  // a value that only wraps to 1200 when narrowed to int must not be accepted
  CHECK(rms::Codec2ModeFromFmtp("mode=4294968496", 1) == -1);
  CHECK(rms::Codec2ModeFromFmtp("mode=-4294966096", 1) == -1);
  CHECK(rms::Codec2ModeForBitrate(2400) == CODEC2_MODE_2400);
  CHECK(rms::Codec2ModeForBitrate(1300) == CODEC2_MODE_1300);
  CHECK(rms::Codec2ModeForBitrate(450) == -1);
  CHECK(rms::Codec2ModeForBitrate(0) == -1);
}

// Runs the graph rooted at source on a fresh ticker for ms milliseconds.
void RunGraph(MSFilter* source, int ms, rms::TickStatsSnapshot* stats = nullptr) {
  std::string problem = rms::CheckRunnable(source);
  CHECK_MSG(problem.empty(), "%s", problem.c_str());
  if (!problem.empty()) return;
  MSTicker* ticker = ms_ticker_new();
  {
    rms::TickStats ts(ticker);
    ms_ticker_attach(ticker, source);
    std::this_thread::sleep_for(std::chrono::milliseconds(ms));
    ms_ticker_detach(ticker, source);
    if (stats) *stats = ts.Snapshot();
    ms_ticker_destroy(ticker);  // joins the thread before ts goes away
  }
}

// PCM -> encoder -> probe -> decoder -> sink on a real ticker.
void TestCodec2RoundTrip() {
  EnsureCodec2Registered();
  MSFilter* src = Make(&kSourceDesc);
  MSFilter* enc = ms_factory_create_encoder(g_factory, "CODEC2");
  MSFilter* probe = Make(&kProbeDesc);
  MSFilter* dec = ms_factory_create_decoder(g_factory, "CODEC2");
  MSFilter* sink = Make(&kSinkDesc);
  CHECK(src && enc && probe && dec && sink);
  if (!(src && enc && probe && dec && sink)) return;
  CHECK(ms_filter_call_method(enc, MS_FILTER_ADD_FMTP, (void*)"mode=1200") == 0);
  CHECK(CallInt(enc, MS_AUDIO_ENCODER_SET_PTIME, 80) == 0);
  CHECK(ms_filter_call_method(dec, MS_FILTER_ADD_FMTP, (void*)"mode=1200") == 0);
  ms_filter_link(src, 0, enc, 0);
  ms_filter_link(enc, 0, probe, 0);
  ms_filter_link(probe, 0, dec, 0);
  ms_filter_link(dec, 0, sink, 0);

  RunGraph(src, 500);

  auto* p = static_cast<ProbeState*>(probe->data);
  auto* s = static_cast<SinkState*>(sink->data);
  // 1200 bit/s, 40 ms frames of 6 bytes, 2 frames per 80 ms packet
  CHECK_MSG(p->sizes.size() >= 3, "%zu packets", p->sizes.size());
  for (size_t n : p->sizes) CHECK_MSG(n == 12, "packet of %zu bytes", n);
  CHECK(s->packets == p->sizes.size());
  for (size_t n : s->sizes) CHECK_MSG(n == 2 * 2 * 320, "decoded %zu bytes", n);
  CHECK_MSG(s->nonZeroSamples > 320, "%zu non-zero samples", s->nonZeroSamples);
  // mode cannot change while the codec state exists (kept after detach)
  CHECK(ms_filter_call_method(enc, MS_FILTER_ADD_FMTP, (void*)"mode=3200") != 0);

  ms_filter_unlink(dec, 0, sink, 0);
  ms_filter_unlink(probe, 0, dec, 0);
  ms_filter_unlink(enc, 0, probe, 0);
  ms_filter_unlink(src, 0, enc, 0);
  for (MSFilter* f : {src, enc, probe, dec, sink}) ms_filter_destroy(f);
}

// A decoder fed payloads that are not whole frames of its mode drops them.
void TestCodec2DecoderDropsBadPayloads() {
  EnsureCodec2Registered();
  MSFilter* src = Make(&kSourceDesc);
  MSFilter* dec = ms_factory_create_decoder(g_factory, "CODEC2");
  MSFilter* sink = Make(&kSinkDesc);
  CHECK(src && dec && sink);
  if (!(src && dec && sink)) return;
  auto* st = static_cast<SourceState*>(src->data);
  st->pcm = false;
  st->packetBytes = 7;  // mode 2400 frames are 6 bytes
  ms_filter_link(src, 0, dec, 0);
  ms_filter_link(dec, 0, sink, 0);
  RunGraph(src, 100);
  auto* s = static_cast<SinkState*>(sink->data);
  CHECK_MSG(s->packets == 0, "%zu packets decoded", s->packets);
  ms_filter_unlink(dec, 0, sink, 0);
  ms_filter_unlink(src, 0, dec, 0);
  for (MSFilter* f : {src, dec, sink}) ms_filter_destroy(f);
}

// ---------------------------------------------------------------------------
// (d) TickStats on a real ticker
// ---------------------------------------------------------------------------
void TestTickStats() {
  MSFilter* player = ms_factory_create_filter(g_factory, MS_FILE_PLAYER_ID);
  MSFilter* sink = ms_factory_create_filter(g_factory, MS_VOID_SINK_ID);
  ms_filter_link(player, 0, sink, 0);
  rms::TickStatsSnapshot snap{};
  RunGraph(player, 200, &snap);
  std::printf("    ticks=%llu late=%llu maxLateMs=%lld totalLateMs=%llu\n",
              static_cast<unsigned long long>(snap.ticks), static_cast<unsigned long long>(snap.lateTicks),
              static_cast<long long>(snap.maxLateMs), static_cast<unsigned long long>(snap.totalLateMs));
  CHECK_MSG(snap.ticks > 10, "ticks=%llu", static_cast<unsigned long long>(snap.ticks));
  CHECK(snap.ticks < 100);  // 10 ms ticks over ~200 ms (+ slack for slow runs under valgrind)
  CHECK(snap.lateTicks <= snap.ticks);
  CHECK(snap.maxLateMs >= 0);

  // Without any graph the ticker still ticks; Reset clears the late counters.
  MSTicker* ticker = ms_ticker_new();
  {
    rms::TickStats ts(ticker);
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    auto a = ts.Snapshot();
    CHECK_MSG(a.ticks > 10, "ticks=%llu", static_cast<unsigned long long>(a.ticks));
    ts.Reset();
    auto b = ts.Snapshot();
    CHECK(b.lateTicks == 0 && b.totalLateMs == 0 && b.maxLateMs == 0);
    CHECK(b.ticks >= a.ticks);  // the tick count is not reset
    ms_ticker_destroy(ticker);
  }
  ms_filter_unlink(player, 0, sink, 0);
  ms_filter_destroy(sink);
  ms_filter_destroy(player);
}

// RFC 3611 burst/gap over hand-made sequences (Gmin 16).
void TestBurstGap() {
  // 100 packets, isolated losses at 20 and 60 (39 received between): gap losses only
  {
    rms::BurstGap g(16);
    for (int seq = 0; seq < 100; ++seq)
      if (seq != 20 && seq != 60) g.OnPacket(static_cast<uint16_t>(seq));
    rms::BurstGapSnapshot s = g.Snapshot();
    CHECK(s.packets == 100 && s.lost == 2 && s.bursts == 0 && s.burstPackets == 0);
  }
  // a burst: lose 30,31,32, keep 33,34, lose 35 (fewer than Gmin between) -> one burst of 6 packets, 4 lost
  {
    rms::BurstGap g(16);
    for (int seq = 0; seq < 100; ++seq)
      if (seq < 30 || seq > 35 || seq == 33 || seq == 34) g.OnPacket(static_cast<uint16_t>(seq));
    rms::BurstGapSnapshot s = g.Snapshot();
    CHECK_MSG(s.bursts == 1 && s.burstPackets == 6 && s.burstLost == 4 && s.lost == 4,
              "bursts=%u burstPackets=%u burstLost=%u lost=%u", s.bursts, s.burstPackets, s.burstLost, s.lost);
  }
  // sequence wrap, duplicates and a restart jump are not loss
  {
    rms::BurstGap g(16);
    for (int i = 0; i < 40; ++i) g.OnPacket(static_cast<uint16_t>(65520 + i));  // wraps at 65536
    g.OnPacket(static_cast<uint16_t>(65520 + 39));                                   // duplicate
    g.OnPacket(static_cast<uint16_t>(30000));                                        // restart
    rms::BurstGapSnapshot s = g.Snapshot();
    CHECK_MSG(s.lost == 0 && s.packets == 41, "lost=%u packets=%u", s.lost, s.packets);
  }
}

struct Case {
  const char* name;
  void (*fn)();
};
const Case kCases[] = {
    {"method_table", TestMethodTable},
    {"graph_check", TestGraphCheck},
    {"codec2_registration", TestCodec2Registration},
    {"codec2_fmtp", TestCodec2Fmtp},
    {"codec2_round_trip", TestCodec2RoundTrip},
    {"codec2_decoder_drops_bad_payloads", TestCodec2DecoderDropsBadPayloads},
    {"tick_stats", TestTickStats},
    {"burst_gap", TestBurstGap},
};

}  // namespace

int main(int argc, char** argv) {
  const char* filter = argc > 1 ? argv[1] : nullptr;
  rms::EnsureLibrariesInitialised();
  g_factory = ms_factory_new();
  ms_factory_init_voip(g_factory);

  int failedCases = 0, ran = 0;
  for (const Case& c : kCases) {
    if (filter && !Contains(c.name, filter)) continue;
    ++ran;
    g_failed = 0;
    std::printf("[ RUN  ] %s\n", c.name);
    std::fflush(stdout);
    auto t0 = std::chrono::steady_clock::now();
    c.fn();
    auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0).count();
    if (g_failed) {
      ++failedCases;
      std::printf("[ FAIL ] %s (%d failed checks, %lld ms)\n", c.name, g_failed, static_cast<long long>(ms));
    } else {
      std::printf("[  OK  ] %s (%lld ms)\n", c.name, static_cast<long long>(ms));
    }
    std::fflush(stdout);
  }

  ms_factory_destroy(g_factory);
  ortp_exit();
  std::printf("%d/%d cases passed, %d checks\n", ran - failedCases, ran, g_checks);
  if (ran == 0) {
    std::printf("no case matches \"%s\"\n", filter ? filter : "");
    return 2;
  }
  return failedCases ? 1 : 0;
}
