#include "own_filters.h"

#include "filters/audio_fork.h"
#include "filters/audio_inject.h"
#include "filters/audio_mix.h"
#include "filters/codec2.h"
#include "filters/dtmf_detect.h"
#include "filters/level_meter.h"
#include "filters/loss_meter.h"
#include "filters/opus_enc.h"
#include "filters/plc.h"
#include "filters/source_gate.h"
#include "filters/voice_detect.h"
#include "filters/wav_rec.h"

namespace rms {

static MSFilterDesc* const kOwnFilters[] = {
    &rms_codec2_enc_desc,  &rms_codec2_dec_desc, &rms_opus_enc_desc,     &rms_loss_meter_desc, &rms_dtmf_detect_desc,
    &rms_level_meter_desc, &rms_audio_fork_desc, &rms_audio_inject_desc, &rms_audio_mix_desc,  &rms_voice_detect_desc,
    &rms_source_gate_desc, &rms_wav_rec_desc,    &rms_plc_desc,
};

MSFilterDesc* FindOwnFilter(const std::string& name) {
  for (MSFilterDesc* d : kOwnFilters)
    if (name == d->name) return d;
  return nullptr;
}

std::string OwnFilterNames() {
  std::string out;
  for (MSFilterDesc* d : kOwnFilters) {
    if (!out.empty()) out += ", ";
    out += d->name;
  }
  return out;
}

}  // namespace rms
