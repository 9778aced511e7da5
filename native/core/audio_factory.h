// A mediastreamer2 factory with the audio filters only.
//
// ms_factory_init_voip() registers every filter, then probes sound cards
// (ALSA, PulseAudio) and cameras (V4L2) - 30 to 40 ms per factory here, and
// a PulseAudio connection attempt on a server that has neither. A media
// server uses none of those: this registers the audio and RTP filters ms2
// exports, and nothing that touches a device. The time matters where a
// restarted daemon has to bring its calls' media back (issue 19: within
// 100 ms of the process start).
#pragma once
#include "ms_includes.h"

namespace rms {

// Registers the audio filters on a factory fresh from ms_factory_new().
void RegisterAudioFilters(MSFactory* factory);

}  // namespace rms
