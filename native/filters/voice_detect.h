// RmsVoiceDetect: a pass-through on 16-bit mono PCM (8-48 kHz) that tells
// when speech starts and ends (native/core/voice_detect.h), for barge-in.
// Link its output (an MSVoidSink at the end of a graph).
#pragma once
#include "../core/ms_includes.h"
#include "../core/voice_detect.h"

extern "C" {
extern MSFilterDesc rms_voice_detect_desc;
}

#define RMS_VOICE_DETECT_EVENT MS_FILTER_EVENT(MS_FILTER_PLUGIN_ID, 70, rms::VoiceEvent)
#define RMS_VOICE_DETECT_SET_PARAMS MS_FILTER_METHOD(MS_FILTER_PLUGIN_ID, 71, rms::VoiceParams)
#define RMS_VOICE_DETECT_GET_PARAMS MS_FILTER_METHOD(MS_FILTER_PLUGIN_ID, 72, rms::VoiceParams)
// Also MS_FILTER_SET_SAMPLE_RATE (restarts detection) and MS_FILTER_GET_SAMPLE_RATE.
