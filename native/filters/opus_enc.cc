#include "opus_enc.h"

#include <opus.h>

#include <cstdlib>
#include <vector>

namespace rms {
namespace {

constexpr int kRtpClock = 48000;
constexpr int kMaxPacket = 1500;

struct OpusEnc {
  OpusEncoder* st = nullptr;
  int rate = 48000;  // API rate (PCM in)
  int channels = 1;
  int ptimeMs = 20;
  int bitrate = 0;  // 0: chosen from the rate at preprocess
  int maxAverageBitrate = 0;
  int complexity = 5;
  int lossPercent = 0;
  bool fec = false;
  bool dtx = false;
  bool vbr = true;
  MSBufferizer input;
  uint32_t ts = 0;
  std::vector<opus_int16> pcm;
};

OpusEnc* Data(MSFilter* f) { return static_cast<OpusEnc*>(f->data); }

// A bit rate where Opus speech is transparent-ish for the coded bandwidth.
int DefaultBitrate(int rate) {
  if (rate <= 8000) return 16000;
  if (rate <= 16000) return 24000;
  return 32000;
}

int EffectiveBitrate(const OpusEnc* e) {
  int br = e->bitrate > 0 ? e->bitrate : DefaultBitrate(e->rate);
  if (e->maxAverageBitrate > 0 && br > e->maxAverageBitrate) br = e->maxAverageBitrate;
  return br;
}

void Apply(OpusEnc* e) {
  if (!e->st) return;
  opus_encoder_ctl(e->st, OPUS_SET_COMPLEXITY(e->complexity));
  opus_encoder_ctl(e->st, OPUS_SET_BITRATE(EffectiveBitrate(e)));
  opus_encoder_ctl(e->st, OPUS_SET_VBR(e->vbr ? 1 : 0));
  opus_encoder_ctl(e->st, OPUS_SET_INBAND_FEC(e->fec ? 1 : 0));
  opus_encoder_ctl(e->st, OPUS_SET_PACKET_LOSS_PERC(e->lossPercent));
  opus_encoder_ctl(e->st, OPUS_SET_DTX(e->dtx ? 1 : 0));
  opus_encoder_ctl(e->st, OPUS_SET_SIGNAL(OPUS_SIGNAL_VOICE));
}

void Init(MSFilter* f) {
  auto* e = new OpusEnc();
  ms_bufferizer_init(&e->input);
  f->data = e;
}

void Uninit(MSFilter* f) {
  OpusEnc* e = Data(f);
  if (e->st) opus_encoder_destroy(e->st);
  ms_bufferizer_uninit(&e->input);
  delete e;
}

void Preprocess(MSFilter* f) {
  OpusEnc* e = Data(f);
  if (!e->st) {
    int err = 0;
    e->st = opus_encoder_create(e->rate, e->channels, OPUS_APPLICATION_VOIP, &err);
    if (err != OPUS_OK) {
      ms_error("RmsOpusEnc: opus_encoder_create(%d, %d) failed: %s", e->rate, e->channels, opus_strerror(err));
      e->st = nullptr;
      return;
    }
  }
  Apply(e);
  e->pcm.assign(static_cast<size_t>(e->rate / 1000 * e->ptimeMs * e->channels), 0);
}

void ProcessLocked(MSFilter* f);

// Methods run on the main thread while Process runs on the ticker: both hold
// the filter lock (libopus encoders are not thread-safe).
void Process(MSFilter* f) {
  ms_filter_lock(f);
  ProcessLocked(f);
  ms_filter_unlock(f);
}

void ProcessLocked(MSFilter* f) {
  OpusEnc* e = Data(f);
  if (!e->st) {
    ms_queue_flush(f->inputs[0]);
    return;
  }
  ms_bufferizer_put_from_queue(&e->input, f->inputs[0]);
  const int frameSamples = e->rate / 1000 * e->ptimeMs;
  const size_t frameBytes = static_cast<size_t>(frameSamples * e->channels) * 2;
  while (ms_bufferizer_get_avail(&e->input) >= frameBytes) {
    ms_bufferizer_read(&e->input, reinterpret_cast<uint8_t*>(e->pcm.data()), frameBytes);
    mblk_t* om = allocb(kMaxPacket, 0);
    opus_int32 n = opus_encode(e->st, e->pcm.data(), frameSamples, om->b_wptr, kMaxPacket);
    const uint32_t step = static_cast<uint32_t>(e->ptimeMs * (kRtpClock / 1000));
    if (n < 0) {
      ms_error("RmsOpusEnc: opus_encode failed: %s", opus_strerror(n));
      freemsg(om);
    } else if (n <= 2 && e->dtx) {
      // DTX: Opus asks for nothing to be sent for this frame (RFC 7587 3.1.3)
      freemsg(om);
    } else {
      om->b_wptr += n;
      mblk_set_timestamp_info(om, e->ts);
      ms_queue_put(f->outputs[0], om);
    }
    e->ts += step;
  }
}

void Postprocess(MSFilter* f) { ms_bufferizer_flush(&Data(f)->input); }

int SetRate(MSFilter* f, void* arg) {
  int r = *static_cast<int*>(arg);
  if (r != 8000 && r != 12000 && r != 16000 && r != 24000 && r != 48000) return -1;
  OpusEnc* e = Data(f);
  if (e->st && r != e->rate) return -1;  // fixed once running
  e->rate = r;
  return 0;
}

int GetRate(MSFilter* f, void* arg) {
  *static_cast<int*>(arg) = Data(f)->rate;
  return 0;
}

int SetChannels(MSFilter* f, void* arg) {
  int c = *static_cast<int*>(arg);
  OpusEnc* e = Data(f);
  if ((c != 1 && c != 2) || (e->st && c != e->channels)) return -1;
  e->channels = c;
  return 0;
}

int GetChannels(MSFilter* f, void* arg) {
  *static_cast<int*>(arg) = Data(f)->channels;
  return 0;
}

int SetBitrate(MSFilter* f, void* arg) {
  int br = *static_cast<int*>(arg);
  if (br < 6000 || br > 510000) return -1;
  Data(f)->bitrate = br;
  Apply(Data(f));
  return 0;
}

int GetBitrate(MSFilter* f, void* arg) {
  *static_cast<int*>(arg) = EffectiveBitrate(Data(f));
  return 0;
}

int SetPtime(MSFilter* f, void* arg) {
  int p = *static_cast<int*>(arg);
  if (p != 10 && p != 20 && p != 40 && p != 60) return -1;
  OpusEnc* e = Data(f);
  if (e->st && p != e->ptimeMs) return -1;
  e->ptimeMs = p;
  return 0;
}

int GetPtime(MSFilter* f, void* arg) {
  *static_cast<int*>(arg) = Data(f)->ptimeMs;
  return 0;
}

int EnableFec(MSFilter* f, void* arg) {
  Data(f)->fec = *static_cast<int*>(arg) != 0;
  Apply(Data(f));
  return 0;
}

int SetPacketLoss(MSFilter* f, void* arg) {
  int p = *static_cast<int*>(arg);
  if (p < 0 || p > 100) return -1;
  Data(f)->lossPercent = p;
  Apply(Data(f));
  return 0;
}

int SetComplexity(MSFilter* f, void* arg) {
  int c = *static_cast<int*>(arg);
  if (c < 0 || c > 10) return -1;
  Data(f)->complexity = c;
  Apply(Data(f));
  return 0;
}

int GetComplexity(MSFilter* f, void* arg) {
  *static_cast<int*>(arg) = Data(f)->complexity;
  return 0;
}

int EnableDtx(MSFilter* f, void* arg) {
  Data(f)->dtx = *static_cast<int*>(arg) != 0;
  Apply(Data(f));
  return 0;
}

int EnableVbr(MSFilter* f, void* arg) {
  Data(f)->vbr = *static_cast<int*>(arg) != 0;
  Apply(Data(f));
  return 0;
}

// The remote's receive parameters (RFC 7587 6.1) constrain what we send.
int AddFmtp(MSFilter* f, void* arg) {
  OpusEnc* e = Data(f);
  const char* fmtp = static_cast<const char*>(arg);
  char v[32];
  if (fmtp_get_value(fmtp, "maxaveragebitrate", v, sizeof(v))) e->maxAverageBitrate = std::atoi(v);
  if (fmtp_get_value(fmtp, "useinbandfec", v, sizeof(v))) e->fec = std::atoi(v) == 1;
  if (fmtp_get_value(fmtp, "usedtx", v, sizeof(v))) e->dtx = std::atoi(v) == 1;
  if (fmtp_get_value(fmtp, "cbr", v, sizeof(v))) e->vbr = std::atoi(v) != 1;
  if (fmtp_get_value(fmtp, "ptime", v, sizeof(v))) {
    int p = std::atoi(v);
    // the PCM buffer is sized for the ptime in preprocess: no change while running
    if ((p == 10 || p == 20 || p == 40 || p == 60) && (!e->st || p == e->ptimeMs)) e->ptimeMs = p;
  }
  Apply(e);
  return 0;
}

template <int (*Fn)(MSFilter*, void*)>
int Locked(MSFilter* f, void* arg) {
  ms_filter_lock(f);
  int r = Fn(f, arg);
  ms_filter_unlock(f);
  return r;
}

MSFilterMethod kMethods[] = {
    {MS_FILTER_SET_SAMPLE_RATE, Locked<SetRate>},
    {MS_FILTER_GET_SAMPLE_RATE, Locked<GetRate>},
    {MS_FILTER_SET_NCHANNELS, Locked<SetChannels>},
    {MS_FILTER_GET_NCHANNELS, Locked<GetChannels>},
    {MS_FILTER_SET_BITRATE, Locked<SetBitrate>},
    {MS_FILTER_GET_BITRATE, Locked<GetBitrate>},
    {MS_FILTER_ADD_FMTP, Locked<AddFmtp>},
    {MS_AUDIO_ENCODER_SET_PTIME, Locked<SetPtime>},
    {MS_AUDIO_ENCODER_GET_PTIME, Locked<GetPtime>},
    {MS_AUDIO_ENCODER_ENABLE_FEC, Locked<EnableFec>},
    {MS_AUDIO_ENCODER_SET_PACKET_LOSS, Locked<SetPacketLoss>},
    {RMS_OPUS_ENC_SET_COMPLEXITY, Locked<SetComplexity>},
    {RMS_OPUS_ENC_GET_COMPLEXITY, Locked<GetComplexity>},
    {RMS_OPUS_ENC_ENABLE_DTX, Locked<EnableDtx>},
    {RMS_OPUS_ENC_ENABLE_VBR, Locked<EnableVbr>},
    {0, nullptr},
};

}  // namespace
}  // namespace rms

extern "C" {
MSFilterDesc rms_opus_enc_desc = {
    MS_FILTER_PLUGIN_ID,
    "RmsOpusEnc",
    "Opus encoder with per-call settings (libopus)",
    MS_FILTER_ENCODER,
    "opus",
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
