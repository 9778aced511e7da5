// Native test of the Node-API-free core (native/core/) and of our own filters
// (native/filters/, native/own_filters.cc) against the real mediastreamer2.
// Built by CMakeLists.txt as core_test and run by ctest; also run under ASan
// (scripts/asan.sh) and valgrind (scripts/valgrind.sh).
//
//   core_test            run every case
//   core_test codec2     run the cases whose name contains "codec2"
//
// Prints one line per case and exits 1 if any check failed.
#include <arpa/inet.h>
#include <codec2/codec2.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "core/buffer_arg.h"
#include "core/graph_check.h"
#include "core/method_table.h"
#include "core/ms_includes.h"
#include "core/ms_init.h"
#include "core/tick_stats.h"
#include "core/burst_gap.h"
#include "core/dtmf_goertzel.h"
#include "core/level_meter.h"
#include "core/recv_gate.h"
#include "core/rx_quality.h"
#include "core/xr_fill.h"
#include "filters/codec2.h"
#include "filters/dtmf_detect.h"
#include "own_filters.h"
#include "harness.h"

// ---------------------------------------------------------------------------
// A tiny harness
// ---------------------------------------------------------------------------
namespace {

using rms_test::g_checks;
using rms_test::g_factory;
using rms_test::g_failed;
constexpr double kPi = 3.14159265358979323846;

bool Contains(const std::string& s, const char* needle) { return s.find(needle) != std::string::npos; }

// ---------------------------------------------------------------------------
// Test filters: a PCM tone source, a raw byte-packet source, a probe that
// records packet sizes and passes them on, and a sink that counts.
// ---------------------------------------------------------------------------
struct SourceState {
  bool pcm = true;         // 16-bit 8 kHz sine, 10 ms per tick
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
MSFilterDesc kSourceDesc = {
    MS_FILTER_PLUGIN_ID, "TestSource", "test source", MS_FILTER_OTHER, nullptr,      0,       1,
    SourceInit,          nullptr,      SourceProcess, nullptr,         SourceUninit, nullptr, 0};

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
MSFilterDesc kProbeDesc = {MS_FILTER_PLUGIN_ID, "TestProbe", "test probe", MS_FILTER_OTHER, nullptr,     1,       1,
                           ProbeInit,           nullptr,     ProbeProcess, nullptr,         ProbeUninit, nullptr, 0};

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
MSFilterDesc kSinkDesc = {
    MS_FILTER_PLUGIN_ID, "TestSink", "test sink", MS_FILTER_OTHER, nullptr, 1, 0, SinkInit, nullptr,
    SinkProcess,         nullptr,    SinkUninit,  nullptr,         0};

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
      case ArgKind::None:
        ok = got == 0;
        want = "0";
        break;
      case ArgKind::IntIn:
      case ArgKind::IntOut:
        ok = got == sizeof(int);
        want = "sizeof(int)";
        break;
      case ArgKind::FloatIn:
      case ArgKind::FloatOut:
        ok = got == sizeof(float);
        want = "sizeof(float)";
        break;
      case ArgKind::BoolIn:
      case ArgKind::BoolOut:
        ok = got == sizeof(bool_t);
        want = "sizeof(bool_t)";
        break;
      // "const char" (1) or "const char*" (MS_FILE_PLAYER_OPEN): both carry a string
      case ArgKind::String:
        ok = got == 1 || got == sizeof(const char*);
        want = "1 or sizeof(char*)";
        break;
      case ArgKind::Char:
        ok = got == 1;
        want = "1";
        break;
      case ArgKind::Bytes:
      case ArgKind::BytesOut:
        ok = e.bytes > 0 && got == e.bytes;
        want = "bytes";
        break;
      case ArgKind::RtpSession:
        ok = got == sizeof(RtpSession*);
        want = "sizeof(RtpSession*)";
        break;
      case ArgKind::Buffer:
        ok = got == sizeof(rms::BufferArg);
        want = "sizeof(rms::BufferArg)";
        break;
    }
    CHECK_MSG(ok, "%s: kind %s, id size byte %zu, expected %s (bytes=%zu)", e.name, rms::ArgKindName(e.kind), got, want,
              e.bytes);
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
    CHECK(CallInt(enc, MS_AUDIO_ENCODER_SET_PTIME, 60) != 0);   // not a multiple of 40 ms
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

// A decoder fed payloads that are whole frames of no mode drops them (a size
// that is another mode's is decoded in that mode: codec2_detect.h).
void TestCodec2DecoderDropsBadPayloads() {
  EnsureCodec2Registered();
  MSFilter* src = Make(&kSourceDesc);
  MSFilter* dec = ms_factory_create_decoder(g_factory, "CODEC2");
  MSFilter* sink = Make(&kSinkDesc);
  CHECK(src && dec && sink);
  if (!(src && dec && sink)) return;
  auto* st = static_cast<SourceState*>(src->data);
  st->pcm = false;
  st->packetBytes = 5;  // frames are 8, 6, 7 or 4 bytes
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
  std::printf("    ticks=%llu late=%llu maxLateMs=%lld totalLateMs=%llu\n", static_cast<unsigned long long>(snap.ticks),
              static_cast<unsigned long long>(snap.lateTicks), static_cast<long long>(snap.maxLateMs),
              static_cast<unsigned long long>(snap.totalLateMs));
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
    g.OnPacket(static_cast<uint16_t>(65520 + 39));                              // duplicate
    g.OnPacket(static_cast<uint16_t>(30000));                                   // restart
    rms::BurstGapSnapshot s = g.Snapshot();
    CHECK_MSG(s.lost == 0 && s.packets == 41, "lost=%u packets=%u", s.lost, s.packets);
  }
}

// ---------------------------------------------------------------------------
// (e) DTMF detector: the Goertzel core on synthesized audio, then the filter
// ---------------------------------------------------------------------------
const double kRowHz[4] = {697, 770, 852, 941};
const double kColHz[4] = {1209, 1336, 1477, 1633};
const char kKeys[] = "123A456B789C*0#D";

// Per-tone level of a two-tone signal whose peak is `peakDb` dBFS.
double ToneDb(double peakDb) { return peakDb - 20 * std::log10(2.0); }
double DbToAmplitude(double db) { return std::pow(10.0, db / 20); }

