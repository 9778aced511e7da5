// Routes the native libraries' log lines (ms2, oRTP, bctoolbox) to a JS
// function instead of stderr, through a bounded Channel (channel.h): the
// handler runs on whatever thread logs and never waits for JS.
#pragma once
#include <napi.h>

namespace rms {
// Replaces bctoolbox's default handler once per process; until a sink is set
// (and after it is cleared) lines go to stderr in the libraries' own format.
void InstallLogHandler();
// setLogSink(fn(records, dropped) | null): records are [level, domain, message, count].
Napi::Value SetLogSinkJs(const Napi::CallbackInfo& info);
// Clears the sink if `env` set it (environment teardown).
void ClearLogSinkOf(napi_env env);
}  // namespace rms
