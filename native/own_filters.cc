#include "own_filters.h"

#include "filters/codec2.h"
#include "filters/dtmf_detect.h"
#include "filters/level_meter.h"
#include "filters/loss_meter.h"
#include "filters/opus_enc.h"

namespace rms {

static MSFilterDesc* const kOwnFilters[] = {
    &rms_codec2_enc_desc, &rms_codec2_dec_desc,  &rms_opus_enc_desc,
    &rms_loss_meter_desc, &rms_dtmf_detect_desc, &rms_level_meter_desc,
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
