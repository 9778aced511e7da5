// Opus encoder as an ms2 filter over libopus, with every setting a gateway
// needs per call (ms2's own MSOpusEnc takes complexity only from a process-wide
// environment variable). Emits RTP timestamps on the 48 kHz clock of RFC 7587
// whatever the API rate, so narrowband legs are encoded without resampling.
#pragma once
#include "../core/ms_includes.h"

extern "C" {
extern MSFilterDesc rms_opus_enc_desc;
}

// Methods of our own filters use MS_FILTER_PLUGIN_ID; ms2 dispatches them only
// to a filter whose own method table lists them.
#define RMS_OPUS_ENC_SET_COMPLEXITY MS_FILTER_METHOD(MS_FILTER_PLUGIN_ID, 0, int)
#define RMS_OPUS_ENC_GET_COMPLEXITY MS_FILTER_METHOD(MS_FILTER_PLUGIN_ID, 1, int)
#define RMS_OPUS_ENC_ENABLE_DTX MS_FILTER_METHOD(MS_FILTER_PLUGIN_ID, 2, int)
#define RMS_OPUS_ENC_ENABLE_VBR MS_FILTER_METHOD(MS_FILTER_PLUGIN_ID, 3, int)
