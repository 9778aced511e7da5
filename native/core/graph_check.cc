#include "graph_check.h"

#include <algorithm>

namespace rms {

std::vector<MSFilter*> GraphOf(MSFilter* start) {
  std::vector<MSFilter*> seen{start};
  for (size_t i = 0; i < seen.size(); ++i) {
    MSFilter* f = seen[i];
    auto visit = [&seen](MSFilter* n) {
      if (n && std::find(seen.begin(), seen.end(), n) == seen.end()) seen.push_back(n);
    };
    for (int p = 0; p < f->desc->ninputs; ++p)
      if (f->inputs[p]) visit(f->inputs[p]->prev.filter);
    for (int p = 0; p < f->desc->noutputs; ++p)
      if (f->outputs[p]) visit(f->outputs[p]->next.filter);
  }
  return seen;
}

// Filters that handle any unlinked output themselves.
static bool ToleratesOpenOutputs(const MSFilter* f) {
  switch (f->desc->id) {
    case MS_TEE_ID:
    case MS_AUDIO_MIXER_ID:
    case MS_VOID_SINK_ID:
      return true;
    default:
      return false;
  }
}

std::string CheckRunnable(MSFilter* f) {
  auto graph = GraphOf(f);
  bool hasSource = false;
  for (MSFilter* g : graph) {
    if (g->ticker != nullptr) return std::string("filter ") + g->desc->name + " is already attached to a ticker";
    if (g->desc->ninputs == 0) hasSource = true;
  }
  if (!hasSource)
    return std::string("the graph of filter ") + f->desc->name +
           " has no source filter (one without inputs, such as MSRtpRecv or MSFilePlayer)";
  for (MSFilter* g : graph) {
    if (g->desc->noutputs > 0 && g->outputs[0] == nullptr && !ToleratesOpenOutputs(g))
      return std::string("output pin 0 of filter ") + g->desc->name +
             " is not linked (ms2 filters write to it unconditionally)";
  }
  return std::string();
}

int LinkCount(const MSFilter* f) {
  int n = 0;
  for (int p = 0; p < f->desc->ninputs; ++p) n += f->inputs[p] != nullptr;
  for (int p = 0; p < f->desc->noutputs; ++p) n += f->outputs[p] != nullptr;
  return n;
}

}  // namespace rms
