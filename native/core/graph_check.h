// Checks run before a graph is handed to a ticker. ms_ticker_attach() calls
// ms_fatal() (abort) on a graph without a source, and most ms2 filters write to
// outputs[0] without a NULL check, so an unlinked output crashes the ticker
// thread. We refuse such graphs up front with a message that names the filter.
#pragma once
#include <string>
#include <vector>

#include "ms_includes.h"

namespace rms {

// All filters reachable from f through links (f included).
std::vector<MSFilter*> GraphOf(MSFilter* f);

// Empty string when the graph can run; otherwise what is wrong with it.
std::string CheckRunnable(MSFilter* f);

// Number of linked pins (inputs and outputs) of f.
int LinkCount(const MSFilter* f);

}  // namespace rms
