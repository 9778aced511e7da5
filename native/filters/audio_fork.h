// RmsAudioFork: the end of a fork of a call's audio. Every message block that
// reaches its input (PCM frames, or encoded packets when an encoder comes
// first) is copied into a bounded ring (native/core/frame_ring.h); the JS
// thread takes the frames with RMS_AUDIO_FORK_READ when the filter tells it
// some are there (RMS_AUDIO_FORK_READY, through the filter's bounded event
// channel). The ticker never waits for JS: a full ring drops its oldest
// frames, counted in RMS_AUDIO_FORK_GET_STATS.
#pragma once
#include "../core/buffer_arg.h"
#include "../core/frame_ring.h"
#include "../core/ms_includes.h"

extern "C" {
extern MSFilterDesc rms_audio_fork_desc;
}

namespace rms {
struct AudioForkConfig {
  uint32_t capacityBytes;  // ring size (64 .. 8 MiB)
  uint32_t maxFrames;      // frames kept at most (1 .. 65536)
  uint32_t wakeBytes;      // tell JS once this many bytes are waiting (1 .. capacity)
};
struct AudioForkReady {
  uint32_t bytes;  // waiting when the event was sent
  uint32_t frames;
};
}  // namespace rms

#define RMS_AUDIO_FORK_CONFIGURE MS_FILTER_METHOD(MS_FILTER_PLUGIN_ID, 40, rms::AudioForkConfig)
#define RMS_AUDIO_FORK_READ MS_FILTER_METHOD(MS_FILTER_PLUGIN_ID, 41, rms::BufferArg)
#define RMS_AUDIO_FORK_GET_STATS MS_FILTER_METHOD(MS_FILTER_PLUGIN_ID, 42, rms::FrameRingStats)
#define RMS_AUDIO_FORK_READY MS_FILTER_EVENT(MS_FILTER_PLUGIN_ID, 43, rms::AudioForkReady)
