#include "forward/plane_wrap.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <time.h>

#include <chrono>
#include <cmath>
#include <string>
#include <utility>
#include <vector>

#include "errors.h"
#include "rtcp_report.h"

namespace rms {

namespace {

// RFC 4733 events one relay may have waiting for JS (a channel's bound).
constexpr size_t kMaxPendingEvents = 32;

// Marks our objects, so that a plane passed to a relay is really one.
const napi_type_tag kPlaneTag = {0x7f0c5a2e91d34b61ull, 0xa8e2f3b4c5d60718ull};

uint64_t MonoNs() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000000000ull + static_cast<uint64_t>(ts.tv_nsec);
}

double EpochMs() {
  return static_cast<double>(
             std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::system_clock::now().time_since_epoch())
                 .count()) /
         1000.0;
}

// A CLOCK_MONOTONIC time as Date.now() milliseconds (null for 0).
Napi::Value AsEpochMs(Napi::Env env, uint64_t ns, uint64_t nowNs, double nowMs) {
  if (ns == 0) return env.Null();
  return Napi::Number::New(env, nowMs - static_cast<double>(nowNs - ns) / 1e6);
}

LatchMode LatchArg(Napi::Env env, Napi::Value v, LatchMode dflt) {
  if (v.IsUndefined()) return dflt;
  std::string m = v.IsString() ? v.As<Napi::String>().Utf8Value() : "";
  if (m == "strict") return LatchMode::kStrict;
  if (m == "once") return LatchMode::kOnce;
  if (m == "always") return LatchMode::kAlways;
  Throw(env, code::kInvalidArgument, "latch must be 'strict', 'once' or 'always'");
}

// A numeric address and port (checked by RtpSessionWrap::SetRemote); port 0: none.
fwd::Address AddressOf(const std::string& addr, int port) {
  fwd::Address a;
  if (port <= 0) return a;
  sockaddr_storage ss{};
  auto* v4 = reinterpret_cast<sockaddr_in*>(&ss);
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&ss);
  if (inet_pton(AF_INET, addr.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(static_cast<uint16_t>(port));
    a.Set(reinterpret_cast<sockaddr*>(&ss), sizeof(sockaddr_in));
  } else if (inet_pton(AF_INET6, addr.c_str(), &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(static_cast<uint16_t>(port));
    a.Set(reinterpret_cast<sockaddr*>(&ss), sizeof(sockaddr_in6));
  }
  return a;
}

Napi::Value SourceValue(Napi::Env env, const std::string& s) {
  return s.empty() ? env.Null() : Napi::String::New(env, s);
}

Napi::Object DirectionStats(Napi::Env env, const fwd::Relay& r, int dir, uint64_t nowNs, double nowMs) {
  const fwd::StreamSnapshot s = r.Stats(dir);
  const fwd::DirectionCounters& c = r.counters(dir);
  auto n = [](const std::atomic<uint64_t>& a) { return static_cast<double>(a.load(std::memory_order_relaxed)); };
  Napi::Object o = Napi::Object::New(env);
  o.Set("packets", static_cast<double>(s.packets));
  o.Set("bytes", static_cast<double>(s.bytes));
  o.Set("forwarded", n(c.forwarded));
  o.Set("silencedPackets", n(c.silenced));
  o.Set("ssrc", s.packets ? Napi::Value(Napi::Number::New(env, s.ssrc)) : env.Null());
  o.Set("ssrcChanges", s.ssrcChanges);
  o.Set("expected", static_cast<double>(s.expected));
  o.Set("lost", static_cast<double>(s.lost));
  o.Set("duplicates", static_cast<double>(s.duplicates));
  o.Set("reordered", static_cast<double>(s.reordered));
  o.Set("late", static_cast<double>(s.late));
  o.Set("highestSeq", static_cast<double>(s.highestSeq));
  o.Set("jitter", s.jitter);
  o.Set("clockRate", s.clockRate);
  o.Set("jitterMs", s.clockRate ? s.jitter * 1000.0 / s.clockRate : 0.0);
  o.Set("lastArrivalMs", AsEpochMs(env, s.lastArrivalNs, nowNs, nowMs));
  o.Set("source", SourceValue(env, r.Source(dir, false)));
  o.Set("rtcpSource", SourceValue(env, r.Source(dir, true)));
  o.Set("sourceMoves", n(c.moves));
  o.Set("sourceConnected", r.Connected(dir, false));
  o.Set("blocked", r.blocked(dir));
  o.Set("silenced", r.silenced(dir));
  Napi::Object d = Napi::Object::New(env);
  d.Set("blocked", n(c.blocked));
  d.Set("refused", n(c.refused));
  d.Set("malformed", n(c.malformed));
  d.Set("noDestination", n(c.noDestination));
  d.Set("sendErrors", n(c.sendErrors));
  d.Set("silenceUnsupported", n(c.silenceUnsupported));
  o.Set("dropped", d);
  Napi::Object b = Napi::Object::New(env);
  b.Set("packets", s.burst.packets);
  b.Set("lost", s.burst.lost);
  b.Set("burstPackets", s.burst.burstPackets);
  b.Set("burstLost", s.burst.burstLost);
  b.Set("bursts", s.burst.bursts);
  b.Set("gmin", s.burst.gmin);
  o.Set("burst", b);
  Napi::Object rt = Napi::Object::New(env);
  rt.Set("packets", n(c.rtcpPackets));
  rt.Set("bytes", n(c.rtcpBytes));
  rt.Set("forwarded", n(c.rtcpForwarded));
  rt.Set("refused", n(c.rtcpRefused));
  rt.Set("sr", n(c.rtcpSr));
  rt.Set("rr", n(c.rtcpRr));
  rt.Set("xr", n(c.rtcpXr));
  rt.Set("other", n(c.rtcpOther));
  o.Set("rtcp", rt);
  return o;
}

Napi::Value Compound(Napi::Env env, const std::vector<uint8_t>& bytes, uint64_t ns, uint64_t nowNs, double nowMs) {
  if (bytes.empty()) return env.Null();
  mblk_t* m = allocb(bytes.size(), 0);
  std::memcpy(m->b_wptr, bytes.data(), bytes.size());
  m->b_wptr += bytes.size();
  Napi::Array out = Napi::Array::New(env);
  AppendRtcpCompound(env, m, true, AsEpochMs(env, ns, nowNs, nowMs).As<Napi::Number>().DoubleValue(), out);
  freemsg(m);
  return out;
}

}  // namespace