// Audio under construction, in full-scale units (1.0 = 32767).
struct Signal {
  int rate;
  std::vector<double> x;
  size_t Samples(double ms) const { return static_cast<size_t>(std::lround(ms * rate / 1000)); }
  void Silence(double ms) { x.insert(x.end(), Samples(ms), 0.0); }
  // Both tones of `key`, each at its own level (dBFS: a full-scale sine is 0).
  void Key(char key, double ms, double rowDb, double colDb, double freqScale = 1, double phase = 0) {
    int k = static_cast<int>(std::strchr(kKeys, key) - kKeys);
    double fr = kRowHz[k / 4] * freqScale, fc = kColHz[k % 4] * freqScale;
    double ar = DbToAmplitude(rowDb), ac = DbToAmplitude(colDb);
    size_t n = Samples(ms);
    for (size_t i = 0; i < n; ++i) {
      double t = static_cast<double>(i) / rate;
      x.push_back(ar * std::sin(2 * kPi * fr * t + phase) + ac * std::sin(2 * kPi * fc * t + 2.1 * phase));
    }
  }
  void Tone(double hz, double ms, double db) {
    size_t n = Samples(ms);
    for (size_t i = 0; i < n; ++i) x.push_back(DbToAmplitude(db) * std::sin(2 * kPi * hz * i / rate));
  }
  // Adds white Gaussian noise of `db` dBFS mean power over what is there.
  void AddNoise(double db, unsigned seed) {
    std::mt19937 rng(seed);
    std::normal_distribution<double> nd(0, DbToAmplitude(db) / std::sqrt(2.0));
    for (double& v : x) v += nd(rng);
  }
  std::vector<int16_t> Pcm() const {
    std::vector<int16_t> out(x.size());
    for (size_t i = 0; i < x.size(); ++i)
      out[i] = static_cast<int16_t>(std::lround(std::max(-1.0, std::min(1.0, x[i])) * 32767));
    return out;
  }
};

// A speech-like signal: a glottal pulse train, pitch gliding 85 Hz either
// side of `f0Center`, through three formant resonators that move to another
// vowel every 150 ms, with a syllable envelope; normalised to `peakDb`. Made
// to be hard: /a/ puts its formants at 700 and 1220 Hz, and near 174 Hz the
// 4th and 7th harmonics fall on 697 and 1218 Hz, a '1' but for the rest of
// the spectrum.
Signal SpeechLike(int rate, double seconds, double peakDb, double f0Center) {
  static const double kVowels[6][3] = {{700, 1220, 2600}, {270, 2290, 3010}, {300, 870, 2240},
                                       {530, 1840, 2480}, {660, 1720, 2410}, {640, 1190, 2390}};
  static const double kBandwidth[3] = {130, 70, 160};
  Signal s{rate, {}};
  size_t n = s.Samples(seconds * 1000);
  double phase = 0, y1[3] = {0, 0, 0}, y2[3] = {0, 0, 0}, peak = 0;
  for (size_t i = 0; i < n; ++i) {
    double t = static_cast<double>(i) / rate;
    double f0 = f0Center + 85 * std::sin(2 * kPi * 0.37 * t);
    phase += f0 / rate;
    double v = 0;
    if (phase >= 1) {
      phase -= 1;
      v = 1;
    }
    const double* formants = kVowels[static_cast<size_t>(t / 0.15) % 6];
    for (int k = 0; k < 3; ++k) {
      double r = std::exp(-kPi * kBandwidth[k] / rate);
      double y = v + 2 * r * std::cos(2 * kPi * formants[k] / rate) * y1[k] - r * r * y2[k];
      y2[k] = y1[k];
      y1[k] = y;
      v = y;
    }
    v *= 0.2 + 0.8 * std::fabs(std::sin(kPi * 4 * t));
    s.x.push_back(v);
    peak = std::max(peak, std::fabs(v));
  }
  for (double& v : s.x) v *= DbToAmplitude(peakDb) / peak;
  return s;
}

// Music-like: 400 ms chords of 3-5 notes with two overtones and a decay,
// several notes within a semitone of a DTMF frequency (F5 698, G5 784,
// F#6 1480, E6 1319, F6 1397).
Signal MusicLike(int rate, double seconds, double peakDb) {
  static const std::vector<std::vector<int>> kChords = {{77, 81, 84},         {74, 78, 81, 90},     {76, 79, 83, 88},
                                                        {69, 73, 76, 79, 85}, {70, 74, 77, 82, 89}, {79, 83, 86, 91}};
  Signal s{rate, {}};
  size_t n = s.Samples(seconds * 1000), per = s.Samples(400);
  double peak = 0;
  for (size_t i = 0; i < n; ++i) {
    const auto& chord = kChords[(i / per) % kChords.size()];
    double t = static_cast<double>(i % per) / rate, v = 0;
    for (int midi : chord) {
      double f = 440 * std::pow(2.0, (midi - 69) / 12.0);
      for (int h = 1; h <= 3 && f * h < rate / 2; ++h) v += std::sin(2 * kPi * f * h * t + midi) / (h * h);
    }
    v *= std::exp(-3 * t) * std::min(1.0, t / 0.01);
    s.x.push_back(v);
    peak = std::max(peak, std::fabs(v));
  }
  for (double& v : s.x) v *= DbToAmplitude(peakDb) / peak;
  return s;
}

struct Detections {
  std::vector<rms::DtmfEvent> starts, ends;
  std::string Keys() const {
    std::string k;
    for (const auto& e : ends) k += e.digit;
    return k;
  }
};

void Collect(void* user, bool start, const rms::DtmfEvent& ev) {
  auto* d = static_cast<Detections*>(user);
  (start ? d->starts : d->ends).push_back(ev);
}

Detections Detect(const Signal& s, const rms::DtmfParams* params = nullptr, size_t chunk = 160) {
  rms::DtmfGoertzel g(s.rate);
  if (params) CHECK(g.SetParams(*params));
  Detections d;
  g.SetSink(Collect, &d);
  std::vector<int16_t> pcm = s.Pcm();
  for (size_t i = 0; i < pcm.size(); i += chunk) g.Feed(pcm.data() + i, std::min(chunk, pcm.size() - i));
  g.Flush();
  return d;
}

