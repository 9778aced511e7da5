// RmsLevelMeter: a pass-through on a 16-bit mono PCM path that measures its
// level (native/core/level_meter.h) for RTCP XR and RFC 6035 signal levels.
#pragma once
#include "../core/level_meter.h"
#include "../core/ms_includes.h"

extern "C" {
extern MSFilterDesc rms_level_meter_desc;
}

#define RMS_LEVEL_METER_GET MS_FILTER_METHOD(MS_FILTER_PLUGIN_ID, 30, rms::LevelSnapshot)
#define RMS_LEVEL_METER_RESET MS_FILTER_METHOD_NO_ARG(MS_FILTER_PLUGIN_ID, 31)
