// RTCP and RTCP XR (RFC 3611) of an RtpSession: what oRTP sends, and the
// reports it receives and emits, collected for the quality layer.
#include <cstring>
#include <string>

#include "core/session_settings.h"
#include "errors.h"
#include "rtcp_report.h"
#include "wrappers.h"

namespace rms {

// configureXr({ enabled, rcvrRtt: 'none'|'all'|'sender', rcvrRttMaxSize, statSummary, voipMetrics })
Napi::Value RtpSessionWrap::ConfigureXr(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  CheckOpen(env);
  if (!info[0].IsObject()) Throw(env, code::kInvalidArgument, "Expected RTCP XR options");
  Napi::Object o = info[0].As<Napi::Object>();
  OrtpRtcpXrConfiguration c{};
  c.enabled = o.Get("enabled").ToBoolean();
  std::string rtt = o.Get("rcvrRtt").IsString() ? o.Get("rcvrRtt").As<Napi::String>().Utf8Value() : "all";
  if (rtt == "none")
    c.rcvr_rtt_mode = OrtpRtcpXrRcvrRttNone;
  else if (rtt == "all")
    c.rcvr_rtt_mode = OrtpRtcpXrRcvrRttAll;
  else if (rtt == "sender")
    c.rcvr_rtt_mode = OrtpRtcpXrRcvrRttSender;
  else
    Throw(env, code::kInvalidArgument, "Expected rcvrRtt 'none', 'all' or 'sender', got " + rtt);
  c.rcvr_rtt_max_size =
      o.Get("rcvrRttMaxSize").IsNumber() ? o.Get("rcvrRttMaxSize").As<Napi::Number>().Int32Value() : 10000;
  c.stat_summary_enabled = o.Get("statSummary").ToBoolean();
  c.stat_summary_flags = static_cast<OrtpRtcpXrStatSummaryFlag>(OrtpRtcpXrStatSummaryLoss | OrtpRtcpXrStatSummaryDup |
                                                                OrtpRtcpXrStatSummaryJitt | OrtpRtcpXrStatSummaryTTL);
  c.voip_metrics_enabled = o.Get("voipMetrics").ToBoolean();
  SessionSettings change;
  change.hasXr = true;
  change.xr = c;
  Change(env, change, "the RTCP XR configuration");
  return env.Undefined();
}

// Registering an event queue edits a list the ticker thread walks, so it is
// only allowed before the session's graph runs. oRTP's queue is emptied into
// a bounded store (core/rtcp_store.h) by the ticker at each RTCP read and
// send, so a flood of RTCP never piles up in it.
Napi::Value RtpSessionWrap::EnableRtcpEvents(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  CheckOpen(env);
  if (rtcpEvents_ != nullptr) return env.Undefined();
  if (AnyUserAttached()) Throw(env, code::kInvalidState, "Enable RTCP events before the session's graph runs");
  rtcpEvents_ = ortp_ev_queue_new();
  rtcpStore_ = std::make_unique<RtcpStore>();
  rtp_session_register_event_queue(session_, rtcpEvents_);
  SetGateRtcpHook(session_, &RtpSessionWrap::CollectRtcpFromTicker, this);
  return env.Undefined();
}

void RtpSessionWrap::CollectRtcpFromTicker(void* self) {
  auto* s = static_cast<RtpSessionWrap*>(self);
  s->rtcpStore_->Collect(s->rtcpEvents_);
}

// pollRtcp() -> [{ direction, atMs, type: 'SR'|'RR'|'XR', ... }] since the
// last poll, oldest first: at most RtcpStore::kPerKind of each kind (SR, RR,
// each XR block type) per direction; what was pushed out unread is counted
// in stats().rtcpOverflow.
Napi::Value RtpSessionWrap::PollRtcp(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  CheckOpen(env);
  if (rtcpEvents_ == nullptr) Throw(env, code::kInvalidState, "Call enableRtcpEvents() first");
  // what no ticker collected yet (or all of it when no graph reads the session)
  rtcpStore_->Collect(rtcpEvents_);
  Napi::Array out = Napi::Array::New(env);
  for (const RtcpStore::Packet& p : rtcpStore_->Take()) {
    mblk_t* m = allocb(p.bytes.size(), 0);
    std::memcpy(m->b_wptr, p.bytes.data(), p.bytes.size());
    m->b_wptr += p.bytes.size();
    AppendRtcpCompound(env, m, p.received, p.atMs, out);
    // the peer's reports about our stream also feed ms2's quality indicator
    if (p.received && qi_ != nullptr) ms_quality_indicator_update_from_feedback(qi_, m);
    freemsg(m);
  }
  return out;
}

namespace {
// oRTP copies the callback struct field by field while a ticker may read it,
// so userdata can be seen NULL for an instant: answer "unavailable" then.
XrMediaValues* Values(void* ud) { return static_cast<XrMediaValues*>(ud); }
OrtpRtcpXrPlcStatus XrPlc(void* ud) {
  return ud ? static_cast<OrtpRtcpXrPlcStatus>(Values(ud)->plc.load()) : OrtpRtcpXrNoPlc;
}
int XrSignal(void* ud) { return ud ? Values(ud)->signalLevel.load() : 127; }
int XrNoise(void* ud) { return ud ? Values(ud)->noiseLevel.load() : 127; }
float XrMosCq(void* ud) { return ud ? Values(ud)->mosCq.load() : -1.f; }
float XrMosLq(void* ud) { return ud ? Values(ud)->mosLq.load() : -1.f; }
}  // namespace

// Installed once when the session is made, before any graph can run.
void RtpSessionWrap::InstallXrCallbacks() {
  xrMedia_ = std::make_unique<XrMediaValues>();
  OrtpRtcpXrMediaCallbacks cbs{};
  cbs.plc = XrPlc;
  cbs.signal_level = XrSignal;
  cbs.noise_level = XrNoise;
  cbs.average_qi = XrMosCq;
  cbs.average_lq_qi = XrMosLq;
  cbs.userdata = xrMedia_.get();
  rtp_session_set_rtcp_xr_media_callbacks(session_, &cbs);
}

namespace {

int LevelArg(Napi::Env env, Napi::Value v, const char* what) {
  if (v.IsUndefined() || v.IsNull()) return 127;
  if (!v.IsNumber()) Throw(env, code::kInvalidArgument, std::string("Expected dBm0 (number) for ") + what);
  double d = v.As<Napi::Number>().DoubleValue();
  if (d < -120 || d > 0) Throw(env, code::kInvalidArgument, std::string("Expected -120..0 dBm0 for ") + what);
  return static_cast<int>(d);
}
}  // namespace

// setXrMedia({ plc: 'none'|'silence'|'enhanced', signalLevel?, noiseLevel?, mosCq?, mosLq? })
// Absent levels and MOS are reported as unavailable (the callbacks are in
// place from the start, see InstallXrCallbacks).
Napi::Value RtpSessionWrap::SetXrMedia(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  CheckOpen(env);
  if (!info[0].IsObject()) Throw(env, code::kInvalidArgument, "Expected XR media values");
  Napi::Object o = info[0].As<Napi::Object>();
  std::string plc = o.Get("plc").IsString() ? o.Get("plc").As<Napi::String>().Utf8Value() : "none";
  int plcStatus = plc == "none"       ? OrtpRtcpXrNoPlc
                  : plc == "silence"  ? OrtpRtcpXrSilencePlc
                  : plc == "enhanced" ? OrtpRtcpXrEnhancedPlc
                                      : -1;
  if (plcStatus < 0) Throw(env, code::kInvalidArgument, "Expected plc 'none', 'silence' or 'enhanced'");
  auto mos = [&](const char* key) -> float {
    Napi::Value v = o.Get(key);
    if (v.IsUndefined() || v.IsNull()) return -1.f;
    if (!v.IsNumber()) Throw(env, code::kInvalidArgument, std::string("Expected a MOS 1..5 for ") + key);
    double d = v.As<Napi::Number>().DoubleValue();
    if (d < 1 || d > 5) Throw(env, code::kInvalidArgument, std::string("Expected a MOS 1..5 for ") + key);
    return static_cast<float>(d);
  };
  int signal = LevelArg(env, o.Get("signalLevel"), "signalLevel");
  int noise = LevelArg(env, o.Get("noiseLevel"), "noiseLevel");
  float cq = mos("mosCq");
  float lq = mos("mosLq");
  xrMedia_->plc = plcStatus;
  xrMedia_->signalLevel = signal;
  xrMedia_->noiseLevel = noise;
  xrMedia_->mosCq = cq;
  xrMedia_->mosLq = lq;
  return env.Undefined();
}

// qualityIndicator() -> ms2's own 0..5 rating of what this session receives
// (loss, late packets, jitter; RTT from RTCP feedback polled by pollRtcp()),
// updated now from the session's counters.
Napi::Value RtpSessionWrap::QualityIndicator(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  CheckOpen(env);
  if (qi_ == nullptr) qi_ = ms_quality_indicator_new(session_);
  ms_quality_indicator_update_local(qi_);
  Napi::Object o = Napi::Object::New(env);
  o.Set("rating", ms_quality_indicator_get_rating(qi_));
  o.Set("averageRating", ms_quality_indicator_get_average_rating(qi_));
  o.Set("lqRating", ms_quality_indicator_get_lq_rating(qi_));
  o.Set("averageLqRating", ms_quality_indicator_get_average_lq_rating(qi_));
  o.Set("localLossRate", ms_quality_indicator_get_local_loss_rate(qi_));
  o.Set("localLateRate", ms_quality_indicator_get_local_late_rate(qi_));
  return o;
}

void RtpSessionWrap::CloseRtcpEvents() {
  if (qi_ != nullptr) {
    ms_quality_indicator_destroy(qi_);
    qi_ = nullptr;
  }
  if (rtcpEvents_ == nullptr) return;
  // no ticker runs the session any more (its filters are closed)
  SetGateRtcpHook(session_, nullptr, nullptr);
  rtp_session_unregister_event_queue(session_, rtcpEvents_);
  ortp_ev_queue_destroy(rtcpEvents_);  // frees queued events (a tick's worth at most)
  rtcpEvents_ = nullptr;
  rtcpStore_.reset();
}

}  // namespace rms