// All 16 keys, 60 ms apart, after `leadSamples` of silence.
Signal AllKeys(int rate, double ms, double rowDb, double colDb, size_t leadSamples = 0, double freqScale = 1) {
  Signal s{rate, {}};
  s.x.assign(leadSamples, 0.0);
  s.Silence(20);
  for (int k = 0; k < 16; ++k) {
    s.Key(kKeys[k], ms, rowDb, colDb, freqScale, 0.4 * k);
    s.Silence(60);
  }
  return s;
}

void TestDtmfAllKeys() {
  int runs = 0, exact = 0;
  double maxDurErr = 0, maxStartErr = 0, maxLevelErr = 0;
  for (int rate : {8000, 16000})
    for (double peakDb : {-3.0, -10.0, -20.0, -25.0})
      for (double ms : {40.0, 60.0, 100.0})
        for (size_t lead : {0, 13, 29}) {
          size_t leadSamples = lead * static_cast<size_t>(rate / 8000);
          Detections d = Detect(AllKeys(rate, ms, ToneDb(peakDb), ToneDb(peakDb), leadSamples));
          ++runs;
          bool ok = d.Keys() == kKeys && d.starts.size() == 16;
          CHECK_MSG(ok, "%d Hz, %.0f dBFS, %.0f ms, lead %zu: keys \"%s\", %zu starts", rate, peakDb, ms, lead,
                    d.Keys().c_str(), d.starts.size());
          if (!ok) continue;
          ++exact;
          for (int k = 0; k < 16; ++k) {
            const rms::DtmfEvent& e = d.ends[k];
            double onsetMs = (leadSamples * 1000.0 / rate) + 20 + k * (ms + 60);
            maxDurErr = std::max(maxDurErr, std::fabs(e.duration_ms - ms));
            maxStartErr = std::max(maxStartErr, std::fabs(e.start_ms - onsetMs));
            maxLevelErr = std::max({maxLevelErr, std::fabs(static_cast<double>(e.low_dbfs) - ToneDb(peakDb)),
                                    std::fabs(static_cast<double>(e.high_dbfs) - ToneDb(peakDb))});
            CHECK(d.starts[k].digit == e.digit && d.starts[k].start_ms == e.start_ms);
            CHECK(d.starts[k].duration_ms >= 35 && d.starts[k].duration_ms <= e.duration_ms);
          }
        }
  std::printf(
      "    16 keys x 4 levels (-3..-25 dBFS peak) x 40/60/100 ms x 3 offsets x 8/16 kHz: %d/%d runs exact;"
      " max error: duration %.1f ms, onset %.1f ms, level %.2f dB\n",
      exact, runs, maxDurErr, maxStartErr, maxLevelErr);
  CHECK(maxDurErr <= 3);
  CHECK(maxStartErr <= 3);
  CHECK(maxLevelErr <= 1);
}

void TestDtmfTooShortOrWeak() {
  int found = 0;
  for (int rate : {8000, 16000})
    for (double peakDb : {-3.0, -25.0})
      for (size_t lead = 0; lead < 34; lead += 3) {
        found += static_cast<int>(Detect(AllKeys(rate, 30, ToneDb(peakDb), ToneDb(peakDb), lead)).ends.size());
        found += static_cast<int>(Detect(AllKeys(rate, 20, ToneDb(peakDb), ToneDb(peakDb), lead)).ends.size());
      }
  CHECK_MSG(found == 0, "%d digits from 20/30 ms tones", found);
  // below the -33 dBFS per tone minimum
  for (double toneDb : {-34.0, -40.0, -46.0}) {
    Detections d = Detect(AllKeys(8000, 100, toneDb, toneDb));
    CHECK_MSG(d.ends.empty(), "%.0f dBFS per tone: \"%s\"", toneDb, d.Keys().c_str());
  }
  CHECK(Detect(AllKeys(8000, 100, -31, -31)).Keys() == kKeys);
  // a lower minimum, configured
  rms::DtmfParams p = rms::DtmfGoertzel::DefaultParams();
  p.min_level_dbfs = -45;
  CHECK(Detect(AllKeys(8000, 100, -40, -40), &p).Keys() == kKeys);
}

void TestDtmfTwist() {
  // normal twist: the row (low group) louder; reverse: the column louder
  CHECK(Detect(AllKeys(8000, 60, -10, -16)).Keys() == kKeys);  // normal 6 dB
  CHECK(Detect(AllKeys(8000, 60, -10, -20)).ends.empty());     // normal 10 dB
  CHECK(Detect(AllKeys(8000, 60, -13, -10)).Keys() == kKeys);  // reverse 3 dB
  CHECK(Detect(AllKeys(8000, 60, -16, -10)).ends.empty());     // reverse 6 dB
  rms::DtmfParams p = rms::DtmfGoertzel::DefaultParams();
  p.normal_twist_db = 12;
  p.reverse_twist_db = 8;
  CHECK(Detect(AllKeys(8000, 60, -10, -20), &p).Keys() == kKeys);
  CHECK(Detect(AllKeys(8000, 60, -16, -10), &p).Keys() == kKeys);
  // Q.24 frequency tolerance: within 1.5 % accepted, 3.5 % off rejected
  for (double scale : {0.985, 1.015})
    CHECK_MSG(Detect(AllKeys(8000, 60, -10, -10, 0, scale)).Keys() == kKeys, "%g", scale);
  for (double scale : {0.965, 1.035})
    CHECK_MSG(Detect(AllKeys(8000, 60, -10, -10, 0, scale)).ends.empty(), "%g", scale);
}