// ---------------------------------------------------------------------------
// ForwardPlane
// ---------------------------------------------------------------------------

Napi::Function ForwardPlaneWrap::Define(Napi::Env env) {
  return DefineClass(env, "NativeForwardPlane",
                     {
                         InstanceMethod<&ForwardPlaneWrap::Stats>("stats"),
                         InstanceMethod<&ForwardPlaneWrap::CloseJs>("close"),
                     });
}

// new ForwardPlane(threads?: number)
ForwardPlaneWrap::ForwardPlaneWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<ForwardPlaneWrap>(info) {
  Napi::Env env = info.Env();
  int threads = 0;
  if (!info[0].IsUndefined()) {
    double d = info[0].IsNumber() ? info[0].As<Napi::Number>().DoubleValue() : -1;
    if (!std::isfinite(d) || d < 0 || d > 64 || d != std::floor(d))
      Throw(env, code::kInvalidArgument, "threads must be an integer 0..64 (0: one per CPU)");
    threads = static_cast<int>(d);
  }
  plane_ = std::make_unique<fwd::Plane>(threads);
  bool any = false;
  for (auto& w : plane_->workers()) any = any || w->ok();
  if (!any) {
    plane_.reset();
    Throw(env, code::kInvalidState, "The forwarding plane could not start its threads");
  }
  napi_type_tag_object(env, info.This(), &kPlaneTag);
  env_ = env;
  // environment teardown: relays and threads stop before the sessions close
  hook_ = napi_add_env_cleanup_hook(env, &ForwardPlaneWrap::Cleanup, this) == napi_ok;
}

ForwardPlaneWrap::~ForwardPlaneWrap() {
  Close();
  if (hook_) napi_remove_env_cleanup_hook(env_, &ForwardPlaneWrap::Cleanup, this);
}

void ForwardPlaneWrap::Cleanup(void* arg) {
  auto* self = static_cast<ForwardPlaneWrap*>(arg);
  self->hook_ = false;
  self->Close();
}

void ForwardPlaneWrap::Close() {
  for (RelayWrap* r : std::set<RelayWrap*>(relays)) r->Stop();
  relays.clear();
  if (plane_) plane_->Close();
  plane_.reset();
}

