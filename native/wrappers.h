// The four native classes. Each is a thin owner of one C handle: it checks
// arguments and state, calls the C API, and frees the handle on close().
// Policy (defaults, negotiation, events) lives in TypeScript.
#pragma once
#include <napi.h>

#include <atomic>
#include <memory>
#include <utility>
#include <vector>

#include "channel.h"
#include "core/ms_includes.h"
#include "core/rtcp_store.h"
#include <ortp/event.h>
#include "core/tick_stats.h"
#include "session_quality.h"

namespace rms {

struct SessionSettings;  // core/session_settings.h

class Factory : public Napi::ObjectWrap<Factory> {
 public:
  static Napi::Function Define(Napi::Env env);
  explicit Factory(const Napi::CallbackInfo& info);
  ~Factory() override;
  MSFactory* handle() const { return factory_; }
  void Close();
  bool closed() const { return factory_ == nullptr; }

 private:
  Napi::Value CreateFilter(const Napi::CallbackInfo& info);
  Napi::Value CreateEncoder(const Napi::CallbackInfo& info);
  Napi::Value CreateDecoder(const Napi::CallbackInfo& info);
  Napi::Value CreateCodec(const Napi::CallbackInfo& info, bool encoder);
  Napi::Value ListFilters(const Napi::CallbackInfo& info);
  Napi::Value RegisterBuiltinFilter(const Napi::CallbackInfo& info);
  Napi::Value CloseJs(const Napi::CallbackInfo& info);
  Napi::Value Wrap(Napi::Env env, MSFilter* f);
  void CheckOpen(Napi::Env env) const;
  MSFactory* factory_ = nullptr;
};

// A filter notification, copied on the ticker thread (channel.h carries it
// to JS). The channel outlives the filter: it is closed only after the filter
// is destroyed, so no ticker can still push into it.
struct FilterEvent {
  unsigned int id;
  size_t size;
  unsigned char data[256];
};
using FilterEventChannel = Channel<FilterEvent>;

class Filter : public Napi::ObjectWrap<Filter> {
 public:
  static Napi::Function Define(Napi::Env env);
  explicit Filter(const Napi::CallbackInfo& info);
  ~Filter() override;
  void Init(Napi::Env env, MSFilter* f, Napi::Object factory);
  MSFilter* handle() const { return f_; }
  Factory* factory() const { return factoryWrap_; }
  // force: detach the filter's graph from its ticker first (used by the
  // cascading closes); otherwise closing an attached filter is an error.
  void Close(Napi::Env env, bool force);
  bool closed() const { return f_ == nullptr; }
  void SetAttachedRoot(bool v);
  // Set once a ticker has preprocessed the filter (it ran at least once).
  void MarkRan() { ran_ = true; }
  void UpdatePin();
  static Filter* FromValue(Napi::Env env, Napi::Value v, const char* what);
  static Filter* Lookup(Napi::Env env, MSFilter* f);

 private:
  Napi::Value Link(const Napi::CallbackInfo& info);
  Napi::Value Unlink(const Napi::CallbackInfo& info);
  Napi::Value Links(const Napi::CallbackInfo& info);
  Napi::Value Call(const Napi::CallbackInfo& info);
  Napi::Value Implements(const Napi::CallbackInfo& info);
  Napi::Value HasMethod(const Napi::CallbackInfo& info);
  Napi::Value OnNotify(const Napi::CallbackInfo& info);
  Napi::Value Info(const Napi::CallbackInfo& info);
  Napi::Value IsAttached(const Napi::CallbackInfo& info);
  Napi::Value CloseJs(const Napi::CallbackInfo& info);
  void CheckOpen(Napi::Env env) const;
  static void NotifyFromTicker(void* userData, MSFilter* f, unsigned int id, void* arg);

  MSFilter* f_ = nullptr;
  Factory* factoryWrap_ = nullptr;
  Napi::ObjectReference factory_;
  Napi::ObjectReference rtpSessionRef_;
  class RtpSessionWrap* rtpSession_ = nullptr;
  FilterEventChannel* sink_ = nullptr;
  bool attachedRoot_ = false;
  bool ran_ = false;
  bool pinned_ = false;
};

class Ticker : public Napi::ObjectWrap<Ticker> {
 public:
  static Napi::Function Define(Napi::Env env);
  explicit Ticker(const Napi::CallbackInfo& info);
  ~Ticker() override;
  MSTicker* handle() const { return ticker_; }
  void DetachGraphOf(MSFilter* f);
  void Close();
  static Ticker* Owning(Napi::Env env, MSTicker* t);
  // At process exit the ticker was destroyed behind our back (the instance's
  // handle map keeps a stale key; nothing looks it up any more).
  void ForgetHandle() { ticker_ = nullptr; }