void TestDtmfNoFalseDetections() {
  for (int rate : {8000, 16000}) {
    for (double db : {-10.0, -20.0, -35.0}) {
      Signal noise{rate, {}};
      noise.Silence(10000);
      noise.AddNoise(db, 7);
      Detections d = Detect(noise);
      CHECK_MSG(d.ends.empty(), "white noise %.0f dBFS at %d Hz: \"%s\"", db, rate, d.Keys().c_str());
    }
    Signal tones{rate, {}};
    for (double hz : kRowHz) tones.Tone(hz, 500, -10), tones.Silence(50);
    for (double hz : kColHz) tones.Tone(hz, 500, -10), tones.Silence(50);
    for (double hz : {350.0, 440.0, 480.0, 620.0, 1000.0, 2100.0}) tones.Tone(hz, 500, -10), tones.Silence(50);
    Detections d = Detect(tones);
    CHECK_MSG(d.ends.empty(), "single tones at %d Hz: \"%s\"", rate, d.Keys().c_str());
    // two tones of one group
    Signal pair{rate, {}};
    for (size_t i = 0; i < pair.Samples(500); ++i)
      pair.x.push_back(0.3 * std::sin(2 * kPi * 697 * i / rate) + 0.3 * std::sin(2 * kPi * 770 * i / rate));
    CHECK(Detect(pair).ends.empty());
    for (double peakDb : {-3.0, -20.0}) {
      for (double f0 : {120.0, 175.0, 230.0}) {
        d = Detect(SpeechLike(rate, 20, peakDb, f0));
        CHECK_MSG(d.ends.empty(), "speech-like %.0f dBFS, f0 %.0f Hz, at %d Hz: \"%s\"", peakDb, f0, rate,
                  d.Keys().c_str());
      }
      d = Detect(MusicLike(rate, 20, peakDb));
      CHECK_MSG(d.ends.empty(), "music-like %.0f dBFS at %d Hz: \"%s\"", peakDb, rate, d.Keys().c_str());
    }
  }
  std::printf(
      "    no digit in 10 s of white noise x 3 levels, single tones, 3 x 20 s speech-like and 20 s"
      " music-like x 2 levels, 8/16 kHz\n");
}

void TestDtmfTiming() {
  // the same key twice, 50 ms apart: two presses
  Signal s{8000, {}};
  s.Silence(20), s.Key('5', 80, -10, -10), s.Silence(50), s.Key('5', 80, -10, -10), s.Silence(100);
  CHECK_MSG(Detect(s).Keys() == "55", "\"%s\"", Detect(s).Keys().c_str());
  // a 10 ms drop-out inside a 150 ms tone: one press, lasting it all
  s = Signal{8000, {}};
  s.Silence(20), s.Key('9', 70, -10, -10), s.Silence(10), s.Key('9', 70, -10, -10), s.Silence(100);
  Detections d = Detect(s);
  CHECK_MSG(d.Keys() == "9" && d.ends[0].duration_ms >= 147 && d.ends[0].duration_ms <= 153, "\"%s\" %u ms",
            d.Keys().c_str(), d.ends.empty() ? 0 : d.ends[0].duration_ms);
  // one key straight after another, no pause
  s = Signal{8000, {}};
  s.Silence(20), s.Key('1', 80, -10, -10), s.Key('2', 80, -10, -10), s.Key('#', 80, -10, -10), s.Silence(100);
  d = Detect(s);
  CHECK_MSG(d.Keys() == "12#", "\"%s\"", d.Keys().c_str());
  // held for 3 s: one start as soon as confirmed, one end with the full length
  s = Signal{16000, {}};
  s.Silence(20), s.Key('D', 3000, -10, -10), s.Silence(100);
  d = Detect(s);
  CHECK(d.Keys() == "D" && d.starts.size() == 1);
  if (d.ends.size() == 1)
    CHECK_MSG(std::abs(static_cast<int>(d.ends[0].duration_ms) - 3000) <= 3, "%u", d.ends[0].duration_ms);
  if (d.starts.size() == 1) CHECK_MSG(d.starts[0].duration_ms <= 50, "confirmed after %u ms", d.starts[0].duration_ms);
  // the stream ends during a key: Flush() reports it
  s = Signal{8000, {}};
  s.Silence(20), s.Key('7', 100, -10, -10);
  CHECK(Detect(s).Keys() == "7");
  // noisy line: 10 dB SNR per tone
  s = AllKeys(8000, 60, ToneDb(-20), ToneDb(-20));
  s.AddNoise(ToneDb(-20) - 10, 11);
  d = Detect(s);
  CHECK_MSG(d.Keys() == kKeys, "10 dB SNR: \"%s\"", d.Keys().c_str());
  // how audio is cut into calls does not matter
  Signal all = AllKeys(8000, 60, -12, -12, 5);
  std::string ref = Detect(all, nullptr, 160).Keys();
  for (size_t chunk : {1, 7, 34, 80, 1000}) CHECK_MSG(Detect(all, nullptr, chunk).Keys() == ref, "chunk %zu", chunk);
}

void TestDtmfParams() {
  rms::DtmfParams p = rms::DtmfGoertzel::DefaultParams();
  CHECK(rms::DtmfGoertzel::ValidParams(p));
  CHECK(p.min_level_dbfs == -33 && p.normal_twist_db == 8 && p.reverse_twist_db == 4);
  CHECK(p.min_duration_ms == 35 && p.release_ms == 25);
  rms::DtmfGoertzel g(8000);
  auto bad = [&](void (*mutate)(rms::DtmfParams&)) {
    rms::DtmfParams q = rms::DtmfGoertzel::DefaultParams();
    mutate(q);
    return !g.SetParams(q) && g.params().min_duration_ms == 35 && g.params().normal_twist_db == 8;
  };
  CHECK(bad([](rms::DtmfParams& q) { q.normal_twist_db = NAN; }));
  CHECK(bad([](rms::DtmfParams& q) { q.reverse_twist_db = 30; }));
  CHECK(bad([](rms::DtmfParams& q) { q.min_level_dbfs = 3; }));
  CHECK(bad([](rms::DtmfParams& q) { q.min_duration_ms = 5; }));
  CHECK(bad([](rms::DtmfParams& q) { q.release_ms = 500; }));
  CHECK(!g.SetRate(11025) && g.rate() == 8000);
  CHECK(g.SetRate(16000) && g.rate() == 16000);
  // a longer minimum duration rejects what the default accepts
  p.min_duration_ms = 50;
  CHECK(Detect(AllKeys(8000, 40, -10, -10), &p).ends.empty());
  CHECK(Detect(AllKeys(8000, 60, -10, -10), &p).Keys() == kKeys);
}

// The filter, with its Process() driven by hand (no ticker): pass-through,
// events, methods, the no-input flush, an unlinked output.
struct FilterEvents {
  std::vector<rms::DtmfEvent> starts, ends;
};
void OnFilterEvent(void* user, MSFilter*, unsigned int id, void* arg) {
  auto* ev = static_cast<FilterEvents*>(user);
  if (id == RMS_DTMF_DETECT_EVENT) ev->ends.push_back(*static_cast<rms::DtmfEvent*>(arg));
  if (id == RMS_DTMF_DETECT_START) ev->starts.push_back(*static_cast<rms::DtmfEvent*>(arg));
}

