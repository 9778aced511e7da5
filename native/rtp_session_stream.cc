// What identifies the stream a session sends - its SSRC, the next sequence
// number and the timestamp offset - read to keep a call's state (Redis) and
// set when the call is restored, so that its peers see the same stream go on.
#include <cmath>

#include "errors.h"
#include "wrappers.h"

namespace rms {

// streamState() -> { ssrc, seq, tsOffset }
Napi::Value RtpSessionWrap::StreamState(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  CheckOpen(env);
  Napi::Object o = Napi::Object::New(env);
  o.Set("ssrc", static_cast<double>(rtp_session_get_send_ssrc(session_)));
  o.Set("seq", static_cast<double>(rtp_session_get_seq_number(session_)));
  o.Set("tsOffset", static_cast<double>(rtp_session_get_send_ts_offset(session_)));
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

// setStreamState({ ssrc?, seq?, tsOffset? }): before the session sends (no graph attached)
Napi::Value RtpSessionWrap::SetStreamState(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  CheckOpen(env);
  if (!info[0].IsObject()) Throw(env, code::kInvalidArgument, "Expected { ssrc, seq, tsOffset }");
  if (AnyUserAttached()) Throw(env, code::kInvalidState, "Set the stream state before the session's graph runs");
  Napi::Object o = info[0].As<Napi::Object>();
  if (!o.Get("ssrc").IsUndefined()) rtp_session_set_ssrc(session_, U32(env, o.Get("ssrc"), "ssrc", 4294967295.0));
  if (!o.Get("seq").IsUndefined())
    rtp_session_set_seq_number(session_, static_cast<uint16_t>(U32(env, o.Get("seq"), "seq", 65535)));
  if (!o.Get("tsOffset").IsUndefined())
    rtp_session_set_send_ts_offset(session_, U32(env, o.Get("tsOffset"), "tsOffset", 4294967295.0));
  return env.Undefined();
}

}  // namespace rms