 private:
  Napi::Value Attach(const Napi::CallbackInfo& info);
  Napi::Value Detach(const Napi::CallbackInfo& info);
  Napi::Value Stats(const Napi::CallbackInfo& info);
  Napi::Value ResetStats(const Napi::CallbackInfo& info);
  Napi::Value RefJs(const Napi::CallbackInfo& info);
  Napi::Value UnrefJs(const Napi::CallbackInfo& info);
  Napi::Value CloseJs(const Napi::CallbackInfo& info);
  void CheckOpen(Napi::Env env) const;
  void UpdateKeepAlive();

  MSTicker* ticker_ = nullptr;
  std::unique_ptr<TickStats> stats_;
  std::vector<MSFilter*> roots_;
  // Holds the event loop open while graphs run (like a listening socket), so
  // a script that starts a call does not exit under it. unref() opts out.
  Napi::ThreadSafeFunction keepAlive_;
  bool keepAliveRefd_ = false;
  bool userRef_ = true;
  bool pinned_ = false;
};

// Values oRTP asks for when it writes the RTCP XR VoIP metrics block (on the
// ticker thread); set from JS by the quality layer, read lock-free.
struct XrMediaValues {
  std::atomic<int> plc{0};            // OrtpRtcpXrPlcStatus
  std::atomic<int> signalLevel{127};  // dBm0, 127 = unavailable (RFC 3611)
  std::atomic<int> noiseLevel{127};
  std::atomic<float> mosCq{-1.f};  // 1..5, <0 = unavailable
  std::atomic<float> mosLq{-1.f};
};

// What crosses to JS: phase 0 start, 1 end, 2 end inferred (end packets lost,
// a new event began).
struct TelephoneEventReport {
  uint8_t phase;
  uint8_t event;
  uint8_t volume;
  uint16_t duration;  // in units of the telephone-event clock
  uint32_t timestamp;
};
using TelephoneEventChannel = Channel<TelephoneEventReport>;

// RFC 4733 state of one session, touched only by the thread reading it (a
// ticker): an event is identified by its RTP timestamp; its first packet
// reports a start, its first end packet an end, retransmitted ends nothing.
// Freed by the session's Close(), after the session (so no reader is left).
struct TelephoneEventSink {
  TelephoneEventChannel* channel = nullptr;
  bool active = false;  // an event seen and not yet ended
  bool any = false;     // lastTs is valid
  uint32_t lastTs = 0;
  uint8_t event = 0;
  uint16_t duration = 0;
  uint8_t volume = 0;
};

class RtpSessionWrap;

// A forwarding-plane relay (native/forward/) that owns a session's sockets
// while it runs; the session tells it what must not happen behind its back.
struct SessionForwarder {
  virtual ~SessionForwarder() = default;
  // The session is being closed (forced): stop relaying it now.
  virtual void OnSessionClosing(RtpSessionWrap* s) = 0;
  // setRemote() gave the session a new remote (numeric, checked).
  virtual void OnRemoteChanged(RtpSessionWrap* s, const std::string& addr, int rtpPort, int rtcpPort) = 0;
};

class RtpSessionWrap : public Napi::ObjectWrap<RtpSessionWrap> {
 public:
  static Napi::Function Define(Napi::Env env);
  explicit RtpSessionWrap(const Napi::CallbackInfo& info);
  ~RtpSessionWrap() override;
  RtpSession* handle() const { return session_; }
  void Close(Napi::Env env, bool force);
  bool closed() const { return session_ == nullptr; }
  void AddUser(Filter* f);
  void RemoveUser(Filter* f);
  static RtpSessionWrap* FromValue(Napi::Env env, Napi::Value v);
  LatchMode latch() const { return latch_; }
  bool GraphAttached() const { return AnyUserAttached(); }
  SessionForwarder* forwarder() const { return forwarder_; }
  // The lock of the ticker running a graph on this session, nullptr if none.
  ms_mutex_t* AttachedTickerMutex() const;
  void SetForwarder(SessionForwarder* f) { forwarder_ = f; }
  // Runs fn with the ticker of an attached user filter locked (or none
  // running the session): for settings made from outside (native/secure).
  template <class F>
  void WithTickerLock(F&& fn) const;