// Puts `pcm` into the filter's input in blocks of `block` bytes (odd sizes
// allowed) and runs Process once per block.
void PushBytes(MSFilter* f, const std::vector<int16_t>& pcm, size_t block) {
  const auto* bytes = reinterpret_cast<const uint8_t*>(pcm.data());
  size_t len = pcm.size() * 2;
  for (size_t off = 0; off < len; off += block) {
    size_t n = std::min(block, len - off);
    // two chained parts, the first of odd length when possible
    size_t first = n > 1 ? n / 2 | 1 : n;
    if (first > n) first = n;
    mblk_t* m = allocb(first, 0);
    std::memcpy(m->b_wptr, bytes + off, first);
    m->b_wptr += first;
    if (n > first) {
      mblk_t* c = allocb(n - first, 0);
      std::memcpy(c->b_wptr, bytes + off + first, n - first);
      c->b_wptr += n - first;
      m->b_cont = c;
    }
    ms_queue_put(f->inputs[0], m);
    f->desc->process(f);
  }
}

void TestDtmfFilter() {
  CHECK(rms::FindOwnFilter("RmsDtmfDetect") == &rms_dtmf_detect_desc);
  CHECK_CONTAINS(rms::OwnFilterNames(), "RmsDtmfDetect");
  const rms::MethodInfo* m = rms::FindMethod(RMS_DTMF_DETECT_SET_PARAMS);
  CHECK(m && m->kind == rms::ArgKind::Bytes && m->bytes == sizeof(rms::DtmfParams));
  m = rms::FindMethod(RMS_DTMF_DETECT_GET_PARAMS);
  CHECK(m && m->kind == rms::ArgKind::BytesOut);

  MSFilter* src = Make(&kSourceDesc);
  MSFilter* det = Make(&rms_dtmf_detect_desc);
  MSFilter* sink = Make(&kSinkDesc);
  CHECK(src && det && sink);
  if (!(src && det && sink)) return;
  CHECK(GetInt(det, MS_FILTER_GET_SAMPLE_RATE) == 8000);
  CHECK(CallInt(det, MS_FILTER_SET_SAMPLE_RATE, 44100) != 0);
  CHECK(CallInt(det, MS_FILTER_SET_SAMPLE_RATE, 16000) == 0);
  CHECK(GetInt(det, MS_FILTER_GET_SAMPLE_RATE) == 16000);
  rms::DtmfParams p{};
  CHECK(ms_filter_call_method(det, RMS_DTMF_DETECT_GET_PARAMS, &p) == 0 && p.min_duration_ms == 35);
  p.min_duration_ms = 30;
  CHECK(ms_filter_call_method(det, RMS_DTMF_DETECT_SET_PARAMS, &p) == 0);
  p.release_ms = 0;
  CHECK(ms_filter_call_method(det, RMS_DTMF_DETECT_SET_PARAMS, &p) != 0);
  rms::DtmfParams q{};
  ms_filter_call_method(det, RMS_DTMF_DETECT_GET_PARAMS, &q);
  CHECK(q.min_duration_ms == 30 && q.release_ms == 25);

  FilterEvents events;
  ms_filter_add_notify_callback(det, OnFilterEvent, &events, TRUE);
  ms_filter_link(src, 0, det, 0);
  ms_filter_link(det, 0, sink, 0);
  CHECK(rms::CheckRunnable(src).empty());

  Signal s{16000, {}};
  s.Silence(20), s.Key('1', 60, -10, -10), s.Silence(60), s.Key('#', 100, -20, -20), s.Silence(60);
  std::vector<int16_t> pcm = s.Pcm();
  det->desc->preprocess(det);
  PushBytes(det, pcm, 321);  // odd: samples straddle message blocks
  CHECK_MSG(events.ends.size() == 2 && events.ends[0].digit == '1' && events.ends[1].digit == '#', "%zu events",
            events.ends.size());
  CHECK(events.starts.size() == 2);
  if (events.ends.size() == 2)
    CHECK_MSG(std::abs(static_cast<int>(events.ends[1].duration_ms) - 100) <= 3, "%u ms", events.ends[1].duration_ms);
  // the audio went through unchanged
  std::vector<uint8_t> out;
  while (mblk_t* o = ms_queue_get(det->outputs[0])) {
    for (mblk_t* b = o; b; b = b->b_cont) out.insert(out.end(), b->b_rptr, b->b_wptr);
    freemsg(o);
  }
  CHECK(out.size() == pcm.size() * 2 && std::memcmp(out.data(), pcm.data(), out.size()) == 0);

  // a key held when input stops ends after 100 ms without audio
  events = FilterEvents();
  s = Signal{16000, {}};
  s.Key('6', 80, -10, -10);
  PushBytes(det, s.Pcm(), 640);
  CHECK(events.ends.empty());
  for (int tick = 0; tick < 9; ++tick) det->desc->process(det);
  CHECK(events.ends.empty());
  det->desc->process(det);
  CHECK_MSG(events.ends.size() == 1 && events.ends[0].digit == '6', "%zu events", events.ends.size());
  ms_queue_flush(det->outputs[0]);

  // output not linked: ms2 would abort attaching such a graph, so the graph
  // check refuses it; driven by hand, the filter frees its input
  ms_filter_unlink(det, 0, sink, 0);
  CHECK(det->outputs[0] == nullptr);
  CHECK_CONTAINS(rms::CheckRunnable(src), "output pin 0 of filter RmsDtmfDetect is not linked");
  events = FilterEvents();
  s = Signal{16000, {}};
  s.Key('*', 100, -10, -10);
  PushBytes(det, s.Pcm(), 640);
  // detaching (postprocess) ends the key still held
  det->desc->postprocess(det);
  CHECK(events.ends.size() == 1 && events.ends[0].digit == '*');

  ms_filter_unlink(src, 0, det, 0);
  for (MSFilter* f : {src, det, sink}) ms_filter_destroy(f);
}

