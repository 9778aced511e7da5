// What an RtpSession measures on the packets it receives (core/rx_quality.h)
// and the XR blocks it sends completed with it (core/xr_fill.h).
#include <cmath>
#include <random>
#include <string>

#include "core/xr_fill.h"
#include "errors.h"
#include "session_quality.h"
#include "wrappers.h"

namespace rms {

JitterBufferNow CurrentJitterBuffer(RtpSession* s) {
  JitterBufferNow jb;
  if (!rtp_session_jitter_buffer_enabled(s)) return jb;
  JBParameters p;
  rtp_session_get_jitter_buffer_params(s, &p);
  jb.enabled = true;
  jb.adaptive = p.adaptive != 0;
  jb.nominalMs = p.nom_size;
  const int clock = s->rtp.jittctl.clock_rate;
  // oRTP's adaptive buffer aims at adapt_jitt_comp_ts once packets flow
  if (jb.adaptive && clock > 0 && s->rtp.jittctl.adapt_jitt_comp_ts > 0)
    jb.nominalMs = static_cast<int>(std::lround(s->rtp.jittctl.adapt_jitt_comp_ts * 1000.0 / clock));
  jb.maxMs = jb.nominalMs;
  jb.absMaxMs = jb.adaptive ? std::max(p.max_size, jb.nominalMs) : jb.nominalMs;
  return jb;
}

namespace {

uint8_t Mos10(float mos) {
  if (!(mos >= 1.f)) return 127;
  const long v = std::lround(mos * 10.f);
  return static_cast<uint8_t>(v < 10 ? 10 : v > 50 ? 50 : v);
}

uint16_t Ms16(double ms) {
  if (!(ms > 0)) return 0;
  return static_cast<uint16_t>(ms > 65535 ? 65535 : std::lround(ms));
}

bool HasXrBlock(const uint8_t* buf, size_t len, uint8_t bt) {
  size_t off = 0;
  while (off + 4 <= len) {
    const uint8_t* p = buf + off;
    const size_t plen = ((static_cast<size_t>(p[2]) << 8 | p[3]) + 1) * 4;
    if ((p[0] >> 6) != 2 || plen > len - off) return false;
    if (p[1] == 207) {
      for (size_t b = 8; b + 4 <= plen;) {
        if (p[b] == bt) return true;
        b += ((static_cast<size_t>(p[b + 2]) << 8 | p[b + 3]) + 1) * 4;
      }
    }
    off += plen;
  }
  return false;
}

}  // namespace

void SessionQuality::OnRtcpSend(RtpSession* session, mblk_t* m) {
  if (!fill.fill.load(std::memory_order_relaxed)) return;
  if (m->b_cont != nullptr) msgpullup(m, static_cast<size_t>(-1));
  uint8_t* buf = m->b_rptr;
  const size_t len = static_cast<size_t>(m->b_wptr - m->b_rptr);
  const bool hasVoip = HasXrBlock(buf, len, 7);
  const bool hasStat = HasXrBlock(buf, len, 6);
  if (!hasVoip && !hasStat) return;

  XrVoipFill v;
  const RxQualitySnapshot s = rx.Snapshot();
  v.gmin = static_cast<uint8_t>(rx.gmin() > 255 ? 255 : rx.gmin());
  if (s.expected > 0) {
    const double expected = static_cast<double>(s.expected);
    const rtp_stats_t* st = rtp_session_get_stats(session);
    v.lossRate = Rfc3611Fraction(static_cast<double>(s.lost) / expected);
    v.discardRate = Rfc3611Fraction(static_cast<double>(st->outoftime + st->discarded) / expected);
    const double packetMs = fill.packetMs.load(std::memory_order_relaxed);
    const BurstGapFigures f = A2Figures(s.a2.c11, s.a2.c13, s.a2.c14, s.a2.c22, s.a2.c23, s.a2.c33, packetMs);
    v.burstDensity = Rfc3611Fraction(f.burstDensity);
    v.gapDensity = Rfc3611Fraction(f.gapDensity);
    v.burstDurationMs = Ms16(f.burstDurationMs);
    v.gapDurationMs = Ms16(f.gapDurationMs);
  }
  if (s.received > 0) {
    const int r = fill.rFactor.load(std::memory_order_relaxed);
    v.rFactor = static_cast<uint8_t>(r >= 0 && r <= 120 ? r : 127);
    if (media_ != nullptr) {
      v.mosLq = Mos10(media_->mosLq.load(std::memory_order_relaxed));
      v.mosCq = Mos10(media_->mosCq.load(std::memory_order_relaxed));
    }
  }
  v.endSystemDelayMs = fill.endSystemDelayMs.load(std::memory_order_relaxed);
  v.plc = fill.plc.load(std::memory_order_relaxed);
  const JitterBufferNow jb = CurrentJitterBuffer(session);
  v.jba = jb.enabled ? (jb.adaptive ? 3 : 2) : 2;  // no buffer: a fixed one of 0 ms
  v.setJb = true;
  v.jbNominal = static_cast<uint16_t>(jb.nominalMs);
  v.jbMaximum = static_cast<uint16_t>(jb.maxMs);
  v.jbAbsMax = static_cast<uint16_t>(jb.absMaxMs);

  XrStatFill sf;
  if (hasStat) {
    const RxInterval iv = rx.TakeInterval();
    sf.beginSeq = iv.beginSeq;
    sf.endSeq = iv.endSeq;
    sf.lost = iv.lost;
    sf.dup = iv.dup;
    sf.haveJitter = iv.haveJitter;
    sf.jitterMin = iv.jitterMin;
    sf.jitterMax = iv.jitterMax;
    sf.jitterMean = iv.jitterMean;
    sf.jitterDev = iv.jitterDev;
  }
  FillXr(buf, len, hasVoip ? &v : nullptr, hasStat ? &sf : nullptr);
}

// configureRxQuality({ clockRate, audioPt, gmin?, packetMs?, arrivalTimes?, fillXr? })
Napi::Value RtpSessionWrap::ConfigureRxQuality(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  CheckOpen(env);
  if (!info[0].IsObject()) Throw(env, code::kInvalidArgument, "Expected receive quality options");
  Napi::Object o = info[0].As<Napi::Object>();
  auto num = [&](const char* key, double lo, double hi, double dflt) -> double {
    Napi::Value v = o.Get(key);
    if (v.IsUndefined()) return dflt;
    if (!v.IsNumber()) Throw(env, code::kInvalidArgument, std::string("Expected a number for ") + key);
    double d = v.As<Napi::Number>().DoubleValue();
    if (!std::isfinite(d) || d < lo || d > hi)
      Throw(env, code::kInvalidArgument, std::string("Expected ") + key + " in range, got " + std::to_string(d));
    return d;
  };
  const uint32_t clock = static_cast<uint32_t>(num("clockRate", 0, 192000, 0));
  const int pt = static_cast<int>(num("audioPt", -1, 127, -1));
  const uint32_t gmin = static_cast<uint32_t>(num("gmin", 1, 255, 16));
  const double packetMs = num("packetMs", 1, 1000, 20);
  quality_->rx.Configure(clock, pt, gmin);
  quality_->fill.packetMs = packetMs;
  if (o.Get("arrivalTimes").IsBoolean()) quality_->arrivalTimes = o.Get("arrivalTimes").ToBoolean();
  if (o.Get("fillXr").IsBoolean()) quality_->fill.fill = o.Get("fillXr").ToBoolean();
  return env.Undefined();
}

// rxQuality() -> counters of what arrived (see core/rx_quality.h), jitter in
// ms, and the jitter buffer as our XR describes it.
Napi::Value RtpSessionWrap::RxQualityJs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  CheckOpen(env);
  const RxQualitySnapshot s = quality_->rx.Snapshot();
  auto n = [](uint64_t v) { return static_cast<double>(v); };
  Napi::Object o = Napi::Object::New(env);
  o.Set("received", n(s.received));
  o.Set("expected", n(s.expected));
  o.Set("lost", n(s.lost));
  o.Set("duplicates", n(s.duplicates));
  o.Set("reordered", n(s.reordered));
  o.Set("tooLate", n(s.tooLate));
  Napi::Object a2 = Napi::Object::New(env);
  a2.Set("c11", n(s.a2.c11));
  a2.Set("c13", n(s.a2.c13));
  a2.Set("c14", n(s.a2.c14));
  a2.Set("c22", n(s.a2.c22));
  a2.Set("c23", n(s.a2.c23));
  a2.Set("c33", n(s.a2.c33));
  o.Set("a2", a2);
  Napi::Object tr = Napi::Object::New(env);
  tr.Set("rr", n(s.rr));
  tr.Set("rl", n(s.rl));
  tr.Set("lr", n(s.lr));
  tr.Set("ll", n(s.ll));
  o.Set("transitions", tr);
  o.Set("gmin", quality_->rx.gmin());
  o.Set("jitterMs", s.clockRate > 0 ? s.jitter * 1000.0 / s.clockRate : 0.0);
  o.Set("jitterPackets", n(s.jitterPackets));
  o.Set("lastArrivalMs", static_cast<double>(s.lastArrivalNs) / 1e6);
  if (s.haveSsrc) o.Set("ssrc", static_cast<double>(s.ssrc));
  const rtp_stats_t* st = rtp_session_get_stats(session_);
  o.Set("discarded", static_cast<double>(st->outoftime + st->discarded));
  const JitterBufferNow jb = CurrentJitterBuffer(session_);
  Napi::Object j = Napi::Object::New(env);
  j.Set("enabled", jb.enabled);
  j.Set("adaptive", jb.adaptive);
  j.Set("nominalMs", jb.nominalMs);
  j.Set("maxMs", jb.maxMs);
  j.Set("absMaxMs", jb.absMaxMs);
  o.Set("jitterBuffer", j);
  return o;
}

