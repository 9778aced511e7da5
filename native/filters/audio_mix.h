// RmsAudioMix: two 16-bit mono PCM inputs at one rate made into one output
// (native/core/audio_join.h): summed or interleaved for a fork of both
// directions of a leg; or, in a call's path (input 0: what the other side
// sends, input 1: audio played into the call), summed without delaying input
// 0, or input 1 in place of input 0 while it plays. Input 1 may be left
// unlinked (input 0 passes).
#pragma once
#include "../core/audio_join.h"
#include "../core/ms_includes.h"

extern "C" {
extern MSFilterDesc rms_audio_mix_desc;
}

// rms::AudioJoin::Mode: 0 mix, 1 stereo, 2 lead mix, 3 replace (default 2). Also MS_FILTER_SET_SAMPLE_RATE.
#define RMS_AUDIO_MIX_SET_MODE MS_FILTER_METHOD(MS_FILTER_PLUGIN_ID, 60, int)
