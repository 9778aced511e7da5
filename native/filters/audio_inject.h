// RmsAudioInject: a source that plays, at real time, 16-bit mono PCM that JS
// wrote (RMS_AUDIO_INJECT_WRITE) into a bounded queue (native/core/
// inject_queue.h), with a jitter allowance; it sends nothing while the queue
// is empty, so what follows it (RmsAudioMix) passes the call's own audio.
// RMS_AUDIO_INJECT_MARK sets a mark after what was written; the filter sends
// RMS_AUDIO_INJECT_MARK_EVENT once it has played everything before it.
// RMS_AUDIO_INJECT_CLEAR drops what is queued at once (barge-in); the marks
// still pending come back with `cleared` set.
#pragma once
#include "../core/buffer_arg.h"
#include "../core/inject_queue.h"
#include "../core/ms_includes.h"

extern "C" {
extern MSFilterDesc rms_audio_inject_desc;
}

namespace rms {
struct AudioInjectConfig {
  uint32_t rate;        // of what is written (8000 .. 48000)
  uint32_t capacityMs;  // queue size (100 .. 600000)
  uint32_t jitterMs;    // jitter allowance (0 .. 1000)
  uint32_t maxMarks;    // marks pending at most (1 .. 4096)
};
}  // namespace rms

#define RMS_AUDIO_INJECT_CONFIGURE MS_FILTER_METHOD(MS_FILTER_PLUGIN_ID, 50, rms::AudioInjectConfig)
#define RMS_AUDIO_INJECT_WRITE MS_FILTER_METHOD(MS_FILTER_PLUGIN_ID, 51, rms::BufferArg)
#define RMS_AUDIO_INJECT_MARK MS_FILTER_METHOD(MS_FILTER_PLUGIN_ID, 52, int)
#define RMS_AUDIO_INJECT_CLEAR MS_FILTER_METHOD_NO_ARG(MS_FILTER_PLUGIN_ID, 53)
#define RMS_AUDIO_INJECT_GET_STATS MS_FILTER_METHOD(MS_FILTER_PLUGIN_ID, 54, rms::InjectStats)
#define RMS_AUDIO_INJECT_MARK_EVENT MS_FILTER_EVENT(MS_FILTER_PLUGIN_ID, 55, rms::InjectMark)
