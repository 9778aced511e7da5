#include <algorithm>
#include <string>

#include "core/graph_check.h"
#include "errors.h"
#include "instance.h"
#include "wrappers.h"

namespace rms {

Napi::Function Ticker::Define(Napi::Env env) {
  return DefineClass(env, "NativeTicker",
                     {
                         InstanceMethod<&Ticker::Attach>("attach"),
                         InstanceMethod<&Ticker::Detach>("detach"),
                         InstanceMethod<&Ticker::Stats>("stats"),
                         InstanceMethod<&Ticker::ResetStats>("resetStats"),
                         InstanceMethod<&Ticker::RefJs>("ref"),
                         InstanceMethod<&Ticker::UnrefJs>("unref"),
                         InstanceMethod<&Ticker::CloseJs>("close"),
                     });
}

// new NativeTicker(name, priority 0|1|2, intervalMs 10|20)
Ticker::Ticker(const Napi::CallbackInfo& info) : Napi::ObjectWrap<Ticker>(info) {
  Napi::Env env = info.Env();
  std::string name = info[0].IsString() ? info[0].As<Napi::String>().Utf8Value() : "rms-ticker";
  int prio = info[1].IsNumber() ? info[1].As<Napi::Number>().Int32Value() : 0;
  if (prio < 0 || prio > 2)
    Throw(env, code::kInvalidArgument, "Expected priority 0 (normal), 1 (high) or 2 (realtime)");
  int interval = info[2].IsNumber() ? info[2].As<Napi::Number>().Int32Value() : 10;
  if (interval != 10 && interval != 20) Throw(env, code::kInvalidArgument, "Expected a tick interval of 10 or 20 ms");
  MSTickerParams params;
  params.name = name.c_str();
  params.prio = static_cast<MSTickerPrio>(prio);
  ticker_ = ms_ticker_new_with_params(&params);
  if (interval != ticker_->interval) {
    // ms2 has no parameter for it. The thread already runs but has no graph
    // yet; it reads the interval once per tick to schedule the next, so the
    // worst case is one 10 ms tick before the change.
    ms_mutex_lock(&ticker_->lock);
    ticker_->interval = interval;
    ms_mutex_unlock(&ticker_->lock);
  }
  stats_ = std::make_unique<TickStats>(ticker_, name);
  keepAlive_ = Napi::ThreadSafeFunction::New(env, Napi::Function::New(env, [](const Napi::CallbackInfo&) {}),
                                             "rms-ticker", 0, 1);
  keepAlive_.Unref(env);
  Instance* inst = Instance::Get(env);
  inst->tickers.insert(this);
  inst->tickerByHandle[ticker_] = this;
}

Ticker::~Ticker() {
  // Pinned while graphs are attached, so a finalized ticker has none.
  Close();
  Instance* inst = Instance::Get(Env());
  if (inst) inst->tickers.erase(this);
}

Ticker* Ticker::Owning(Napi::Env env, MSTicker* t) {
  Instance* inst = Instance::Get(env);
  if (inst == nullptr || t == nullptr) return nullptr;
  auto it = inst->tickerByHandle.find(t);
  return it == inst->tickerByHandle.end() ? nullptr : it->second;
}

void Ticker::CheckOpen(Napi::Env env) const {
  if (ticker_ == nullptr) Throw(env, code::kInvalidState, "Ticker is closed");
}

void Ticker::UpdateKeepAlive() {
  bool want = ticker_ != nullptr && !roots_.empty() && userRef_;
  if (want == keepAliveRefd_) return;
  keepAliveRefd_ = want;
  if (want)
    keepAlive_.Ref(Env());
  else
    keepAlive_.Unref(Env());
}

Napi::Value Ticker::Attach(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  CheckOpen(env);
  Filter* f = Filter::FromValue(env, info[0], "Ticker.attach()");
  std::string problem = CheckRunnable(f->handle());
  if (!problem.empty()) Throw(env, code::kGraph, "Cannot attach: " + problem);
  ms_ticker_attach(ticker_, f->handle());
  for (MSFilter* m : GraphOf(f->handle()))
    if (Filter* w = Filter::Lookup(env, m)) w->MarkRan();
  roots_.push_back(f->handle());
  f->SetAttachedRoot(true);
  if (!pinned_) {
    Ref();
    pinned_ = true;
  }
  UpdateKeepAlive();
  return env.Undefined();
}

void Ticker::DetachGraphOf(MSFilter* f) {
  auto graph = GraphOf(f);
  ms_ticker_detach(ticker_, f);
  Napi::Env env = Env();
  for (auto it = roots_.begin(); it != roots_.end();) {
    if (std::find(graph.begin(), graph.end(), *it) != graph.end()) {
      if (Filter* w = Filter::Lookup(env, *it)) w->SetAttachedRoot(false);
      it = roots_.erase(it);
    } else {
      ++it;
    }
  }
  UpdateKeepAlive();
  if (roots_.empty() && pinned_) {
    pinned_ = false;
    Unref();
  }
}

Napi::Value Ticker::Detach(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  CheckOpen(env);
  Filter* f = Filter::FromValue(env, info[0], "Ticker.detach()");
  if (f->handle()->ticker != ticker_)
    Throw(env, code::kInvalidState,
          std::string("Filter ") + f->handle()->desc->name + " is not attached to this ticker");
  DetachGraphOf(f->handle());
  return env.Undefined();
}

Napi::Value Ticker::Stats(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  CheckOpen(env);
  TickStatsSnapshot s = stats_->Snapshot();
  Napi::Object o = Napi::Object::New(env);
  o.Set("load", ms_ticker_get_average_load(ticker_));
  o.Set("ticks", static_cast<double>(s.ticks));
  o.Set("lateTicks", static_cast<double>(s.lateTicks));
  o.Set("maxLateMs", static_cast<double>(s.maxLateMs));
  o.Set("lastLateMs", static_cast<double>(s.lastLateMs));
  o.Set("totalLateMs", static_cast<double>(s.totalLateMs));
  o.Set("intervalMs", ticker_->interval);
  // receive gate (core/recv_gate.h): socket reads made and reads skipped
  // because epoll said the socket had nothing
  o.Set("socketReads", static_cast<double>(stats_->poller().reads()));
  o.Set("socketReadsSkipped", static_cast<double>(stats_->poller().skipped()));
  o.Set("graphs", static_cast<double>(roots_.size()));
  return o;
}

Napi::Value Ticker::ResetStats(const Napi::CallbackInfo& info) {
  CheckOpen(info.Env());
  stats_->Reset();
  return info.Env().Undefined();
}

Napi::Value Ticker::RefJs(const Napi::CallbackInfo& info) {
  userRef_ = true;
  UpdateKeepAlive();
  return info.Env().Undefined();
}

Napi::Value Ticker::UnrefJs(const Napi::CallbackInfo& info) {
  userRef_ = false;
  UpdateKeepAlive();
  return info.Env().Undefined();
}

void Ticker::Close() {
  if (ticker_ == nullptr) return;
  while (!roots_.empty()) DetachGraphOf(roots_.front());
  if (Instance* inst = Instance::Get(Env())) inst->tickerByHandle.erase(ticker_);
  ms_ticker_destroy(ticker_);  // joins the thread
  ticker_ = nullptr;
  stats_.reset();
  UpdateKeepAlive();
  keepAlive_.Release();
}

Napi::Value Ticker::CloseJs(const Napi::CallbackInfo& info) {
  Close();
  return info.Env().Undefined();
}

}  // namespace rms