 private:
  Napi::Value Bind(const Napi::CallbackInfo& info);
  Napi::Value SetRemote(const Napi::CallbackInfo& info);
  Napi::Value SetPayloadTypes(const Napi::CallbackInfo& info);
  Napi::Value SetSendPayloadType(const Napi::CallbackInfo& info);
  Napi::Value SetRecvPayloadType(const Napi::CallbackInfo& info);
  Napi::Value SetJitterBuffer(const Napi::CallbackInfo& info);
  Napi::Value SetSymmetric(const Napi::CallbackInfo& info);
  Napi::Value SetLatch(const Napi::CallbackInfo& info);
  Napi::Value EnableRtcp(const Napi::CallbackInfo& info);
  Napi::Value SetRtcpInterval(const Napi::CallbackInfo& info);
  Napi::Value Stats(const Napi::CallbackInfo& info);
  Napi::Value Info(const Napi::CallbackInfo& info);
  Napi::Value OnTelephoneEvent(const Napi::CallbackInfo& info);
  Napi::Value ConfigureXr(const Napi::CallbackInfo& info);
  Napi::Value EnableRtcpEvents(const Napi::CallbackInfo& info);
  Napi::Value PollRtcp(const Napi::CallbackInfo& info);
  Napi::Value SetXrMedia(const Napi::CallbackInfo& info);
  Napi::Value QualityIndicator(const Napi::CallbackInfo& info);
  void CloseRtcpEvents();
  void InstallXrCallbacks();
  // rtp_session_quality.cc
  Napi::Value ConfigureRxQuality(const Napi::CallbackInfo& info);
  Napi::Value RxQualityJs(const Napi::CallbackInfo& info);
  Napi::Value SetXrFill(const Napi::CallbackInfo& info);
  Napi::Value SetCname(const Napi::CallbackInfo& info);
  void InstallQuality();
  // Live settings: posted to the thread that reads the session while a graph
  // runs it, applied at once otherwise (core/session_settings.h).
  void Change(Napi::Env env, const SessionSettings& c, const char* what);
  void SettleIfIdle();
  Napi::Value StreamState(const Napi::CallbackInfo& info);
  Napi::Value SetStreamState(const Napi::CallbackInfo& info);
  Napi::Value CloseJs(const Napi::CallbackInfo& info);
  void CheckOpen(Napi::Env env) const;
  bool AnyUserAttached() const;
  static void TelephoneEventPacketFromTicker(RtpSession* s, void* event, void* userData, void*);
  static void CollectRtcpFromTicker(void* self);

  RtpSession* session_ = nullptr;
  RtpProfile* profile_ = nullptr;
  std::vector<Filter*> users_;
  bool bound_ = false;
  bool remoteSet_ = false;
  TelephoneEventSink* dtmf_ = nullptr;
  std::string remoteAddr_;
  int remoteRtpPort_ = 0;
  int remoteRtcpPort_ = 0;
  LatchMode latch_ = LatchMode::kOpen;
  int boundFamily_ = 0;
  JBParameters jitter_{};  // as last set from JS (the ticker may be applying it)
  OrtpEvQueue* rtcpEvents_ = nullptr;
  std::unique_ptr<RtcpStore> rtcpStore_;
  std::unique_ptr<XrMediaValues> xrMedia_;
  MSQualityIndicator* qi_ = nullptr;
  // watched by the session's gate until rtp_session_destroy(): freed after it
  std::unique_ptr<SessionQuality> quality_;
  SessionForwarder* forwarder_ = nullptr;
};

template <class F>
void RtpSessionWrap::WithTickerLock(F&& fn) const {
  // security settings change at call set-up and re-keying only: taking the
  // ticker's lock for them is rare (everyday settings are posted instead)
  ms_mutex_t* m = AttachedTickerMutex();
  if (m) ms_mutex_lock(m);
  try {
    fn();
  } catch (...) {
    if (m) ms_mutex_unlock(m);
    throw;
  }
  if (m) ms_mutex_unlock(m);
}

}  // namespace rms
