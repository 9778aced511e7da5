// RmsSourceGate: audio out of a decoder and its concealment (input 0) passes
// while the source it was decoded from still delivers packets (input 1, a
// copy of what MSRtpRecv plays out); `hold` ms after the last packet it stops,
// so a peer that goes quiet (hold, silence suppression, a dead phone) makes
// us send nothing rather than endless concealment and noise. The packets on
// input 1 are only counted and freed.
#pragma once
#include "../core/ms_includes.h"

extern "C" {
extern MSFilterDesc rms_source_gate_desc;
}