// setXrFill({ rFactor?, endSystemDelayMs?, plc? }): absent values are sent as
// unavailable (R) or left as oRTP has them.
Napi::Value RtpSessionWrap::SetXrFill(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  CheckOpen(env);
  if (!info[0].IsObject()) Throw(env, code::kInvalidArgument, "Expected XR fill values");
  Napi::Object o = info[0].As<Napi::Object>();
  auto intOr = [&](const char* key, int lo, int hi, int dflt) -> int {
    Napi::Value v = o.Get(key);
    if (v.IsUndefined() || v.IsNull()) return dflt;
    if (!v.IsNumber()) Throw(env, code::kInvalidArgument, std::string("Expected a number for ") + key);
    double d = v.As<Napi::Number>().DoubleValue();
    if (!std::isfinite(d) || d < lo || d > hi)
      Throw(env, code::kInvalidArgument,
            std::string("Expected ") + key + " " + std::to_string(lo) + ".." + std::to_string(hi));
    return static_cast<int>(std::lround(d));
  };
  quality_->fill.rFactor = intOr("rFactor", 0, 120, 127);
  quality_->fill.endSystemDelayMs = intOr("endSystemDelayMs", 0, 65535, -1);
  quality_->fill.plc = intOr("plc", 0, 3, -1);
  return env.Undefined();
}

