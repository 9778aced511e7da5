// RmsPlc: loss concealment driven by the packets, for decoders without their
// own. Input 0: the decoded audio; input 1: a copy of what MSRtpRecv played
// out (a tee right after it), in the same order. A frame whose packet's
// sequence number says packets are missing before it (up to kMaxConceal) is
// preceded by that many frames of concealment: the last frame repeated,
// fading 6 dB per frame. Nothing is concealed for a tick without a packet,
// so a ticker that runs late cannot shift the audio (ms2's MSGenericPLC
// conceals by the clock and moved the whole call 10 ms later then), and a
// source that stops sends nothing: hold, silence suppression, a dead phone.
#pragma once
#include "../core/ms_includes.h"

extern "C" {
extern MSFilterDesc rms_plc_desc;
}