ForwardPlaneWrap* ForwardPlaneWrap::FromValue(Napi::Env env, Napi::Value v) {
  bool ok = false;
  if (v.IsObject()) napi_check_object_type_tag(env, v, &kPlaneTag, &ok);
  if (!ok) Throw(env, code::kInvalidArgument, "Expected a ForwardPlane");
  ForwardPlaneWrap* p = Unwrap(v.As<Napi::Object>());
  p->CheckOpen(env);
  return p;
}

void ForwardPlaneWrap::CheckOpen(Napi::Env env) const {
  if (!plane_) Throw(env, code::kInvalidState, "The ForwardPlane is closed");
}

// stats() -> { threads: [{ relays, received, sent, wakeups }] }
Napi::Value ForwardPlaneWrap::Stats(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  CheckOpen(env);
  Napi::Array threads = Napi::Array::New(env);
  for (auto& w : plane_->workers()) {
    Napi::Object t = Napi::Object::New(env);
    t.Set("relays", static_cast<double>(w->relays));
    t.Set("received", static_cast<double>(w->received()));
    t.Set("sent", static_cast<double>(w->sent()));
    t.Set("wakeups", static_cast<double>(w->wakeups()));
    t.Set("busy", w->busy());
    threads.Set(threads.Length(), t);
  }
  Napi::Object o = Napi::Object::New(env);
  o.Set("threads", threads);
  o.Set("relays", static_cast<double>(plane_->relays()));
  return o;
}

Napi::Value ForwardPlaneWrap::CloseJs(const Napi::CallbackInfo& info) {
  Close();
  return info.Env().Undefined();
}

// ---------------------------------------------------------------------------
// Relay
// ---------------------------------------------------------------------------

// JS thread, for each event the channel delivers.
void DeliverRelayEvent(Napi::Env env, Napi::Function cb, const fwd::TelephoneEvent& ev, uint64_t droppedBefore) {
  static const char* kPhase[] = {"start", "end", "endLost"};
  Napi::Object o = Napi::Object::New(env);
  o.Set("direction", ev.direction == 0 ? "aToB" : "bToA");
  o.Set("phase", kPhase[ev.phase <= 2 ? ev.phase : 0]);
  o.Set("event", ev.event);
  o.Set("volume", ev.volume);
  o.Set("duration", ev.duration);
  o.Set("clockRate", ev.clockRate);
  o.Set("timestamp", static_cast<double>(ev.timestamp));
  cb.Call({o, Napi::Number::New(env, static_cast<double>(droppedBefore))});
}

Napi::Function RelayWrap::Define(Napi::Env env) {
  return DefineClass(env, "NativeRelay",
                     {
                         InstanceMethod<&RelayWrap::Stats>("stats"),
                         InstanceMethod<&RelayWrap::Rtcp>("rtcp"),
                         InstanceMethod<&RelayWrap::SetBlocked>("setBlocked"),
                         InstanceMethod<&RelayWrap::SetSilenced>("setSilenced"),
                         InstanceMethod<&RelayWrap::OnEvents>("onEvents"),
                         InstanceMethod<&RelayWrap::IsClosed>("isClosed"),
                         InstanceMethod<&RelayWrap::CloseJs>("close"),
                     });
}