// RmsLevelMeter's core: 200 ms blocks, dBm0 from a full-scale sine (+3.17),
// speech blocks above -50 dBm0 only, blocks split across frames of any size.
void TestLevelMeter() {
  rms::LevelMeter m(8000);
  std::vector<int16_t> frame(160);
  auto tone = [&](double dbfs, int frames, size_t chunk) {
    static double phase = 0;
    double amp = 32767.0 * std::pow(10.0, dbfs / 20.0);
    for (int k = 0; k < frames; k++) {
      for (auto& x : frame) {
        x = static_cast<int16_t>(std::lround(amp * std::sin(phase)));
        phase += 2 * M_PI * 1000.0 / 8000.0;
      }
      for (size_t off = 0; off < frame.size(); off += chunk)
        m.Add(frame.data() + off, std::min(chunk, frame.size() - off));
    }
  };
  CHECK(m.Snapshot().blocks == 0);
  tone(0, 9, 160);  // 180 ms: no complete block yet
  CHECK(m.Snapshot().blocks == 0);
  tone(0, 1, 160);
  rms::LevelSnapshot s = m.Snapshot();
  CHECK(s.blocks == 1 && s.speechBlocks == 1);
  double db = rms::LevelMeter::PowerToDbm0(s.lastPower);
  CHECK_MSG(std::fabs(db - 3.17) < 0.05, "full-scale sine %.2f dBm0", db);
  tone(-30, 10, 37);  // odd chunk sizes
  s = m.Snapshot();
  db = rms::LevelMeter::PowerToDbm0(s.lastPower);
  CHECK_MSG(s.blocks == 2 && std::fabs(db - (3.17 - 30)) < 0.05, "-30 dBFS sine %.2f dBm0", db);
  tone(-60, 10, 160);  // below the speech threshold
  s = m.Snapshot();
  CHECK(s.blocks == 3 && s.speechBlocks == 2);
  CHECK_MSG(std::fabs(rms::LevelMeter::PowerToDbm0(s.minPower) - (3.17 - 60)) < 0.1, "min %.2f",
            rms::LevelMeter::PowerToDbm0(s.minPower));
  double speech = rms::LevelMeter::PowerToDbm0(s.speechPowerSum / s.speechBlocks);
  double expect = 10 * std::log10((1.0 + 1e-3) / 2) + 3.17;
  CHECK_MSG(std::fabs(speech - expect) < 0.05, "speech level %.2f, expected %.2f", speech, expect);
  m.Reset();
  CHECK(m.Snapshot().blocks == 0 && m.Snapshot().speechBlocks == 0);
  std::vector<int16_t> silence(1600, 0);
  m.Add(silence.data(), silence.size());
  s = m.Snapshot();
  CHECK(s.blocks == 1 && s.speechBlocks == 0 && s.lastPower == 0);
}

// ---------------------------------------------------------------------------
// The receive gate on a real ticker and real UDP: every packet arrives, the
// socket is read only when it has data, and the latch rules hold.
// ---------------------------------------------------------------------------
int UdpSender() {
  int fd = socket(AF_INET, SOCK_DGRAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a));
  return fd;
}

int PortOf(int fd) {
  sockaddr_in a{};
  socklen_t len = sizeof(a);
  getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  return ntohs(a.sin_port);
}

// One 20 ms PCMU packet (RTP header + 160 bytes) to 127.0.0.1:port.
void SendRtp(int fd, int port, uint16_t seq) {
  uint8_t p[12 + 160];
  std::memset(p, 0xff, sizeof(p));
  p[0] = 0x80;
  p[1] = 0;  // PCMU
  p[2] = static_cast<uint8_t>(seq >> 8);
  p[3] = static_cast<uint8_t>(seq);
  uint32_t ts = htonl(1000u + seq * 160u);
  uint32_t ssrc = htonl(0x1234abcdu);  // one SSRC for every sender: only the latch tells them apart
  std::memcpy(p + 4, &ts, 4);
  std::memcpy(p + 8, &ssrc, 4);
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  to.sin_port = htons(static_cast<uint16_t>(port));
  sendto(fd, p, sizeof(p), 0, reinterpret_cast<sockaddr*>(&to), sizeof(to));
}

