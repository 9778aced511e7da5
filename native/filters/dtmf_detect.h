// RmsDtmfDetect: in-band DTMF detector (native/core/dtmf_goertzel.h), placed
// inline on a mono 16-bit PCM path at 8 or 16 kHz. The audio passes through
// unchanged. Its output must be linked in a running graph (an MSVoidSink when
// nothing else follows): ms2 5.1 aborts the process (ms_fatal in
// ms_filter_find_neighbours) on attaching a graph where a filter with outputs
// has none linked, and the graph check refuses such a graph first.
#pragma once
#include "../core/dtmf_goertzel.h"
#include "../core/ms_includes.h"

extern "C" {
extern MSFilterDesc rms_dtmf_detect_desc;
}

// A key was released: one per key press, with the estimated tone duration.
#define RMS_DTMF_DETECT_EVENT MS_FILTER_EVENT(MS_FILTER_PLUGIN_ID, 20, rms::DtmfEvent)
// A digit was confirmed (min duration reached); its duration is the part seen so far.
#define RMS_DTMF_DETECT_START MS_FILTER_EVENT(MS_FILTER_PLUGIN_ID, 21, rms::DtmfEvent)
#define RMS_DTMF_DETECT_SET_PARAMS MS_FILTER_METHOD(MS_FILTER_PLUGIN_ID, 22, rms::DtmfParams)
#define RMS_DTMF_DETECT_GET_PARAMS MS_FILTER_METHOD(MS_FILTER_PLUGIN_ID, 23, rms::DtmfParams)
// Also: MS_FILTER_SET_SAMPLE_RATE (8000 or 16000; resets detection), MS_FILTER_GET_SAMPLE_RATE.
