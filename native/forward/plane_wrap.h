// The forwarding plane for JS: NativeForwardPlane (the worker threads) and
// NativeRelay (one relay between two RtpSessions). Argument checks, typed
// errors and the JS shapes live here; the plane itself (plane.h, relay.h)
// knows nothing of Node.
#pragma once
#include <napi.h>

#include <memory>
#include <set>

#include "channel.h"
#include "forward/plane.h"
#include "wrappers.h"

namespace rms {

class RelayWrap;

class ForwardPlaneWrap : public Napi::ObjectWrap<ForwardPlaneWrap> {
 public:
  static Napi::Function Define(Napi::Env env);
  explicit ForwardPlaneWrap(const Napi::CallbackInfo& info);
  ~ForwardPlaneWrap() override;
  static ForwardPlaneWrap* FromValue(Napi::Env env, Napi::Value v);
  fwd::Plane* plane() const { return plane_.get(); }
  void CheckOpen(Napi::Env env) const;
  std::set<RelayWrap*> relays;
  // Stops every relay, then the threads. Idempotent.
  void Close();

 private:
  Napi::Value Stats(const Napi::CallbackInfo& info);
  Napi::Value CloseJs(const Napi::CallbackInfo& info);
  static void Cleanup(void* arg);
  std::unique_ptr<fwd::Plane> plane_;
  napi_env env_ = nullptr;
  bool hook_ = false;
};

// A relay's RFC 4733 events into the addon's bounded channel to JS.
class RelayEventSink : public fwd::EventSink {
 public:
  explicit RelayEventSink(Channel<fwd::TelephoneEvent>* ch) : channel(ch) {}
  void Push(const fwd::TelephoneEvent& e) override {  // worker thread
    if (channel->Push(e)) queued.store(queued.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
  }
  Channel<fwd::TelephoneEvent>* channel;  // closed by RelayWrap::Stop, after the relay stopped
  std::atomic<uint64_t> queued{0};        // accepted by the channel
};

class RelayWrap : public Napi::ObjectWrap<RelayWrap>, public SessionForwarder {
 public:
  static Napi::Function Define(Napi::Env env);
  explicit RelayWrap(const Napi::CallbackInfo& info);
  ~RelayWrap() override;
  // Synchronous: afterwards the sockets are the sessions' again. Idempotent.
  void Stop();
  void OnSessionClosing(RtpSessionWrap* s) override;
  void OnRemoteChanged(RtpSessionWrap* s, const std::string& addr, int rtpPort, int rtcpPort) override;

 private:
  Napi::Value Stats(const Napi::CallbackInfo& info);
  Napi::Value Rtcp(const Napi::CallbackInfo& info);
  Napi::Value SetBlocked(const Napi::CallbackInfo& info);
  Napi::Value SetSilenced(const Napi::CallbackInfo& info);
  Napi::Value OnEvents(const Napi::CallbackInfo& info);
  Napi::Value CloseJs(const Napi::CallbackInfo& info);
  Napi::Value IsClosed(const Napi::CallbackInfo& info);
  int DirArg(const Napi::CallbackInfo& info) const;
  void CheckOpen(Napi::Env env) const;

  ForwardPlaneWrap* plane_ = nullptr;
  fwd::Relay* relay_ = nullptr;
  RtpSessionWrap* sessions_[2] = {nullptr, nullptr};
  Napi::ObjectReference planeRef_;
  Napi::ObjectReference sessionRefs_[2];
  std::unique_ptr<RelayEventSink> events_;
};

// Adds ForwardPlane and Relay to the addon's exports.
void DefineForward(Napi::Env env, Napi::Object exports);

}  // namespace rms
