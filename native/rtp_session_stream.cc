// What identifies the stream a session sends - its SSRC, the next sequence
// number and the last timestamp sent - read to keep a call's state (Redis)
// and set when the call is restored, so that its peers see the same stream
// go on (core/send_clock.h).
#include <cmath>

#include "core/recv_gate.h"
#include "core/send_clock.h"
#include "errors.h"
#include "wrappers.h"

namespace rms {

// streamState() -> { ssrc, seq, lastTs } (lastTs null before the first packet)
Napi::Value RtpSessionWrap::StreamState(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  CheckOpen(env);
  Napi::Object o = Napi::Object::New(env);
  o.Set("ssrc", static_cast<double>(rtp_session_get_send_ssrc(session_)));
  o.Set("seq", static_cast<double>(rtp_session_get_seq_number(session_)));
  uint32_t ts = 0;
  SendClock* clock = GetGateSendClock(session_);
  if (clock != nullptr && clock->Last(&ts))
    o.Set("lastTs", static_cast<double>(ts));
  else
    o.Set("lastTs", env.Null());
  return o;
}

static uint32_t U32(Napi::Env env, const Napi::Value& v, const char* what, double max) {
  if (!v.IsNumber()) Throw(env, code::kInvalidArgument, std::string("Expected a number for ") + what);
  double d = v.As<Napi::Number>().DoubleValue();
  if (!std::isfinite(d) || d < 0 || d > max || d != std::floor(d))
    Throw(env, code::kInvalidArgument,
          std::string("Expected an integer 0..") + std::to_string(static_cast<uint64_t>(max)) + " for " + what);
  return static_cast<uint32_t>(d);
}

// setStreamState({ ssrc?, seq?, nextTs? }): before the session sends (no graph attached)
Napi::Value RtpSessionWrap::SetStreamState(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  CheckOpen(env);
  if (!info[0].IsObject()) Throw(env, code::kInvalidArgument, "Expected { ssrc, seq, nextTs }");
  if (AnyUserAttached()) Throw(env, code::kInvalidState, "Set the stream state before the session's graph runs");
  Napi::Object o = info[0].As<Napi::Object>();
  if (!o.Get("ssrc").IsUndefined()) rtp_session_set_ssrc(session_, U32(env, o.Get("ssrc"), "ssrc", 4294967295.0));
  if (!o.Get("seq").IsUndefined())
    rtp_session_set_seq_number(session_, static_cast<uint16_t>(U32(env, o.Get("seq"), "seq", 65535)));
  if (!o.Get("nextTs").IsUndefined()) {
    SendClock* clock = GetGateSendClock(session_);
    if (clock == nullptr) Throw(env, code::kInvalidState, "This session has no gate to rebase its timestamps");
    clock->RebaseTo(U32(env, o.Get("nextTs"), "nextTs", 4294967295.0));
  }
  return env.Undefined();
}

}  // namespace rms
