// Addon entry: one Instance per Node environment, the classes, and the
// constants (method, event and filter ids) that lib/ needs to call methods by
// their C names without hard-coding numbers.
#include <napi.h>

#include <sys/socket.h>

#include <cerrno>
#include <cstring>
#include <mutex>
#include <set>
#include <vector>

#include "core/fd_usage.h"
#include "core/method_table.h"
#include "core/ms_init.h"
#include "errors.h"
#include "filters/audio_fork.h"
#include "filters/audio_inject.h"
#include "filters/dtmf_detect.h"
#include "filters/voice_detect.h"
#include "filters/wav_rec.h"
#include "forward/plane_wrap.h"
#include "instance.h"
#include "log_sink.h"
#include "wrappers.h"

namespace rms {

// native/secure/secure_wrap.cc
void DefineSecureClasses(Napi::Env env, Napi::Object exports);

void Instance::CloseAll() {
  tearingDown = true;
  // Copies: Close() may remove entries from the sets.
  for (Ticker* t : std::vector<Ticker*>(tickers.begin(), tickers.end())) t->Close();
  for (Filter* f : std::vector<Filter*>(filters.begin(), filters.end())) f->Close(f->Env(), true);
  for (RtpSessionWrap* s : std::vector<RtpSessionWrap*>(rtpSessions.begin(), rtpSessions.end()))
    s->Close(s->Env(), true);
  for (Factory* f : std::vector<Factory*>(factories.begin(), factories.end())) f->Close();
}

namespace {

// Environments alive in this process. On process.exit() Node may skip the
// environment cleanup hooks, while ms2 ticker threads keep running into
// exit()'s teardown of globals; an atexit handler stops them first.
std::mutex g_instancesMutex;
std::set<Instance*> g_instances;

void StopAllTickersAtExit() {
  std::lock_guard<std::mutex> lock(g_instancesMutex);
  for (Instance* inst : g_instances)
    for (Ticker* t : inst->tickers)
      if (t->handle()) ms_ticker_destroy(t->handle()), t->ForgetHandle();
}

void Cleanup(void* arg) {
  auto* inst = static_cast<Instance*>(arg);
  ClearLogSinkOf(inst->env);
  try {
    inst->CloseAll();
  } catch (...) {
    // Cleanup must not throw into Node's teardown.
  }
  std::lock_guard<std::mutex> lock(g_instancesMutex);
  g_instances.erase(inst);
}

Napi::Value InitJs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info[0].IsObject()) {
    Napi::Object opts = info[0].As<Napi::Object>();
    if (opts.Get("errors").IsObject()) SetErrorClasses(env, opts.Get("errors").As<Napi::Object>());
  }
  return env.Undefined();
}

Napi::Value SetLogLevelJs(const Napi::CallbackInfo& info) {
  if (!info[0].IsNumber()) Throw(info.Env(), code::kInvalidArgument, "Expected a log level -1..3");
  SetLibraryLogLevel(info[0].As<Napi::Number>().Int32Value());
  return info.Env().Undefined();
}

// fdUsage() -> { open, limit, hardLimit } (-1: unknown / unlimited)
Napi::Value FdUsageJs(const Napi::CallbackInfo& info) {
  FdUsage u = GetFdUsage();
  Napi::Object o = Napi::Object::New(info.Env());
  o.Set("open", static_cast<double>(u.open));
  o.Set("limit", static_cast<double>(u.limit));
  o.Set("hardLimit", static_cast<double>(u.hardLimit));
  return o;
}

// setSocketSendBuffer(fd, bytes) -> the size the kernel took. Caps a TCP
// socket's send buffer (and turns off its autotuning, which on loopback grows
// it to megabytes): an audio fork's WebSocket then feels a peer that stops
// reading within a second, and the fork's own bounded queue drops frames
// instead of the kernel holding minutes of audio per stalled peer.
Napi::Value SetSocketSendBufferJs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsNumber() || !info[1].IsNumber()) Throw(env, code::kInvalidArgument, "Expected (fd, bytes)");
  int fd = info[0].As<Napi::Number>().Int32Value();
  int bytes = info[1].As<Napi::Number>().Int32Value();
  if (fd < 0 || bytes < 4096 || bytes > 64 * 1024 * 1024)
    Throw(env, code::kInvalidArgument, "Expected a descriptor and 4 KiB .. 64 MiB");
  if (setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &bytes, sizeof(bytes)) != 0)
    Throw(env, code::kInvalidArgument, std::string("setsockopt(SO_SNDBUF) failed: ") + std::strerror(errno));
  int got = 0;
  socklen_t len = sizeof(got);
  getsockopt(fd, SOL_SOCKET, SO_SNDBUF, &got, &len);
  return Napi::Number::New(env, got);
}