// new Relay(plane, sessionA, sessionB, { ptMap?: [[ptA, ptB]], latchA?, latchB?, handover? })
RelayWrap::RelayWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<RelayWrap>(info) {
  Napi::Env env = info.Env();
  ForwardPlaneWrap* plane = ForwardPlaneWrap::FromValue(env, info[0]);
  RtpSessionWrap* s[2] = {RtpSessionWrap::FromValue(env, info[1]), RtpSessionWrap::FromValue(env, info[2])};
  if (s[0] == s[1]) Throw(env, code::kInvalidArgument, "A relay needs two different endpoints");
  Napi::Object opts = info[3].IsObject() ? info[3].As<Napi::Object>() : Napi::Object::New(env);
  fwd::RelaySetup setup;
  std::vector<std::pair<int, int>> map;
  if (!opts.Get("ptMap").IsUndefined()) {
    if (!opts.Get("ptMap").IsArray()) Throw(env, code::kInvalidArgument, "ptMap must be a list of [ptA, ptB]");
    Napi::Array list = opts.Get("ptMap").As<Napi::Array>();
    for (uint32_t i = 0; i < list.Length(); ++i) {
      Napi::Value e = list.Get(i);
      if (!e.IsArray() || e.As<Napi::Array>().Length() != 2 || !e.As<Napi::Array>().Get(0u).IsNumber() ||
          !e.As<Napi::Array>().Get(1u).IsNumber())
        Throw(env, code::kInvalidArgument, "ptMap must be a list of [ptA, ptB]");
      double a = e.As<Napi::Array>().Get(0u).As<Napi::Number>().DoubleValue();
      double b = e.As<Napi::Array>().Get(1u).As<Napi::Number>().DoubleValue();
      if (a != std::floor(a) || b != std::floor(b) || a < 0 || a > 127 || b < 0 || b > 127)
        Throw(env, code::kInvalidArgument, "ptMap payload types must be integers 0..127");
      map.emplace_back(static_cast<int>(a), static_cast<int>(b));
    }
  }
  const char* latchKeys[2] = {"latchA", "latchB"};
  for (int i = 0; i < 2; ++i) {
    if (s[i]->forwarder() != nullptr) Throw(env, code::kInUse, "The endpoint is already relayed");
    if (s[i]->GraphAttached())
      Throw(env, code::kInvalidState, "The endpoint's graph is running; detach it before relaying the endpoint");
    setup.side[i].session = s[i]->handle();
    setup.side[i].gateMode = s[i]->latch();
    setup.side[i].latch = LatchArg(env, opts.Get(latchKeys[i]), s[i]->latch());
    setup.side[i].handover = opts.Get("handover").ToBoolean();
  }
  std::string err = fwd::BuildPtRules(map, &setup);
  if (!err.empty()) Throw(env, code::kInvalidArgument, "ptMap: " + err);
  relay_ = plane->plane()->Start(setup, &err);
  if (relay_ == nullptr) Throw(env, code::kInvalidState, "Cannot relay: " + err);
  plane_ = plane;
  plane->relays.insert(this);
  planeRef_ = Napi::Persistent(info[0].As<Napi::Object>());
  for (int i = 0; i < 2; ++i) {
    sessions_[i] = s[i];
    sessionRefs_[i] = Napi::Persistent(info[1 + i].As<Napi::Object>());
    s[i]->SetForwarder(this);
  }
}

RelayWrap::~RelayWrap() { Stop(); }

void RelayWrap::Stop() {
  if (relay_ == nullptr) return;
  // A graph may have been attached to the endpoints while relayed (it hears
  // nothing while the gates are suspended); its ticker must not be inside
  // oRTP while the gates and remotes are handed back.
  ms_mutex_t* locks[2] = {nullptr, nullptr};
  for (int i = 0; i < 2; ++i) {
    if (sessions_[i] == nullptr) continue;
    relay_->SetGateMode(i, sessions_[i]->latch());
    locks[i] = sessions_[i]->AttachedTickerMutex();
  }
  if (locks[0] == locks[1]) locks[1] = nullptr;
  if (locks[0] != nullptr && locks[1] != nullptr && locks[1] < locks[0]) std::swap(locks[0], locks[1]);
  for (ms_mutex_t* m : locks)
    if (m != nullptr) ms_mutex_lock(m);
  plane_->plane()->Stop(relay_);
  for (ms_mutex_t* m : locks)
    if (m != nullptr) ms_mutex_unlock(m);
  relay_ = nullptr;
  plane_->relays.erase(this);
  for (int i = 0; i < 2; ++i) {
    if (sessions_[i] != nullptr) sessions_[i]->SetForwarder(nullptr);
    sessions_[i] = nullptr;
    if (!sessionRefs_[i].IsEmpty()) sessionRefs_[i].Reset();
  }
  if (!planeRef_.IsEmpty()) planeRef_.Reset();
  if (events_) {
    // no worker pushes any more: what is queued is delivered, then the channel goes
    events_->channel->Close();
    events_.reset();
  }
}

void RelayWrap::OnSessionClosing(RtpSessionWrap*) { Stop(); }

void RelayWrap::OnRemoteChanged(RtpSessionWrap* s, const std::string& addr, int rtpPort, int rtcpPort) {
  if (relay_ == nullptr) return;
  const int side = s == sessions_[0] ? 0 : 1;
  fwd::Address rtp = AddressOf(addr, rtpPort), rtcp = AddressOf(addr, rtcpPort);
  fwd::Relay* r = relay_;
  plane_->plane()->RunOn(r, [&] { r->SetRemote(side, rtp, rtcp); });
}

