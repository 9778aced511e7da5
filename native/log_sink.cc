#include "log_sink.h"

#include <cstdarg>
#include <cstdio>
#include <mutex>

#include "core/log_queue.h"
#include "core/ms_includes.h"
#include "errors.h"

namespace rms {
namespace {

// Lines waiting for JS at most; a flood of one line takes one slot.
constexpr size_t kQueueCapacity = 256;

struct Sink {
  napi_env env;
  Napi::ThreadSafeFunction tsfn;
  LogQueue queue{kQueueCapacity};
};

// Leaked on purpose: tickers may still log while exit() destroys statics.
std::mutex& SinkMutex() {
  static auto* m = new std::mutex();
  return *m;
}
Sink* g_sink = nullptr;  // guarded by SinkMutex()

void Handler(const char* domain, BctbxLogLevel level, const char* fmt, va_list args) {
  std::unique_lock<std::mutex> lock(SinkMutex());
  if (g_sink == nullptr) {
    lock.unlock();
    bctbx_logv_out(domain, level, fmt, args);
    return;
  }
  char buf[LogQueue::kMaxMessage + 1];
  std::vsnprintf(buf, sizeof buf, fmt, args);
  // One wake-up owed at a time: the JS side drains everything per call.
  if (g_sink->queue.Push(static_cast<int>(level), domain, buf)) g_sink->tsfn.NonBlockingCall();
}

// On the main thread: everything queued, as one call.
void Deliver(Napi::Env env, Napi::Function cb, Sink* sink) {
  uint64_t dropped = 0;
  std::vector<LogRecord> records = sink->queue.Drain(&dropped);
  if (records.empty() && dropped == 0) return;
  Napi::Array arr = Napi::Array::New(env, records.size());
  for (size_t i = 0; i < records.size(); ++i) {
    Napi::Array r = Napi::Array::New(env, 4);
    r.Set(0u, Napi::Number::New(env, records[i].level));
    r.Set(1u, Napi::String::New(env, records[i].domain));
    r.Set(2u, Napi::String::New(env, records[i].message));
    r.Set(3u, Napi::Number::New(env, records[i].count));
    arr.Set(static_cast<uint32_t>(i), r);
  }
  cb.Call({arr, Napi::Number::New(env, static_cast<double>(dropped))});
}

void Clear(std::unique_lock<std::mutex>& lock) {
  Sink* old = g_sink;
  g_sink = nullptr;
  lock.unlock();
  // Calls already queued still run; the finalizer frees the sink after them.
  if (old) old->tsfn.Release();
}

}  // namespace

void InstallLogHandler() {
  static std::once_flag once;
  std::call_once(once, [] { bctbx_set_log_handler(&Handler); });
}

Napi::Value SetLogSinkJs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsFunction() && !info[0].IsNull())
    Throw(env, code::kInvalidArgument, "setLogSink() expects a function or null");
  std::unique_lock<std::mutex> lock(SinkMutex());
  Clear(lock);
  if (info[0].IsNull()) return env.Undefined();
  auto* sink = new Sink();
  sink->env = env;
  // Plain ThreadSafeFunction built by hand so Deliver gets the Sink as context.
  napi_threadsafe_function raw = nullptr;
  napi_status st = napi_create_threadsafe_function(
      env, info[0], nullptr, Napi::String::New(env, "rms-native-log"), 0, 1, sink,
      [](napi_env, void* data, void*) { delete static_cast<Sink*>(data); }, sink,
      [](napi_env e, napi_value jsCb, void* ctx, void*) {
        if (e == nullptr) return;
        try {
          Deliver(Napi::Env(e), Napi::Function(e, jsCb), static_cast<Sink*>(ctx));
        } catch (const Napi::Error& err) {
          // a throwing logger surfaces as an uncaught exception; during
          // teardown JS cannot run at all, and the line is simply lost
          try {
            err.ThrowAsJavaScriptException();
          } catch (...) {
          }
        }
      },
      &raw);
  if (st != napi_ok) {
    delete sink;
    Throw(env, code::kInvalidState, "Cannot create the native log channel");
  }
  sink->tsfn = Napi::ThreadSafeFunction(raw);
  sink->tsfn.Unref(env);  // logging must not keep the process alive
  lock.lock();
  g_sink = sink;
  return env.Undefined();
}

void ClearLogSinkOf(napi_env env) {
  std::unique_lock<std::mutex> lock(SinkMutex());
  if (g_sink && g_sink->env == env) Clear(lock);
}

}  // namespace rms
