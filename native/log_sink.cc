#include "log_sink.h"

#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <string>

#include "channel.h"
#include "core/ms_includes.h"
#include "errors.h"

namespace rms {
namespace {

// Lines waiting for JS at most; past it lines are dropped and counted.
constexpr size_t kChannelCapacity = 256;
// Longest line kept (oRTP's and ms2's are well under it).
constexpr size_t kMaxMessage = 1024;

struct LogLine {
  int level = 0;  // BctbxLogLevel bit
  std::string domain;
  std::string message;
};

// On the JS thread: one line, as a batch of one [level, domain, message, count].
void Deliver(Napi::Env env, Napi::Function cb, const LogLine& line, uint64_t droppedBefore) {
  Napi::Array rec = Napi::Array::New(env, 4);
  rec.Set(0u, Napi::Number::New(env, line.level));
  rec.Set(1u, Napi::String::New(env, line.domain));
  rec.Set(2u, Napi::String::New(env, line.message));
  rec.Set(3u, Napi::Number::New(env, 1));
  Napi::Array batch = Napi::Array::New(env, 1);
  batch.Set(0u, rec);
  cb.Call({batch, Napi::Number::New(env, static_cast<double>(droppedBefore))});
}

struct Sink {
  napi_env env;
  Channel<LogLine>* channel;
};

// Leaked on purpose: tickers may still log while exit() destroys statics.
std::mutex& SinkMutex() {
  static auto* m = new std::mutex();
  return *m;
}
Sink g_sink{nullptr, nullptr};  // guarded by SinkMutex()

// Any thread that logs (tickers, oRTP's scheduler, the JS thread): never
// blocks on JS, never calls it; the channel is bounded.
void Handler(const char* domain, BctbxLogLevel level, const char* fmt, va_list args) {
  std::unique_lock<std::mutex> lock(SinkMutex());
  if (g_sink.channel == nullptr) {
    lock.unlock();
    bctbx_logv_out(domain, level, fmt, args);
    return;
  }
  char buf[kMaxMessage + 1];
  std::vsnprintf(buf, sizeof buf, fmt, args);
  size_t n = std::strlen(buf);
  while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r')) --n;
  g_sink.channel->Push(LogLine{static_cast<int>(level), domain ? domain : "", std::string(buf, n)});
}

// JS thread. Once the pointer is cleared (under the lock) no producer can
// push, so the channel may close; it still delivers what it holds.
void Clear(std::unique_lock<std::mutex>& lock) {
  Channel<LogLine>* old = g_sink.channel;
  g_sink = Sink{nullptr, nullptr};
  lock.unlock();
  if (old) old->Close();
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
  Channel<LogLine>* ch =
      Channel<LogLine>::Open(env, info[0].As<Napi::Function>(), "rms-native-log", kChannelCapacity, &Deliver);
  lock.lock();
  g_sink = Sink{env, ch};
  return env.Undefined();
}

void ClearLogSinkOf(napi_env env) {
  std::unique_lock<std::mutex> lock(SinkMutex());
  if (g_sink.channel && g_sink.env == env) Clear(lock);
}

}  // namespace rms
