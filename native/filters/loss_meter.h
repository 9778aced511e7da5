// A pass-through filter placed after MSRtpRecv: counts loss and burst/gap
// metrics (RFC 3611, Gmin 16) from the sequence numbers of what is played out.
#pragma once
#include "../core/burst_gap.h"
#include "../core/ms_includes.h"

extern "C" {
extern MSFilterDesc rms_loss_meter_desc;
}

#define RMS_LOSS_METER_GET MS_FILTER_METHOD(MS_FILTER_PLUGIN_ID, 10, rms::BurstGapSnapshot)
#define RMS_LOSS_METER_RESET MS_FILTER_METHOD_NO_ARG(MS_FILTER_PLUGIN_ID, 11)