// explicitPorts: bound to a port we name (the gate may connect() the
// socket); otherwise the kernel chooses (port 0, and oRTP's -1 too) and the
// gate must not: disconnecting would unbind it.
void RecvGateCase(bool explicitPorts) {
  std::printf("    %s ports\n", explicitPorts ? "explicit" : "kernel-chosen");
  RtpSession* session = rtp_session_new(RTP_SESSION_RECVONLY);
  rtp_session_set_scheduling_mode(session, 0);
  rtp_session_set_blocking_mode(session, 0);
  rtp_session_set_profile(session, &av_profile);
  rtp_session_set_payload_type(session, 0);
  rtp_session_enable_jitter_buffer(session, FALSE);
  rms::InstallRecvGate(session);
  int asked = 0;
  if (explicitPorts) {  // a port free a moment ago
    int probe = UdpSender();
    asked = PortOf(probe);
    close(probe);
  }
  CHECK(rtp_session_set_local_addr(session, "127.0.0.1", asked, explicitPorts ? asked + 1 : 0) == 0);
  rms::SetGateMayConnect(session, explicitPorts, explicitPorts);
  rms::ApplyLatch(session, rms::LatchMode::kOpen);
  const int port = rtp_session_get_local_port(session);

  MSFilter* recv = ms_factory_create_filter(g_factory, MS_RTP_RECV_ID);
  ms_filter_call_method(recv, MS_RTP_RECV_SET_SESSION, session);
  MSFilter* sink = Make(&kSinkDesc);
  ms_filter_link(recv, 0, sink, 0);
  auto* got = static_cast<SinkState*>(sink->data);
  MSTicker* ticker = ms_ticker_new();
  const int a = UdpSender(), b = UdpSender();
  uint16_t seq = 0;
  {
    rms::TickStats stats(ticker);
    ms_ticker_attach(ticker, recv);
    auto packets = [&]() {
      ms_mutex_lock(&ticker->lock);
      size_t n = got->packets;
      ms_mutex_unlock(&ticker->lock);
      return n;
    };
    auto pace = [] { std::this_thread::sleep_for(std::chrono::milliseconds(20)); };

    // oRTP keeps the first packet of a stream to itself
    SendRtp(a, port, ++seq);
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    size_t first = packets();
    const uint64_t ticks0 = stats.Snapshot().ticks, reads0 = stats.poller().reads(),
                   skipped0 = stats.poller().skipped();
    // open: 25 packets at 20 ms, then 300 ms of silence
    for (int i = 0; i < 25; ++i, pace()) SendRtp(a, port, ++seq);
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    size_t n = packets() - first;
    auto t = stats.Snapshot();
    t.ticks -= ticks0;
    uint64_t reads = stats.poller().reads() - reads0, skipped = stats.poller().skipped() - skipped0;
    std::printf("    open: %zu packets, %llu ticks, %llu socket reads, %llu skipped\n", n,
                static_cast<unsigned long long>(t.ticks), static_cast<unsigned long long>(reads),
                static_cast<unsigned long long>(skipped));
    CHECK_MSG(n == 25, "%zu packets", n);
    // each packet: its read and the read that finds the socket empty
    CHECK_MSG(reads <= 2 * 25 + 2, "%llu reads", static_cast<unsigned long long>(reads));
    // without the gate every tick reads RTP and RTCP once at least
    CHECK_MSG(reads + skipped >= t.ticks, "reads %llu + skipped %llu < ticks %llu",
              static_cast<unsigned long long>(reads), static_cast<unsigned long long>(skipped),
              static_cast<unsigned long long>(t.ticks));
    CHECK_MSG(skipped > reads, "skipped %llu", static_cast<unsigned long long>(skipped));

    // strict: only the remote; b sends too, same SSRC, in sequence
    ms_mutex_lock(&ticker->lock);
    rtp_session_set_remote_addr(session, "127.0.0.1", PortOf(a));
    rms::ApplyLatch(session, rms::LatchMode::kStrict);
    ms_mutex_unlock(&ticker->lock);
    size_t before = packets();
    for (int i = 0; i < 10; ++i, pace()) {
      SendRtp(b, port, ++seq);
      SendRtp(a, port, ++seq);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    n = packets() - before;
    CHECK_MSG(n == 10, "strict: %zu packets (10 from the remote, 10 from another source)", n);

    // once: the first source heard (b), then only it
    ms_mutex_lock(&ticker->lock);
    rms::ApplyLatch(session, rms::LatchMode::kOnce);
    ms_mutex_unlock(&ticker->lock);
    before = packets();
    SendRtp(b, port, ++seq);
    pace();
    for (int i = 0; i < 10; ++i, pace()) {
      SendRtp(a, port, ++seq);
      SendRtp(b, port, ++seq);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    n = packets() - before;
    CHECK_MSG(n == 11, "once: %zu packets (11 from the first source, 10 from another)", n);

    // open again: both
    ms_mutex_lock(&ticker->lock);
    rms::ApplyLatch(session, rms::LatchMode::kOpen);
    ms_mutex_unlock(&ticker->lock);
    before = packets();
    for (int i = 0; i < 10; ++i, pace()) {
      SendRtp(a, port, ++seq);
      SendRtp(b, port, ++seq);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    n = packets() - before;
    CHECK_MSG(n == 20, "open: %zu packets of 20 (latch changes must not unbind the socket)", n);

    ms_ticker_detach(ticker, recv);
    ms_ticker_destroy(ticker);  // joins the thread before stats goes away
  }
  close(a);
  close(b);
  ms_filter_unlink(recv, 0, sink, 0);
  ms_filter_destroy(recv);
  ms_filter_destroy(sink);
  rtp_session_destroy(session);  // destroys the gate's transports
}

void TestRecvGate() {
  RecvGateCase(true);
  RecvGateCase(false);
}

// ---------------------------------------------------------------------------
// RxQuality: loss decided after the reorder window, A.2, RFC 3550 jitter
// ---------------------------------------------------------------------------

std::vector<uint8_t> RtpHeader(uint16_t seq, uint32_t ts, uint32_t ssrc = 0x1234, int pt = 0) {
  std::vector<uint8_t> h(12 + 160, 0xd5);
  h[0] = 0x80;
  h[1] = static_cast<uint8_t>(pt);
  h[2] = seq >> 8;
  h[3] = seq & 0xff;
  for (int i = 0; i < 4; ++i) h[4 + i] = static_cast<uint8_t>(ts >> (24 - 8 * i));
  for (int i = 0; i < 4; ++i) h[8 + i] = static_cast<uint8_t>(ssrc >> (24 - 8 * i));
  return h;
}

void TestRxQuality() {
  {
    // 1000 packets, every 10th lost, 2 reordered, 3 duplicated; arrivals on time
    rms::RxQuality q;
    q.Configure(8000, 0, 16);
    std::vector<uint16_t> order;
    for (int i = 0; i < 1000; ++i)
      if (i % 10 != 5) order.push_back(static_cast<uint16_t>(65000 + i));  // wraps through 0
    std::swap(order[100], order[101]);
    std::swap(order[300], order[302]);
    order.insert(order.begin() + 400, order[399]);
    order.insert(order.begin() + 500, order[499]);
    order.insert(order.begin() + 600, order[599]);
    int64_t t = 0;
    for (uint16_t seq : order) {
      auto h = RtpHeader(seq, static_cast<uint32_t>(seq - 65000) * 160u);
      q.OnPacket(h.data(), h.size(), t);
      t += 20000000;
    }
    rms::RxQualitySnapshot s = q.Snapshot();
    CHECK_MSG(s.expected == 1000, "expected %llu", (unsigned long long)s.expected);
    CHECK_MSG(s.lost == 100, "lost %llu", (unsigned long long)s.lost);
    CHECK_MSG(s.duplicates == 3, "duplicates %llu", (unsigned long long)s.duplicates);
    // 101 after 100; 301 and 300 after 302
    CHECK_MSG(s.reordered == 3, "reordered %llu", (unsigned long long)s.reordered);
    // isolated losses 10 apart (< Gmin 16): one long burst by A.2, density 1/10
    rms::BurstGapFigures f = rms::A2Figures(s.a2.c11, s.a2.c13, s.a2.c14, s.a2.c22, s.a2.c23, s.a2.c33, 20);
    CHECK_MSG(std::fabs(f.burstDensity - 0.1) < 0.01, "burst density %f", f.burstDensity);
    CHECK(s.rl == 100 && s.lr == 100 && s.ll == 0);
  }
  {
    // losses 20 apart (>= Gmin): all gap, no burst (the first loss after 16
    // packets: A.2 starts with no received packet before the stream)
    rms::RxQuality q;
    q.Configure(8000, 0, 16);
    for (int i = 0; i < 2000; ++i)
      if (i < 20 || i % 20 != 10) {
        auto h = RtpHeader(static_cast<uint16_t>(i), static_cast<uint32_t>(i) * 160u);
        q.OnPacket(h.data(), h.size(), static_cast<int64_t>(i) * 20000000);
      }
    rms::RxQualitySnapshot s = q.Snapshot();
    rms::BurstGapFigures f = rms::A2Figures(s.a2.c11, s.a2.c13, s.a2.c14, s.a2.c22, s.a2.c23, s.a2.c33, 20);
    CHECK_MSG(f.burstDensity == 0 && std::fabs(f.gapDensity - 0.05) < 0.002, "%f %f", f.burstDensity, f.gapDensity);
  }
  {
    // jitter: arrivals alternate 0 / +8 ms off their 20 ms grid: |D| = 8 ms = 64 ts units, J -> 64
    rms::RxQuality q;
    q.Configure(8000, 0, 16);
    for (int i = 0; i < 400; ++i) {
      auto h = RtpHeader(static_cast<uint16_t>(i), static_cast<uint32_t>(i) * 160u);
      q.OnPacket(h.data(), h.size(), static_cast<int64_t>(i) * 20000000 + (i % 2 ? 8000000 : 0));
    }
    rms::RxQualitySnapshot s = q.Snapshot();
    CHECK_MSG(std::fabs(s.jitter - 64) < 0.5, "jitter %f", s.jitter);
    rms::RxInterval iv = q.TakeInterval();
    CHECK(iv.any && iv.haveJitter && iv.jitterMin == 64 && iv.jitterMax == 64 && iv.jitterDev == 0);
    CHECK(!q.TakeInterval().any);  // nothing new since
  }
  {
    // a telephone-event packet does not enter the jitter; a short or non-RTP datagram is ignored
    rms::RxQuality q;
    q.Configure(8000, 0, 16);
    uint8_t junk[8] = {0x80, 0, 0, 1, 0, 0, 0, 0};
    q.OnPacket(junk, sizeof(junk), 0);
    auto te = RtpHeader(1, 0, 0x1234, 101);
    q.OnPacket(te.data(), te.size(), 0);
    auto a = RtpHeader(2, 160);
    q.OnPacket(a.data(), a.size(), 20000000);
    rms::RxQualitySnapshot s = q.Snapshot();
    CHECK(s.received == 2 && s.jitterPackets == 0);
  }
}

void TestXrFill() {
  // SR (28 bytes) + XR with a stat summary and a VoIP metrics block
  std::vector<uint8_t> b(28 + 8 + 40 + 36, 0);
  b[0] = 0x80;
  b[1] = 200;
  b[3] = 6;  // (28 / 4) - 1
  uint8_t* xr = b.data() + 28;
  xr[0] = 0x80;
  xr[1] = 207;
  xr[3] = (8 + 40 + 36) / 4 - 1;
  uint8_t* st = xr + 8;
  st[0] = 6;
  st[1] = 0xe0;  // loss, dup, jitter
  st[3] = 9;
  uint8_t* vm = st + 40;
  vm[0] = 7;
  vm[3] = 8;
  vm[28] = 0x80;  // PLC enhanced as oRTP wrote it
  rms::XrVoipFill v;
  v.lossRate = rms::Rfc3611Fraction(0.0521);
  v.burstDensity = rms::Rfc3611Fraction(0.2);
  v.burstDurationMs = 263;
  v.rFactor = 77;
  v.mosCq = 39;
  v.plc = 3;
  v.jba = 3;
  v.setJb = true;
  v.jbNominal = 40;
  v.jbMaximum = 40;
  v.jbAbsMax = 300;
  rms::XrStatFill f;
  f.beginSeq = 10;
  f.endSeq = 60;
  f.lost = 5;
  f.haveJitter = true;
  f.jitterMax = 90;
  CHECK(rms::FillXr(b.data(), b.size(), &v, &f) == 2);
  CHECK_MSG(vm[8] == 13, "loss %d", vm[8]);  // 0.0521 x 256 = 13.3 -> 13
  CHECK(vm[10] == 51 && vm[12] == 1 && vm[13] == 7 && vm[24] == 77 && vm[25] == 127 && vm[27] == 39);
  CHECK(vm[28] == 0xf0 && vm[30] == 0 && vm[31] == 40 && vm[34] == 1 && vm[35] == 44);
  CHECK(st[9] == 10 && st[11] == 60 && st[15] == 5 && st[27] == 90);
  CHECK(rms::Rfc3611Fraction(1.5) == 255 && rms::Rfc3611Fraction(-1) == 0);
  // a length running past the buffer: nothing is written beyond it
  std::vector<uint8_t> bad = b;
  bad[28 + 3] = 200;
  std::vector<uint8_t> before = bad;
  CHECK(rms::FillXr(bad.data(), bad.size(), &v, &f) == 0);
  CHECK(bad == before);
  CHECK(rms::FillXr(b.data(), 3, &v, &f) == 0);
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
    {"dtmf_all_keys", TestDtmfAllKeys},
    {"dtmf_too_short_or_weak", TestDtmfTooShortOrWeak},
    {"dtmf_twist_and_frequency", TestDtmfTwist},
    {"dtmf_no_false_detections", TestDtmfNoFalseDetections},
    {"dtmf_timing", TestDtmfTiming},
    {"dtmf_params", TestDtmfParams},
    {"dtmf_filter", TestDtmfFilter},
    {"level_meter", TestLevelMeter},
    {"recv_gate", TestRecvGate},
    {"rx_quality", TestRxQuality},
    {"xr_fill", TestXrFill},
    {"rtcp_check", rms_test::TestRtcpCheck},
    {"rtcp_garbage_through_ortp", rms_test::TestRtcpGarbageThroughOrtp},
    {"rtcp_flood", rms_test::TestRtcpFlood},
    {"settings_posted", rms_test::TestSettingsPosted},
    {"forward_stream_stats", rms_test::TestForwardStreamStats},
    {"forward_latch", rms_test::TestForwardLatch},
    {"forward_telephone_events", rms_test::TestForwardTelephoneEvents},
    {"forward_pt_rules", rms_test::TestForwardPtRules},
    {"forward_plane", rms_test::TestForwardPlane},
    {"forward_stop_under_load", rms_test::TestForwardStopUnderLoad},
    {"forward_handback", rms_test::TestForwardHandback},
    {"frame_ring", rms_test::TestFrameRing},
    {"inject_queue", rms_test::TestInjectQueue},
    {"audio_join", rms_test::TestAudioJoin},
    {"voice_detect", rms_test::TestVoiceDetect},
    {"stream_filters", rms_test::TestStreamFilters},
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