Napi::Object Constants(Napi::Env env) {
  Napi::Object c = Napi::Object::New(env);
  Napi::Object methods = Napi::Object::New(env);
  for (const MethodInfo& m : AllMethods()) {
    Napi::Object o = Napi::Object::New(env);
    o.Set("id", static_cast<double>(m.id));
    o.Set("kind", ArgKindName(m.kind));
    if (m.bytes) o.Set("bytes", static_cast<double>(m.bytes));
    methods.Set(m.name, o);
  }
  c.Set("methods", methods);
  Napi::Object events = Napi::Object::New(env);
#define EV(name) events.Set(#name, static_cast<double>(name))
  EV(MS_FILE_PLAYER_EOF);
  EV(MS_PLAYER_EOF);
  EV(MS_DTMF_GEN_EVENT);
  EV(MS_DTMF_GEN_END);
  EV(MS_TONE_DETECTOR_EVENT);
  EV(MS_FILTER_OUTPUT_FMT_CHANGED);
  EV(MS_RTP_RECV_GENERIC_CN_RECEIVED);
  EV(RMS_DTMF_DETECT_EVENT);
  EV(RMS_DTMF_DETECT_START);
  EV(RMS_AUDIO_FORK_READY);
  EV(RMS_AUDIO_INJECT_MARK_EVENT);
  EV(RMS_VOICE_DETECT_EVENT);
  EV(RMS_WAV_REC_FAILED);
#undef EV
  c.Set("events", events);
  Napi::Object ids = Napi::Object::New(env);
#define ID(name) ids.Set(#name, static_cast<double>(name))
  ID(MS_RTP_RECV_ID);
  ID(MS_RTP_SEND_ID);
  ID(MS_RESAMPLE_ID);
  ID(MS_FILE_PLAYER_ID);
  ID(MS_FILE_REC_ID);
  ID(MS_DTMF_GEN_ID);
  ID(MS_TONE_DETECTOR_ID);
  ID(MS_VOLUME_ID);
  ID(MS_AUDIO_MIXER_ID);
  ID(MS_TEE_ID);
  ID(MS_VOID_SINK_ID);
  ID(MS_VOID_SOURCE_ID);
  ID(MS_GENERIC_PLC_ID);
#undef ID
  c.Set("filterIds", ids);
  Napi::Object ifaces = Napi::Object::New(env);
  ifaces.Set("audioEncoder", static_cast<double>(MSFilterAudioEncoderInterface));
  ifaces.Set("audioDecoder", static_cast<double>(MSFilterAudioDecoderInterface));
  ifaces.Set("player", static_cast<double>(MSFilterPlayerInterface));
  c.Set("interfaces", ifaces);
  Napi::Object sizes = Napi::Object::New(env);
  sizes.Set("MSToneDetectorDef", static_cast<double>(sizeof(MSToneDetectorDef)));
  sizes.Set("MSToneDetectorEvent", static_cast<double>(sizeof(MSToneDetectorEvent)));
  sizes.Set("MSDtmfGenEvent", static_cast<double>(sizeof(MSDtmfGenEvent)));
  sizes.Set("MSDtmfGenCustomTone", static_cast<double>(sizeof(MSDtmfGenCustomTone)));
  sizes.Set("MSAudioMixerCtl", static_cast<double>(sizeof(MSAudioMixerCtl)));
  sizes.Set("RmsDtmfEvent", static_cast<double>(sizeof(DtmfEvent)));
  sizes.Set("RmsDtmfParams", static_cast<double>(sizeof(DtmfParams)));
  sizes.Set("RmsAudioForkConfig", static_cast<double>(sizeof(AudioForkConfig)));
  sizes.Set("RmsFrameRingStats", static_cast<double>(sizeof(FrameRingStats)));
  sizes.Set("RmsAudioInjectConfig", static_cast<double>(sizeof(AudioInjectConfig)));
  sizes.Set("RmsInjectStats", static_cast<double>(sizeof(InjectStats)));
  sizes.Set("RmsInjectMark", static_cast<double>(sizeof(InjectMark)));
  sizes.Set("RmsVoiceParams", static_cast<double>(sizeof(VoiceParams)));
  sizes.Set("RmsVoiceEvent", static_cast<double>(sizeof(VoiceEvent)));
  c.Set("sizes", sizes);
  return c;
}

}  // namespace

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  EnsureLibrariesInitialised();
  InstallLogHandler();
  static std::once_flag atexitOnce;
  std::call_once(atexitOnce, [] { std::atexit(StopAllTickersAtExit); });

  auto* inst = new Instance();
  inst->env = env;
  env.SetInstanceData<Instance>(inst);
  {
    std::lock_guard<std::mutex> lock(g_instancesMutex);
    g_instances.insert(inst);
  }
  napi_add_env_cleanup_hook(env, Cleanup, inst);

  Napi::Function factory = Factory::Define(env);
  Napi::Function filter = Filter::Define(env);
  Napi::Function ticker = Ticker::Define(env);
  Napi::Function rtp = RtpSessionWrap::Define(env);
  inst->factoryCtor = Napi::Persistent(factory);
  inst->filterCtor = Napi::Persistent(filter);
  inst->tickerCtor = Napi::Persistent(ticker);
  inst->rtpSessionCtor = Napi::Persistent(rtp);
  exports.Set("Factory", factory);
  exports.Set("Filter", filter);
  exports.Set("Ticker", ticker);
  exports.Set("RtpSession", rtp);
  DefineForward(env, exports);
  DefineSecureClasses(env, exports);
  exports.Set("init", Napi::Function::New(env, InitJs));
  exports.Set("setLogLevel", Napi::Function::New(env, SetLogLevelJs));
  exports.Set("fdUsage", Napi::Function::New(env, FdUsageJs));
  exports.Set("setLogSink", Napi::Function::New(env, SetLogSinkJs));
  exports.Set("setSocketSendBuffer", Napi::Function::New(env, SetSocketSendBufferJs));
  exports.Set("constants", Constants(env));
  return exports;
}

}  // namespace rms

static Napi::Object InitAddon(Napi::Env env, Napi::Object exports) { return rms::Init(env, exports); }

NODE_API_MODULE(rtp_media_server, InitAddon)
