// One place for the C headers of mediastreamer2 and oRTP, so every file sees the
// same definitions (and the same extern "C" wrapping).
#pragma once
#include <mediastreamer2/mscommon.h>
#include <mediastreamer2/msfactory.h>
#include <mediastreamer2/msfilter.h>
#include <mediastreamer2/msticker.h>
#include <mediastreamer2/msrtp.h>
#include <mediastreamer2/allfilters.h>
#include <mediastreamer2/msfileplayer.h>
#include <mediastreamer2/msfilerec.h>
#include <mediastreamer2/dtmfgen.h>
#include <mediastreamer2/mstonedetector.h>
#include <mediastreamer2/msvolume.h>
#include <mediastreamer2/msaudiomixer.h>
#include <mediastreamer2/msinterfaces.h>
#include <mediastreamer2/qualityindicator.h>
#include <ortp/ortp.h>
#include <ortp/rtpsession.h>
#include <ortp/payloadtype.h>
