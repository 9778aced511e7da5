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
  if (rtt == "none") c.rcvr_rtt_mode = OrtpRtcpXrRcvrRttNone;
  else if (rtt == "all") c.rcvr_rtt_mode = OrtpRtcpXrRcvrRttAll;
  else if (rtt == "sender") c.rcvr_rtt_mode = OrtpRtcpXrRcvrRttSender;
  else Throw(env, code::kInvalidArgument, "Expected rcvrRtt 'none', 'all' or 'sender', got " + rtt);
  c.rcvr_rtt_max_size = o.Get("rcvrRttMaxSize").IsNumber() ? o.Get("rcvrRttMaxSize").As<Napi::Number>().Int32Value() : 10000;
  c.stat_summary_enabled = o.Get("statSummary").ToBoolean();
  c.stat_summary_flags = static_cast<OrtpRtcpXrStatSummaryFlag>(OrtpRtcpXrStatSummaryLoss | OrtpRtcpXrStatSummaryDup |
                                                                 OrtpRtcpXrStatSummaryJitt | OrtpRtcpXrStatSummaryTTL);
  c.voip_metrics_enabled = o.Get("voipMetrics").ToBoolean();
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
  const double now =
      static_cast<double>(std::chrono::duration_cast<std::chrono::milliseconds>(
                              std::chrono::system_clock::now().time_since_epoch())
                              .count());
  OrtpEvent* ev;
  while ((ev = ortp_ev_queue_get(rtcpEvents_)) != nullptr) {
    OrtpEventType t = ortp_event_get_type(ev);
    if (t == ORTP_EVENT_RTCP_PACKET_RECEIVED || t == ORTP_EVENT_RTCP_PACKET_EMITTED)
      AppendRtcpCompound(env, ortp_event_get_data(ev)->packet, t == ORTP_EVENT_RTCP_PACKET_RECEIVED, now, out);
    ortp_event_destroy(ev);
  }
  return out;
}

void RtpSessionWrap::CloseRtcpEvents() {
  if (rtcpEvents_ == nullptr) return;
  rtp_session_unregister_event_queue(session_, rtcpEvents_);
  ortp_ev_queue_destroy(rtcpEvents_);  // frees queued events
  rtcpEvents_ = nullptr;
}

}  // namespace rms
