// Per-addon-instance state (one per Node environment: the main thread and each
// worker). Every live native wrapper registers here so the environment's
// cleanup hook can stop tickers and free everything in a safe order when the
// environment goes away with graphs still running.
#pragma once
#include <napi.h>

#include <map>
#include <set>
#include <string>
#include <unordered_map>

namespace rms {

class Factory;
class Filter;
class Ticker;
class RtpSessionWrap;

struct Instance {
  Napi::FunctionReference factoryCtor;
  Napi::FunctionReference filterCtor;
  Napi::FunctionReference tickerCtor;
  Napi::FunctionReference rtpSessionCtor;
  std::map<std::string, Napi::FunctionReference> errorClasses;

  std::set<Factory*> factories;
  std::set<Filter*> filters;
  std::set<Ticker*> tickers;
  std::set<RtpSessionWrap*> rtpSessions;
  // Wrapper of each live C handle: closing a graph looks up every filter and
  // its ticker, and a scan of the sets made closing N calls O(N^2).
  std::unordered_map<const void*, Filter*> filterByHandle;  // MSFilter*
  std::unordered_map<const void*, Ticker*> tickerByHandle;  // MSTicker*
  bool tearingDown = false;
  napi_env env = nullptr;  // the environment this instance belongs to

  static Instance* Get(Napi::Env env) { return env.GetInstanceData<Instance>(); }
  // Closes everything: tickers first (joins their threads, so nothing runs on
  // them any more), then filters, RTP sessions and factories.
  void CloseAll();
};

}  // namespace rms