void RelayWrap::CheckOpen(Napi::Env env) const {
  if (relay_ == nullptr) Throw(env, code::kInvalidState, "The relay is closed");
}

int RelayWrap::DirArg(const Napi::CallbackInfo& info) const {
  std::string d = info[0].IsString() ? info[0].As<Napi::String>().Utf8Value() : "";
  if (d == "aToB") return 0;
  if (d == "bToA") return 1;
  Throw(info.Env(), code::kInvalidArgument, "direction must be 'aToB' or 'bToA'");
}

// stats() -> { aToB, bToA, events: { queued, dropped } }
Napi::Value RelayWrap::Stats(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  CheckOpen(env);
  const uint64_t nowNs = MonoNs();
  const double nowMs = EpochMs();
  Napi::Object o = Napi::Object::New(env);
  o.Set("aToB", DirectionStats(env, *relay_, 0, nowNs, nowMs));
  o.Set("bToA", DirectionStats(env, *relay_, 1, nowNs, nowMs));
  Napi::Object ev = Napi::Object::New(env);
  ev.Set("queued", events_ ? static_cast<double>(events_->queued.load(std::memory_order_relaxed)) : 0.0);
  ev.Set("dropped", events_ ? static_cast<double>(events_->channel->dropped()) : 0.0);
  o.Set("events", ev);
  return o;
}

// rtcp() -> { a: { sr, rr, xr }, b: ... }: the latest compound holding each,
// parsed as RtpSession.pollRtcp() does (null: none yet)
Napi::Value RelayWrap::Rtcp(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  CheckOpen(env);
  const uint64_t nowNs = MonoNs();
  const double nowMs = EpochMs();
  Napi::Object o = Napi::Object::New(env);
  for (int side = 0; side < 2; ++side) {
    fwd::RtcpLatest l = relay_->LatestRtcp(side);
    Napi::Object s = Napi::Object::New(env);
    s.Set("sr", Compound(env, l.sr, l.srNs, nowNs, nowMs));
    s.Set("rr", Compound(env, l.rr, l.rrNs, nowNs, nowMs));
    s.Set("xr", Compound(env, l.xr, l.xrNs, nowNs, nowMs));
    o.Set(side == 0 ? "a" : "b", s);
  }
  return o;
}

Napi::Value RelayWrap::SetBlocked(const Napi::CallbackInfo& info) {
  CheckOpen(info.Env());
  relay_->SetBlocked(DirArg(info), info[1].ToBoolean());
  return info.Env().Undefined();
}

Napi::Value RelayWrap::SetSilenced(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  CheckOpen(env);
  int dir = DirArg(info);
  bool on = info[1].ToBoolean();
  if (on && !relay_->CanSilence(dir))
    Throw(env, code::kUnsupported,
          "Silence is only written for G.711 (PCMU, PCMA); the sending endpoint has other audio payload types");
  relay_->SetSilenced(dir, on);
  return env.Undefined();
}

// onEvents(cb(event: { direction, phase, event, volume, duration, clockRate, timestamp }, droppedBefore))
Napi::Value RelayWrap::OnEvents(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  CheckOpen(env);
  if (!info[0].IsFunction()) Throw(env, code::kInvalidArgument, "Expected a function for onEvents()");
  if (events_) Throw(env, code::kInvalidState, "onEvents() was already called on this relay");
  events_ = std::make_unique<RelayEventSink>(Channel<fwd::TelephoneEvent>::Open(
      env, info[0].As<Napi::Function>(), "rms-relay-events", kMaxPendingEvents, &DeliverRelayEvent));
  fwd::Relay* r = relay_;
  fwd::EventSink* sink = events_.get();
  plane_->plane()->RunOn(r, [&] { r->SetEvents(sink); });
  return env.Undefined();
}

Napi::Value RelayWrap::IsClosed(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), relay_ == nullptr);
}

Napi::Value RelayWrap::CloseJs(const Napi::CallbackInfo& info) {
  Stop();
  return info.Env().Undefined();
}

void DefineForward(Napi::Env env, Napi::Object exports) {
  exports.Set("ForwardPlane", ForwardPlaneWrap::Define(env));
  exports.Set("Relay", RelayWrap::Define(env));
}

}  // namespace rms