// setCname(cname): the SDES CNAME of our RTCP (RFC 3550 6.5.1).
Napi::Value RtpSessionWrap::SetCname(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  CheckOpen(env);
  if (!info[0].IsString()) Throw(env, code::kInvalidArgument, "Expected a CNAME string");
  std::string cname = info[0].As<Napi::String>().Utf8Value();
  if (cname.empty() || cname.size() > 255) Throw(env, code::kInvalidArgument, "Expected a CNAME of 1-255 bytes");
  // oRTP writes the SDES from the ticker thread: only while none runs the session
  if (AnyUserAttached()) Throw(env, code::kInvalidState, "Set the CNAME before the session's graph runs");
  rtp_session_set_source_description(session_, cname.c_str(), nullptr, nullptr, nullptr, nullptr, nullptr, nullptr);
  return env.Undefined();
}

void RtpSessionWrap::InstallQuality() {
  quality_ = std::make_unique<SessionQuality>(xrMedia_.get());
  SetGateObserver(session_, quality_.get());
  // RFC 7022: a random CNAME per session until the application gives one
  uint8_t id[12];
  std::random_device rd;
  for (uint8_t& b : id) b = static_cast<uint8_t>(rd());
  static const char kB64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string cname;
  for (size_t i = 0; i < sizeof(id); i += 3) {
    const uint32_t v = (id[i] << 16) | (id[i + 1] << 8) | id[i + 2];
    for (int k = 18; k >= 0; k -= 6) cname.push_back(kB64[(v >> k) & 63]);
  }
  rtp_session_set_source_description(session_, cname.c_str(), nullptr, nullptr, nullptr, nullptr, nullptr, nullptr);
}

}  // namespace rms
