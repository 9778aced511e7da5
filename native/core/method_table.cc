#include "method_table.h"

#include <algorithm>

#include "ms_includes.h"
#include "../filters/audio_fork.h"
#include "../filters/audio_inject.h"
#include "../filters/audio_mix.h"
#include "../filters/codec2.h"
#include "../filters/dtmf_detect.h"
#include "../filters/level_meter.h"
#include "../filters/loss_meter.h"
#include "../filters/opus_enc.h"
#include "../filters/voice_detect.h"

namespace rms {

namespace {

#define M(name, kind) \
  MethodInfo { name, #name, ArgKind::kind, 0 }
#define S(name, type) \
  MethodInfo { name, #name, ArgKind::Bytes, sizeof(type) }

std::vector<MethodInfo> BuildTable() {
  std::vector<MethodInfo> t = {
      // generic
      M(MS_FILTER_SET_SAMPLE_RATE, IntIn),
      M(MS_FILTER_GET_SAMPLE_RATE, IntOut),
      M(MS_FILTER_SET_OUTPUT_SAMPLE_RATE, IntIn),
      M(MS_FILTER_SET_NCHANNELS, IntIn),
      M(MS_FILTER_GET_NCHANNELS, IntOut),
      M(MS_FILTER_SET_OUTPUT_NCHANNELS, IntIn),
      M(MS_FILTER_SET_BITRATE, IntIn),
      M(MS_FILTER_GET_BITRATE, IntOut),
      M(MS_FILTER_ADD_FMTP, String),
      M(MS_FILTER_ADD_ATTR, String),
      M(MS_FILTER_SET_MTU, IntIn),
      M(MS_FILTER_GET_MTU, IntOut),
      M(MS_FILTER_GET_LATENCY, IntOut),
      // audio codecs
      M(MS_AUDIO_ENCODER_SET_PTIME, IntIn),
      M(MS_AUDIO_ENCODER_GET_PTIME, IntOut),
      M(MS_AUDIO_ENCODER_ENABLE_FEC, IntIn),
      M(MS_AUDIO_ENCODER_SET_PACKET_LOSS, IntIn),
      M(MS_AUDIO_ENCODER_GET_CAPABILITIES, IntOut),
      M(MS_AUDIO_DECODER_HAVE_PLC, IntOut),
      M(MS_DECODER_ENABLE_PLC, IntIn),
      // our own Opus encoder
      M(RMS_OPUS_ENC_SET_COMPLEXITY, IntIn),
      M(RMS_OPUS_ENC_GET_COMPLEXITY, IntOut),
      M(RMS_OPUS_ENC_ENABLE_DTX, IntIn),
      M(RMS_OPUS_ENC_ENABLE_VBR, IntIn),
      // our own Codec2 filters
      M(RMS_CODEC2_SET_LINK, IntIn),
      // our own loss meter
      MethodInfo{RMS_LOSS_METER_GET, "RMS_LOSS_METER_GET", ArgKind::BytesOut, sizeof(rms::BurstGapSnapshot)},
      M(RMS_LOSS_METER_RESET, None),
      // our own level meter (sample rate: the generic methods above)
      MethodInfo{RMS_LEVEL_METER_GET, "RMS_LEVEL_METER_GET", ArgKind::BytesOut, sizeof(rms::LevelSnapshot)},
      M(RMS_LEVEL_METER_RESET, None),
      // our own DTMF detector (sample rate: the generic methods above)
      S(RMS_DTMF_DETECT_SET_PARAMS, rms::DtmfParams),
      MethodInfo{RMS_DTMF_DETECT_GET_PARAMS, "RMS_DTMF_DETECT_GET_PARAMS", ArgKind::BytesOut, sizeof(rms::DtmfParams)},
      // our own audio streams (forks, injection, mixing, voice activity)
      S(RMS_AUDIO_FORK_CONFIGURE, rms::AudioForkConfig),
      M(RMS_AUDIO_FORK_READ, Buffer),
      MethodInfo{RMS_AUDIO_FORK_GET_STATS, "RMS_AUDIO_FORK_GET_STATS", ArgKind::BytesOut, sizeof(rms::FrameRingStats)},
      S(RMS_AUDIO_INJECT_CONFIGURE, rms::AudioInjectConfig),
      M(RMS_AUDIO_INJECT_WRITE, Buffer),
      M(RMS_AUDIO_INJECT_MARK, IntIn),
      M(RMS_AUDIO_INJECT_CLEAR, None),
      MethodInfo{RMS_AUDIO_INJECT_GET_STATS, "RMS_AUDIO_INJECT_GET_STATS", ArgKind::BytesOut, sizeof(rms::InjectStats)},
      M(RMS_AUDIO_MIX_SET_MODE, IntIn),
      S(RMS_VOICE_DETECT_SET_PARAMS, rms::VoiceParams),
      MethodInfo{RMS_VOICE_DETECT_GET_PARAMS, "RMS_VOICE_DETECT_GET_PARAMS", ArgKind::BytesOut,
                 sizeof(rms::VoiceParams)},
      // RTP
      M(MS_RTP_RECV_SET_SESSION, RtpSession),
      M(MS_RTP_RECV_RESET_JITTER_BUFFER, None),
      M(MS_RTP_SEND_SET_SESSION, RtpSession),
      M(MS_RTP_SEND_SEND_DTMF, Char),
      M(MS_RTP_SEND_SET_DTMF_DURATION, IntIn),
      M(MS_RTP_SEND_MUTE, None),
      M(MS_RTP_SEND_UNMUTE, None),
      M(MS_RTP_SEND_ENABLE_STUN, BoolIn),
      M(MS_RTP_SEND_ENABLE_TS_ADJUSTMENT, BoolIn),
      // file player / recorder
      M(MS_FILE_PLAYER_OPEN, String),
      M(MS_FILE_PLAYER_START, None),
      M(MS_FILE_PLAYER_STOP, None),
      M(MS_FILE_PLAYER_CLOSE, None),
      M(MS_FILE_PLAYER_LOOP, IntIn),
      M(MS_FILE_PLAYER_DONE, IntOut),
      M(MS_PLAYER_GET_DURATION, IntOut),
      M(MS_PLAYER_GET_CURRENT_POSITION, IntOut),
      M(MS_PLAYER_SEEK_MS, IntIn),
      M(MS_FILE_REC_OPEN, String),
      M(MS_FILE_REC_START, None),
      M(MS_FILE_REC_STOP, None),
      M(MS_FILE_REC_CLOSE, None),
      M(MS_RECORDER_OPEN, String),
      M(MS_RECORDER_START, None),
      M(MS_RECORDER_PAUSE, None),
      M(MS_RECORDER_CLOSE, None),
      // DTMF and tones
      M(MS_DTMF_GEN_PUT, Char),
      M(MS_DTMF_GEN_START, Char),
      M(MS_DTMF_GEN_STOP, None),
      M(MS_DTMF_GEN_SET_DEFAULT_AMPLITUDE, FloatIn),
      M(MS_DTMF_GEN_IS_PLAYING, BoolOut),
      S(MS_DTMF_GEN_PLAY_CUSTOM, MSDtmfGenCustomTone),
      S(MS_TONE_DETECTOR_ADD_SCAN, MSToneDetectorDef),
      M(MS_TONE_DETECTOR_CLEAR_SCANS, None),
      // volume
      M(MS_VOLUME_GET, FloatOut),
      M(MS_VOLUME_GET_LINEAR, FloatOut),
      M(MS_VOLUME_SET_GAIN, FloatIn),
      M(MS_VOLUME_SET_DB_GAIN, FloatIn),
      M(MS_VOLUME_GET_GAIN, FloatOut),
      M(MS_VOLUME_ENABLE_NOISE_GATE, IntIn),
      M(MS_VOLUME_SET_NOISE_GATE_THRESHOLD, FloatIn),
      // mixer
      M(MS_AUDIO_MIXER_ENABLE_CONFERENCE_MODE, IntIn),
      M(MS_AUDIO_MIXER_SET_MASTER_CHANNEL, IntIn),
      S(MS_AUDIO_MIXER_SET_INPUT_GAIN, MSAudioMixerCtl),
      S(MS_AUDIO_MIXER_SET_ACTIVE, MSAudioMixerCtl),
      S(MS_AUDIO_MIXER_ENABLE_OUTPUT, MSAudioMixerCtl),
  };
  return t;
}

#undef M
#undef S

}  // namespace

const std::vector<MethodInfo>& AllMethods() {
  static const std::vector<MethodInfo> table = BuildTable();
  return table;
}

const MethodInfo* FindMethod(unsigned int id) {
  const auto& t = AllMethods();
  // Several C macros are aliases of one id (MS_DTMF_GEN_PLAY = PUT): first wins.
  auto it = std::find_if(t.begin(), t.end(), [id](const MethodInfo& m) { return m.id == id; });
  return it == t.end() ? nullptr : &*it;
}

const char* ArgKindName(ArgKind kind) {
  switch (kind) {
    case ArgKind::None:
      return "none";
    case ArgKind::IntIn:
      return "int";
    case ArgKind::IntOut:
      return "int-out";
    case ArgKind::FloatIn:
      return "float";
    case ArgKind::FloatOut:
      return "float-out";
    case ArgKind::BoolIn:
      return "bool";
    case ArgKind::BoolOut:
      return "bool-out";
    case ArgKind::String:
      return "string";
    case ArgKind::Char:
      return "char";
    case ArgKind::Bytes:
      return "bytes";
    case ArgKind::BytesOut:
      return "bytes-out";
    case ArgKind::RtpSession:
      return "rtp-session";
    case ArgKind::Buffer:
      return "buffer";
  }
  return "?";
}

}  // namespace rms
