// RTCP compound packets (received or emitted by oRTP) as plain JS objects:
// SR/RR report blocks and the XR blocks of RFC 3611 that oRTP parses.
#pragma once
#include <napi.h>

#include "core/ms_includes.h"

namespace rms {
// Appends one object per RTCP packet of the compound to `out`.
void AppendRtcpCompound(Napi::Env env, mblk_t* compound, bool received, double atMs, Napi::Array out);
}  // namespace rms
