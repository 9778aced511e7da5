#include "codec2.h"

#include <codec2/codec2.h>

#include <climits>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <memory>
#include <vector>

#include "codec2_detect.h"
#include "codec2_link.h"

namespace rms {

namespace {

constexpr int kRate = 8000;
constexpr int kDefaultMode = CODEC2_MODE_2400;  // what peers assume without fmtp

struct ModeInfo {
  int mode;
  int bps;
};
constexpr ModeInfo kModes[] = {
    {CODEC2_MODE_3200, 3200}, {CODEC2_MODE_2400, 2400}, {CODEC2_MODE_1600, 1600}, {CODEC2_MODE_1400, 1400},
    {CODEC2_MODE_1300, 1300}, {CODEC2_MODE_1200, 1200}, {CODEC2_MODE_700C, 700},
};

int BitrateOfMode(int mode) {
  for (const ModeInfo& m : kModes)
    if (m.mode == mode) return m.bps;
  return 0;
}

// Shared by both directions: mode chosen from fmtp, codec state made in
// preprocess (a mode change needs a new state).
struct Codec2State {
  int mode = kDefaultMode;
  CODEC2* c2 = nullptr;
  int samplesPerFrame = 0;
  int bytesPerFrame = 0;
  bool Open() {
    if (c2) return true;
    c2 = codec2_create(mode);
    if (!c2) return false;
    samplesPerFrame = codec2_samples_per_frame(c2);
    bytesPerFrame = codec2_bytes_per_frame(c2);
    return true;
  }
  void Close() {
    if (c2) codec2_destroy(c2);
    c2 = nullptr;
  }
  // A running filter changes mode (it learnt the peer's from the wire).
  bool Reopen(int next) {
    Close();
    mode = next;
    return Open();
  }
  int FrameMs() const {
    // Before Open(): 20 ms for 3200/2400, 40 ms for the lower rates.
    if (samplesPerFrame) return samplesPerFrame * 1000 / kRate;
    return (mode == CODEC2_MODE_3200 || mode == CODEC2_MODE_2400) ? 20 : 40;
  }
};

int SetMode(MSFilter* f, Codec2State* s, void* arg) {
  const char* fmtp = static_cast<const char*>(arg);
  int mode = Codec2ModeFromFmtp(fmtp, s->mode);
  if (mode < 0) {
    ms_error("%s: unsupported fmtp '%s' (modes: 3200 2400 1600 1400 1300 1200 700)", f->desc->name, fmtp);
    return -1;
  }
  if (s->c2 && mode != s->mode) {
    ms_error("%s: mode cannot change while running", f->desc->name);
    return -1;
  }
  s->mode = mode;
  return 0;
}

int GetRate(MSFilter*, void* arg) {
  *static_cast<int*>(arg) = kRate;
  return 0;
}

int SetRate(MSFilter* f, void* arg) {
  if (*static_cast<int*>(arg) == kRate) return 0;
  ms_error("%s: only 8000 Hz is supported", f->desc->name);
  return -1;
}

int GetChannels(MSFilter*, void* arg) {
  *static_cast<int*>(arg) = 1;
  return 0;
}

// ---- encoder ----

struct Encoder {
  Codec2State codec;
  std::shared_ptr<Codec2Link> follow;  // the decoder of the same leg says which mode the peer uses
  MSBufferizer input;
  int ptimeMs = 0;  // 0: one frame per packet
  uint32_t ts = 0;
  std::vector<short> pcm;
};

void EncInit(MSFilter* f) {
  auto* e = new Encoder();
  ms_bufferizer_init(&e->input);
  f->data = e;
}

void EncUninit(MSFilter* f) {
  auto* e = static_cast<Encoder*>(f->data);
  e->codec.Close();
  ms_bufferizer_uninit(&e->input);
  delete e;
}

int FramesPerPacket(const Encoder* e) {
  int frameMs = e->codec.FrameMs();
  int n = e->ptimeMs > 0 ? e->ptimeMs / frameMs : 1;
  return n < 1 ? 1 : n;
}

void EncPreprocess(MSFilter* f) {
  auto* e = static_cast<Encoder*>(f->data);
  const int known = e->follow ? e->follow->mode.load(std::memory_order_relaxed) : -1;
  if (known >= 0) e->codec.mode = known;
  if (!e->codec.Open()) ms_error("codec2_create(%d) failed", e->codec.mode);
  e->pcm.assign(static_cast<size_t>(e->codec.samplesPerFrame), 0);
}

// The peer's decoder runs the mode its own configuration says: send that.
void EncFollow(Encoder* e) {
  const int m = e->follow->mode.load(std::memory_order_relaxed);
  if (m < 0 || m == e->codec.mode) return;
  const int was = BitrateOfMode(e->codec.mode);
  if (!e->codec.Reopen(m)) {
    ms_error("codec2_create(%d) failed", m);
    return;
  }
  e->pcm.assign(static_cast<size_t>(e->codec.samplesPerFrame), 0);
  ms_message("CODEC2 encoder: sending mode %d bps (was %d), the mode the peer sends", BitrateOfMode(m), was);
}

void EncProcess(MSFilter* f) {
  auto* e = static_cast<Encoder*>(f->data);
  if (e->follow) EncFollow(e);
  if (!e->codec.c2) {
    ms_queue_flush(f->inputs[0]);
    return;
  }
  ms_bufferizer_put_from_queue(&e->input, f->inputs[0]);
  const int frames = FramesPerPacket(e);
  const size_t frameBytesIn = static_cast<size_t>(e->codec.samplesPerFrame) * 2;
  while (ms_bufferizer_get_avail(&e->input) >= frameBytesIn * frames) {
    mblk_t* om = allocb(static_cast<size_t>(e->codec.bytesPerFrame) * frames, 0);
    for (int i = 0; i < frames; ++i) {
      ms_bufferizer_read(&e->input, reinterpret_cast<uint8_t*>(e->pcm.data()), frameBytesIn);
      codec2_encode(e->codec.c2, om->b_wptr, e->pcm.data());
      om->b_wptr += e->codec.bytesPerFrame;
    }
    mblk_set_timestamp_info(om, e->ts);
    e->ts += static_cast<uint32_t>(e->codec.samplesPerFrame * frames);
    ms_queue_put(f->outputs[0], om);
  }
}

void EncPostprocess(MSFilter* f) {
  auto* e = static_cast<Encoder*>(f->data);
  ms_bufferizer_flush(&e->input);
}

int EncAddFmtp(MSFilter* f, void* arg) {
  auto* e = static_cast<Encoder*>(f->data);
  // Also honour ptime given as an fmtp parameter (as ms2 does for others).
  char value[16];
  if (fmtp_get_value(static_cast<const char*>(arg), "ptime", value, sizeof(value))) e->ptimeMs = std::atoi(value);
  return SetMode(f, &e->codec, arg);
}

int EncSetPtime(MSFilter* f, void* arg) {
  auto* e = static_cast<Encoder*>(f->data);
  int want = *static_cast<int*>(arg);
  int frameMs = e->codec.FrameMs();
  if (want < frameMs || want % frameMs != 0 || want > 120) {
    ms_error("%s: ptime %d is not a multiple of the %d ms frame (max 120)", f->desc->name, want, frameMs);
    return -1;
  }
  e->ptimeMs = want;
  return 0;
}

int EncGetPtime(MSFilter* f, void* arg) {
  auto* e = static_cast<Encoder*>(f->data);
  *static_cast<int*>(arg) = e->codec.FrameMs() * FramesPerPacket(e);
  return 0;
}

int EncSetBitrate(MSFilter* f, void* arg) {
  // MS_FILTER_SET_BITRATE carries the network bitrate; accept a codec rate.
  auto* e = static_cast<Encoder*>(f->data);
  int mode = Codec2ModeForBitrate(*static_cast<int*>(arg));
  if (mode < 0 || (e->codec.c2 && mode != e->codec.mode)) return -1;
  e->codec.mode = mode;
  return 0;
}

int EncSetLink(MSFilter* f, void* arg) {
  static_cast<Encoder*>(f->data)->follow = Codec2LinkFor(*static_cast<int*>(arg));
  return 0;
}

int EncGetBitrate(MSFilter* f, void* arg) {
  *static_cast<int*>(arg) = BitrateOfMode(static_cast<Encoder*>(f->data)->codec.mode);
  return 0;
}

MSFilterMethod kEncMethods[] = {
    {MS_FILTER_ADD_FMTP, EncAddFmtp},          {MS_FILTER_SET_SAMPLE_RATE, SetRate},
    {MS_FILTER_GET_SAMPLE_RATE, GetRate},      {MS_FILTER_GET_NCHANNELS, GetChannels},
    {MS_FILTER_SET_BITRATE, EncSetBitrate},    {MS_FILTER_GET_BITRATE, EncGetBitrate},
    {MS_AUDIO_ENCODER_SET_PTIME, EncSetPtime}, {MS_AUDIO_ENCODER_GET_PTIME, EncGetPtime},
    {RMS_CODEC2_SET_LINK, EncSetLink},         {0, nullptr},
};

// ---- decoder ----
//
// The mode comes from the wire (codec2_detect.h): the first packets are held
// (at most kMaxHeld) until their sizes and timestamps name a mode, then
// decoded in it. What the SDP said, or the server's default, is only the
// guess when the packets cannot tell; a peer that turns out to send another
// mode is logged once at warning level. A payload that later stops fitting
// the mode (kRedetectAfter in a row) starts the detection again.

constexpr size_t kMaxHeld = 3;
constexpr int kRedetectAfter = 3;

struct Decoder {
  Codec2State codec;
  int assumed = kDefaultMode;  // what the SDP or the default said, for the warning
  bool decided = false;
  bool sure1400 = false;  // a 1300 guess is corrected once a frame uses all 56 bits
  Codec2Detector detect;
  std::deque<mblk_t*> held;
  std::shared_ptr<Codec2Link> link;
  bool warned = false;
  int misfits = 0;
  // the previous packet, for the timestamp step of a decided stream
  bool haveLast = false;
  uint16_t lastSeq = 0;
  uint32_t lastTs = 0;
  uint64_t badPackets = 0;
};

void DecInit(MSFilter* f) { f->data = new Decoder(); }

void DecDropHeld(Decoder* d) {
  for (mblk_t* m : d->held) freemsg(m);
  d->held.clear();
}

void DecUninit(MSFilter* f) {
  auto* d = static_cast<Decoder*>(f->data);
  DecDropHeld(d);
  d->codec.Close();
  delete d;
}

void DecPreprocess(MSFilter* f) {
  auto* d = static_cast<Decoder*>(f->data);
  d->assumed = d->codec.mode;
  // A graph rebuilt on a live leg starts in what the previous one learnt.
  const int known = d->link ? d->link->mode.load(std::memory_order_relaxed) : -1;
  if (known >= 0) {
    d->codec.mode = known;
    d->decided = true;
  }
  if (!d->codec.Open()) ms_error("codec2_create(%d) failed", d->codec.mode);
}

void DecWarnOnce(Decoder* d, int mode) {
  if (mode == d->assumed || d->warned) return;
  d->warned = true;
  if (d->link && d->link->warned.exchange(true)) return;
  ms_warning("CODEC2 decoder: the peer sends mode %d bps, not the %d bps assumed (SDP or default); decoding %d",
             BitrateOfMode(mode), BitrateOfMode(d->assumed), BitrateOfMode(mode));
}

void DecSettle(Decoder* d, int mode) {
  d->decided = true;
  d->misfits = 0;
  if (mode != d->codec.mode && !d->codec.Reopen(mode)) ms_error("codec2_create(%d) failed", mode);
  if (d->link) d->link->mode.store(mode, std::memory_order_relaxed);
  DecWarnOnce(d, mode);
}

void DecDecode(MSFilter* f, Decoder* d, mblk_t* im) {
  const size_t len = static_cast<size_t>(im->b_wptr - im->b_rptr);
  const size_t fb = d->codec.c2 ? static_cast<size_t>(d->codec.bytesPerFrame) : 0;
  // A payload that is not whole frames of our mode (garbage, or a peer that
  // changed mode) would decode into noise: drop it.
  if (fb == 0 || len == 0 || len % fb != 0 || len / fb > 16) {
    if (d->badPackets++ % 250 == 0)
      ms_warning("CODEC2 decoder (mode %d bps): dropped a %u-byte payload that is not whole %u-byte frames",
                 BitrateOfMode(d->codec.mode), static_cast<unsigned>(len), static_cast<unsigned>(fb));
    freemsg(im);
    return;
  }
  const size_t frames = len / fb;
  const size_t spf = static_cast<size_t>(d->codec.samplesPerFrame);
  mblk_t* om = allocb(frames * spf * 2, 0);
  for (size_t i = 0; i < frames; ++i) {
    codec2_decode(d->codec.c2, reinterpret_cast<short*>(om->b_wptr), im->b_rptr + i * fb);
    om->b_wptr += spf * 2;
  }
  mblk_meta_copy(im, om);
  freemsg(im);
  ms_queue_put(f->outputs[0], om);
}

// Whether a packet's payload fits the decoder's mode: whole frames, and as
// many timestamp units per sequence number as those frames hold (so 8-byte
// 3200 frames do not pass for two 700C frames).
bool DecFits(Decoder* d, const mblk_t* im, size_t len) {
  const size_t fb = static_cast<size_t>(d->codec.bytesPerFrame);
  const uint16_t seq = static_cast<uint16_t>(mblk_get_cseq(im));
  const uint32_t ts = mblk_get_timestamp_info(im);
  const uint16_t ds = static_cast<uint16_t>(seq - d->lastSeq);
  const uint32_t dt = ts - d->lastTs;
  const bool stepKnown = d->haveLast && ds >= 1 && ds <= 8 && dt > 0;
  d->haveLast = true;
  d->lastSeq = seq;
  d->lastTs = ts;
  if (fb == 0 || len % fb != 0) return false;
  // (the first packet after a pause of silence suppression misfits once: three in a row re-detect)
  const uint64_t perPacket = static_cast<uint64_t>(len / fb) * static_cast<uint64_t>(d->codec.samplesPerFrame);
  return !stepKnown || static_cast<uint64_t>(dt) == ds * perPacket;
}

// Watches a decided stream: 1300 that proves to be 1400, or a payload that no
// longer fits (the detection starts again).
void DecCheck(Decoder* d, const mblk_t* im) {
  const size_t len = static_cast<size_t>(im->b_wptr - im->b_rptr);
  if (d->codec.mode == CODEC2_MODE_1300 && !d->sure1400 && Codec2Detector::UsesLastNibble(im->b_rptr, len)) {
    d->sure1400 = true;
    ms_message("CODEC2 decoder: frames use all 56 bits: the peer sends 1400, not 1300");
    DecSettle(d, CODEC2_MODE_1400);
    return;
  }
  if (DecFits(d, im, len)) {
    d->misfits = 0;
    return;
  }
  if (++d->misfits >= kRedetectAfter && !Codec2Detector::FitsNoMode(len)) {
    d->decided = false;
    d->detect.Reset();
  }
}

void DecProcess(MSFilter* f) {
  auto* d = static_cast<Decoder*>(f->data);
  mblk_t* im;
  while ((im = ms_queue_get(f->inputs[0])) != nullptr) {
    if (im->b_cont) msgpullup(im, static_cast<size_t>(-1));
    if (d->decided) {
      DecCheck(d, im);
      if (d->decided) {
        DecDecode(f, d, im);
        continue;
      }
    }
    const size_t len = static_cast<size_t>(im->b_wptr - im->b_rptr);
    if (Codec2Detector::FitsNoMode(len)) {
      DecDecode(f, d, im);  // counted and dropped there
      continue;
    }
    int mode = d->detect.Feed(im->b_rptr, len, static_cast<uint16_t>(mblk_get_cseq(im)), mblk_get_timestamp_info(im));
    d->held.push_back(im);
    if (mode < 0 && d->held.size() >= kMaxHeld) mode = Codec2Detector::Guess(len, d->codec.mode);
    if (mode < 0) continue;
    if (mode == CODEC2_MODE_1400) d->sure1400 = true;
    DecSettle(d, mode);
    while (!d->held.empty()) {
      mblk_t* m = d->held.front();
      d->held.pop_front();
      DecDecode(f, d, m);
    }
  }
}

void DecPostprocess(MSFilter* f) { DecDropHeld(static_cast<Decoder*>(f->data)); }

int DecAddFmtp(MSFilter* f, void* arg) { return SetMode(f, &static_cast<Decoder*>(f->data)->codec, arg); }

int DecSetBitrate(MSFilter* f, void* arg) {
  auto* d = static_cast<Decoder*>(f->data);
  int mode = Codec2ModeForBitrate(*static_cast<int*>(arg));
  if (mode < 0 || (d->codec.c2 && mode != d->codec.mode)) return -1;
  d->codec.mode = mode;
  return 0;
}

int DecSetLink(MSFilter* f, void* arg) {
  static_cast<Decoder*>(f->data)->link = Codec2LinkFor(*static_cast<int*>(arg));
  return 0;
}

int DecGetBitrate(MSFilter* f, void* arg) {
  *static_cast<int*>(arg) = BitrateOfMode(static_cast<Decoder*>(f->data)->codec.mode);
  return 0;
}

int DecHavePlc(MSFilter*, void* arg) {
  *static_cast<int*>(arg) = 0;
  return 0;
}

MSFilterMethod kDecMethods[] = {
    {MS_FILTER_ADD_FMTP, DecAddFmtp},
    {MS_FILTER_SET_SAMPLE_RATE, SetRate},
    {MS_FILTER_GET_SAMPLE_RATE, GetRate},
    {MS_FILTER_GET_NCHANNELS, GetChannels},
    {MS_FILTER_SET_BITRATE, DecSetBitrate},
    {MS_FILTER_GET_BITRATE, DecGetBitrate},
    {MS_AUDIO_DECODER_HAVE_PLC, DecHavePlc},
    {RMS_CODEC2_SET_LINK, DecSetLink},
    {0, nullptr},
};

}  // namespace

int Codec2ModeForBitrate(int bps) {
  for (const ModeInfo& m : kModes)
    if (m.bps == bps) return m.mode;
  return -1;
}

int Codec2ModeFromFmtp(const char* fmtp, int fallback) {
  char value[16];
  if (fmtp == nullptr || !fmtp_get_value(fmtp, "mode", value, sizeof(value))) return fallback;
  if (std::strcmp(value, "700C") == 0 || std::strcmp(value, "700c") == 0) return CODEC2_MODE_700C;
  char* end = nullptr;
  long bps = std::strtol(value, &end, 10);
  if (end == value || *end != '\0') return -1;
  // Range check before narrowing: "mode=4294968496" must not wrap to 1200.
  if (bps < INT_MIN || bps > INT_MAX) return -1;
  return Codec2ModeForBitrate(static_cast<int>(bps));
}

}  // namespace rms

extern "C" {

MSFilterDesc rms_codec2_enc_desc = {
    MS_FILTER_PLUGIN_ID,
    "RmsCodec2Enc",
    "Codec2 speech encoder (libcodec2)",
    MS_FILTER_ENCODER,
    "CODEC2",
    1,
    1,
    rms::EncInit,
    rms::EncPreprocess,
    rms::EncProcess,
    rms::EncPostprocess,
    rms::EncUninit,
    rms::kEncMethods,
    0,
};

MSFilterDesc rms_codec2_dec_desc = {
    MS_FILTER_PLUGIN_ID,
    "RmsCodec2Dec",
    "Codec2 speech decoder (libcodec2)",
    MS_FILTER_DECODER,
    "CODEC2",
    1,
    1,
    rms::DecInit,
    rms::DecPreprocess,
    rms::DecProcess,
    rms::DecPostprocess,
    rms::DecUninit,
    rms::kDecMethods,
    0,
};
}
