// RmsWavRec: records 16-bit PCM into a WAV (or raw) file that the caller
// created, appending after what it holds. Writes are buffered (one write per
// half second of audio) and the header's sizes are brought up to date every
// second, so a killed process leaves a WAV that plays up to the last second.
// A write that fails (a full disk, an I/O error) ends the recording there:
// the file is cut to the last whole sample, its header completed, and
// RMS_WAV_REC_FAILED notified once with the errno; the audio after it is
// dropped without a word. The graph and the call go on.
//
// Methods: the recorder interface (MS_RECORDER_OPEN, _START, _PAUSE, _CLOSE)
// and MS_FILTER_SET_SAMPLE_RATE / MS_FILTER_SET_NCHANNELS.
#pragma once
#include "../core/ms_includes.h"

extern "C" {
extern MSFilterDesc rms_wav_rec_desc;
}

#define RMS_WAV_REC_FAILED MS_FILTER_EVENT(MS_FILTER_PLUGIN_ID, 95, int)
