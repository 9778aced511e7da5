// Codec2 (libcodec2 1.0) as ms2 encoder and decoder filters, "CODEC2" at 8 kHz.
// Written for this project; the SDP form is CODEC2/8000 with a=fmtp mode=<bps>.
#pragma once
#include "../core/ms_includes.h"

// Both filters: the leg's link id (codec2_link.h). The decoder publishes the
// mode the peer sends; an encoder given a link follows that mode.
#define RMS_CODEC2_SET_LINK MS_FILTER_METHOD(MS_FILTER_PLUGIN_ID, 80, int)

extern "C" {
extern MSFilterDesc rms_codec2_enc_desc;
extern MSFilterDesc rms_codec2_dec_desc;
}

namespace rms {
// libcodec2 mode number for a bit rate (3200, 2400, 1600, 1400, 1300, 1200,
// 700 for 700C); -1 if none.
int Codec2ModeForBitrate(int bps);
// Mode from an fmtp string ("mode=1200"); returns fallback when absent, -1 when
// the value is not a mode we support.
int Codec2ModeFromFmtp(const char* fmtp, int fallback);
}  // namespace rms
