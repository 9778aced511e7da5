// RTCP and RTCP XR (RFC 3611) of an RtpSession: what oRTP sends, and the
// reports it receives and emits, collected for the quality layer.
#include <chrono>
#include <string>

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
  TickerLock lock(this);
  rtp_session_configure_rtcp_xr(session_, &c);
  return env.Undefined();
}

// Registering an event queue edits a list the ticker thread walks, so it is
// only allowed before the session's graph runs.
Napi::Value RtpSessionWrap::EnableRtcpEvents(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  CheckOpen(env);
  if (rtcpEvents_ != nullptr) return env.Undefined();
  if (AnyUserAttached()) Throw(env, code::kInvalidState, "Enable RTCP events before the session's graph runs");
  rtcpEvents_ = ortp_ev_queue_new();
  rtp_session_register_event_queue(session_, rtcpEvents_);
  return env.Undefined();
}

// pollRtcp() -> [{ direction, atMs, type: 'SR'|'RR'|'XR', ... }] since the last poll.
// The queue is oRTP's own (mutex-protected): the ticker thread fills it, we drain it.
Napi::Value RtpSessionWrap::PollRtcp(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  CheckOpen(env);
  if (rtcpEvents_ == nullptr) Throw(env, code::kInvalidState, "Call enableRtcpEvents() first");
  Napi::Array out = Napi::Array::New(env);
  const double now = static_cast<double>(
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
          .count());
  OrtpEvent* ev;
  while ((ev = ortp_ev_queue_get(rtcpEvents_)) != nullptr) {
    OrtpEventType t = ortp_event_get_type(ev);
    if (t == ORTP_EVENT_RTCP_PACKET_RECEIVED || t == ORTP_EVENT_RTCP_PACKET_EMITTED)
      AppendRtcpCompound(env, ortp_event_get_data(ev)->packet, t == ORTP_EVENT_RTCP_PACKET_RECEIVED, now, out);
    // the peer's reports about our stream also feed ms2's quality indicator
    if (t == ORTP_EVENT_RTCP_PACKET_RECEIVED && qi_ != nullptr && ortp_event_get_data(ev)->packet)
      ms_quality_indicator_update_from_feedback(qi_, ortp_event_get_data(ev)->packet);
    ortp_event_destroy(ev);
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
  rtp_session_unregister_event_queue(session_, rtcpEvents_);
  ortp_ev_queue_destroy(rtcpEvents_);  // frees queued events
  rtcpEvents_ = nullptr;
}

}  // namespace rms
