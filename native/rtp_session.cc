#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <string>

#include "core/fd_usage.h"
#include "core/ortp_shim.h"
#include "core/session_settings.h"
#include "errors.h"
#include "instance.h"
#include "wrappers.h"

namespace rms {

Napi::Function RtpSessionWrap::Define(Napi::Env env) {
  return DefineClass(env, "NativeRtpSession",
                     {
                         InstanceMethod<&RtpSessionWrap::Bind>("bind"),
                         InstanceMethod<&RtpSessionWrap::SetRemote>("setRemote"),
                         InstanceMethod<&RtpSessionWrap::SetPayloadTypes>("setPayloadTypes"),
                         InstanceMethod<&RtpSessionWrap::SetSendPayloadType>("setSendPayloadType"),
                         InstanceMethod<&RtpSessionWrap::SetRecvPayloadType>("setRecvPayloadType"),
                         InstanceMethod<&RtpSessionWrap::SetJitterBuffer>("setJitterBuffer"),
                         InstanceMethod<&RtpSessionWrap::SetSymmetric>("setSymmetric"),
                         InstanceMethod<&RtpSessionWrap::SetLatch>("setLatch"),
                         InstanceMethod<&RtpSessionWrap::EnableRtcp>("enableRtcp"),
                         InstanceMethod<&RtpSessionWrap::SetRtcpInterval>("setRtcpInterval"),
                         InstanceMethod<&RtpSessionWrap::Stats>("stats"),
                         InstanceMethod<&RtpSessionWrap::Info>("info"),
                         InstanceMethod<&RtpSessionWrap::OnTelephoneEvent>("onTelephoneEvent"),
                         InstanceMethod<&RtpSessionWrap::ConfigureXr>("configureXr"),
                         InstanceMethod<&RtpSessionWrap::EnableRtcpEvents>("enableRtcpEvents"),
                         InstanceMethod<&RtpSessionWrap::PollRtcp>("pollRtcp"),
                         InstanceMethod<&RtpSessionWrap::SetXrMedia>("setXrMedia"),
                         InstanceMethod<&RtpSessionWrap::QualityIndicator>("qualityIndicator"),
                         InstanceMethod<&RtpSessionWrap::StreamState>("streamState"),
                         InstanceMethod<&RtpSessionWrap::SetStreamState>("setStreamState"),
                         InstanceMethod<&RtpSessionWrap::ConfigureRxQuality>("configureRxQuality"),
                         InstanceMethod<&RtpSessionWrap::RxQualityJs>("rxQuality"),
                         InstanceMethod<&RtpSessionWrap::SetXrFill>("setXrFill"),
                         InstanceMethod<&RtpSessionWrap::SetCname>("setCname"),
                         InstanceMethod<&RtpSessionWrap::CloseJs>("close"),
                     });
}

static void Resync(RtpSession* s, void*, void*, void*) { rtp_session_resync(s); }

RtpSessionWrap::RtpSessionWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<RtpSessionWrap>(info) {
  // What every ms2 graph needs from a session: no oRTP scheduler, no blocking
  // reads (MSRtpRecv polls each tick), resync on timestamp jumps and SSRC
  // changes, and a random timestamp base (RFC 3550 5.1). Everything tunable
  // (jitter buffer, symmetric RTP, RTCP) is left to the caller.
  session_ = rtp_session_new(RTP_SESSION_SENDRECV);
  rtp_session_set_scheduling_mode(session_, 0);
  rtp_session_set_blocking_mode(session_, 0);
  rtp_session_set_recv_buf_size(session_, 1500);
  rtp_session_signal_connect(session_, "timestamp_jump", &Resync, nullptr);
  rtp_session_signal_connect(session_, "ssrc_changed", &Resync, nullptr);
  rtp_session_set_ssrc_changed_threshold(session_, 0);
  rtp_session_set_send_ts_offset(session_, static_cast<uint32_t>(ortp_random()));
  profile_ = rtp_profile_new("rms");
  rtp_session_set_profile(session_, profile_);
  rtp_session_get_jitter_buffer_params(session_, &jitter_);
  // Read the sockets only when they have data (core/recv_gate.h).
  InstallRecvGate(session_);
  InstallXrCallbacks();
  InstallQuality();
  Instance::Get(info.Env())->rtpSessions.insert(this);
}

RtpSessionWrap::~RtpSessionWrap() {
  // Filters that use a session hold a strong reference to it, so a finalized
  // session has no users.
  if (session_ != nullptr) Close(Env(), true);
  Instance* inst = Instance::Get(Env());
  if (inst) inst->rtpSessions.erase(this);
}

RtpSessionWrap* RtpSessionWrap::FromValue(Napi::Env env, Napi::Value v) {
  Instance* inst = Instance::Get(env);
  if (!v.IsObject() || !v.As<Napi::Object>().InstanceOf(inst->rtpSessionCtor.Value()))
    Throw(env, code::kInvalidArgument, "Expected an RtpSession");
  RtpSessionWrap* s = RtpSessionWrap::Unwrap(v.As<Napi::Object>());
  if (s->closed()) Throw(env, code::kInvalidState, "The RtpSession is closed");
  return s;
}

void RtpSessionWrap::CheckOpen(Napi::Env env) const {
  if (session_ == nullptr) Throw(env, code::kInvalidState, "RtpSession is closed");
}

void RtpSessionWrap::AddUser(Filter* f) { users_.push_back(f); }
void RtpSessionWrap::RemoveUser(Filter* f) { users_.erase(std::remove(users_.begin(), users_.end(), f), users_.end()); }

ms_mutex_t* RtpSessionWrap::AttachedTickerMutex() const {
  for (Filter* f : users_)
    if (f->handle() && f->handle()->ticker) return &f->handle()->ticker->lock;
  return nullptr;
}

bool RtpSessionWrap::AnyUserAttached() const {
  for (Filter* f : users_)
    if (f->handle() && f->handle()->ticker) return true;
  return false;
}

// Settings reach oRTP on the thread that reads the session (core/
// session_settings.h): posted while a graph runs it, applied here otherwise
// (after anything posted before, so the order holds).
void RtpSessionWrap::Change(Napi::Env env, const SessionSettings& c, const char* what) {
  if (AnyUserAttached()) {
    PostSettings(session_, c);
    return;
  }
  ApplyPendingSettings(session_);
  if (!ApplySettings(session_, c)) Throw(env, code::kInvalidArgument, what);
}

void RtpSessionWrap::SettleIfIdle() {
  if (!AnyUserAttached()) ApplyPendingSettings(session_);
}

static std::string StringArg(Napi::Env env, const Napi::Value& v, const char* what) {
  if (!v.IsString()) Throw(env, code::kInvalidArgument, std::string("Expected a string for ") + what);
  return v.As<Napi::String>().Utf8Value();
}

static int IntArg(Napi::Env env, const Napi::Value& v, const char* what, int lo, int hi) {
  if (!v.IsNumber()) Throw(env, code::kInvalidArgument, std::string("Expected a number for ") + what);
  double d = v.As<Napi::Number>().DoubleValue();
  if (!std::isfinite(d) || d < lo || d > hi || d != std::floor(d))
    Throw(env, code::kInvalidArgument,
          std::string("Expected an integer ") + std::to_string(lo) + ".." + std::to_string(hi) + " for " + what +
              ", got " + v.ToString().Utf8Value());
  return static_cast<int>(d);
}

// AF_INET or AF_INET6 for a numeric address, 0 for anything else (oRTP would
// resolve a name, on the ticker thread once settings are posted there).
static int NumericFamily(const std::string& addr) {
  in6_addr a6;
  if (inet_pton(AF_INET, addr.c_str(), &a6) == 1) return AF_INET;
  if (inet_pton(AF_INET6, addr.c_str(), &a6) == 1) return AF_INET6;
  return 0;
}

// Probe a UDP port so that "in use" is reported as such (oRTP only says -1).
static int ProbeUdpPort(const std::string& addr, int port) {
  if (port <= 0) return 0;
  sockaddr_storage ss{};
  socklen_t len;
  int family;
  if (inet_pton(AF_INET, addr.c_str(), &reinterpret_cast<sockaddr_in*>(&ss)->sin_addr) == 1) {
    auto* sin = reinterpret_cast<sockaddr_in*>(&ss);
    sin->sin_family = AF_INET;
    sin->sin_port = htons(static_cast<uint16_t>(port));
    family = AF_INET;
    len = sizeof(sockaddr_in);
  } else if (inet_pton(AF_INET6, addr.c_str(), &reinterpret_cast<sockaddr_in6*>(&ss)->sin6_addr) == 1) {
    auto* sin6 = reinterpret_cast<sockaddr_in6*>(&ss);
    sin6->sin6_family = AF_INET6;
    sin6->sin6_port = htons(static_cast<uint16_t>(port));
    family = AF_INET6;
    len = sizeof(sockaddr_in6);
  } else {
    return EINVAL;
  }
  int fd = socket(family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return errno;
  int err = bind(fd, reinterpret_cast<sockaddr*>(&ss), len) == 0 ? 0 : errno;
  close(fd);
  return err;
}

// A distinct error, so that a server answers it as "at capacity" (the next
// node can take the call), not as a fault of this call.
[[noreturn]] static void ThrowOutOfDescriptors(Napi::Env env, const std::string& addr, int err) {
  FdUsage u = GetFdUsage();
  Throw(env, code::kDescriptors,
        "Out of file descriptors binding RTP/RTCP on " + addr + ": " + strerror(err) + " (" + std::to_string(u.open) +
            " open, limit " + (u.limit < 0 ? std::string("unlimited") : std::to_string(u.limit)) + ")");
}

// bind(address, rtpPort, rtcpPort) -> { rtpPort, rtcpPort }. Port 0 lets the
// system choose (each port separately).
Napi::Value RtpSessionWrap::Bind(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  CheckOpen(env);
  if (bound_) Throw(env, code::kInvalidState, "RtpSession is already bound");
  std::string addr = StringArg(env, info[0], "the local address");
  int rtpPort = IntArg(env, info[1], "the RTP port", 0, 65535);
  int rtcpPort = IntArg(env, info[2], "the RTCP port", 0, 65535);
  for (int port : {rtpPort, rtcpPort}) {
    int err = ProbeUdpPort(addr, port);
    if (err == EADDRINUSE)
      Throw(env, code::kAddressInUse, "UDP port " + std::to_string(port) + " on " + addr + " is already in use");
    if (err == EINVAL) Throw(env, code::kInvalidArgument, "Not an IPv4 or IPv6 address: " + addr);
    if (IsDescriptorExhaustion(err)) ThrowOutOfDescriptors(env, addr, err);
    if (err != 0) Throw(env, code::kBind, "Cannot bind " + addr + ":" + std::to_string(port) + ": " + strerror(err));
  }
  if (rtp_session_set_local_addr(session_, addr.c_str(), rtpPort, rtcpPort) != 0) {
    // oRTP only says -1: the probe above had one descriptor, oRTP needs two
    int err = errno;
    if (!IsDescriptorExhaustion(err)) {
      int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
      err = fd < 0 ? errno : 0;
      if (fd >= 0) close(fd);
    }
    if (IsDescriptorExhaustion(err)) ThrowOutOfDescriptors(env, addr, err);
    Throw(env, code::kBind,
          "oRTP could not bind " + addr + ":" + std::to_string(rtpPort) + "/" + std::to_string(rtcpPort));
  }
  bound_ = true;
  boundFamily_ = NumericFamily(addr);
  SetGateMayConnect(session_, rtpPort != 0, rtcpPort != 0);
  SessionSettings latch;
  latch.hasLatch = true;
  latch.latch = latch_;
  Change(env, latch, "the latch");
  Napi::Object o = Napi::Object::New(env);
  o.Set("rtpPort", rtp_session_get_local_port(session_));
  o.Set("rtcpPort", rtp_session_get_local_rtcp_port(session_));
  return o;
}

// setRemote(address, rtpPort, rtcpPort)
Napi::Value RtpSessionWrap::SetRemote(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  CheckOpen(env);
  std::string addr = StringArg(env, info[0], "the remote address");
  int rtpPort = IntArg(env, info[1], "the remote RTP port", 1, 65535);
  int rtcpPort = info[2].IsUndefined() ? (rtpPort < 65535 ? rtpPort + 1 : 0)
                                       : IntArg(env, info[2], "the remote RTCP port", 0, 65535);
  int family = NumericFamily(addr);
  if (family == 0) Throw(env, code::kInvalidArgument, "Not a numeric IPv4 or IPv6 address: " + addr);
  // oRTP would replace the sockets (and lose the bound ports) to match
  if (bound_ && boundFamily_ != 0 && family != boundFamily_)
    Throw(env, code::kInvalidArgument,
          "Remote " + addr + " is " + (family == AF_INET6 ? "IPv6" : "IPv4") + " but the session is bound to an " +
              (boundFamily_ == AF_INET6 ? "IPv6" : "IPv4") + " address");
  SessionSettings c;
  c.hasRemote = true;
  c.address = addr;
  c.rtpPort = rtpPort;
  c.rtcpPort = rtcpPort;
  c.hasLatch = true;  // a new remote re-latches ('strict' to it)
  c.latch = latch_;
  Change(env, c, ("oRTP refused remote address " + addr + ":" + std::to_string(rtpPort)).c_str());
  remoteSet_ = true;
  remoteAddr_ = addr;
  remoteRtpPort_ = rtpPort;
  remoteRtcpPort_ = rtcpPort;
  // while relayed the forwarder sends there from now on (the gate gets it back with the sockets)
  if (forwarder_ != nullptr) forwarder_->OnRemoteChanged(this, addr, rtpPort, rtcpPort);
  return env.Undefined();
}

// setPayloadTypes([{ pt, mime, clockRate, channels, fmtp?, bitrate? }])
// Builds a fresh profile owned by this session; the payload types are our own
// allocations (PAYLOAD_TYPE_ALLOCATED), freed with the profile.
Napi::Value RtpSessionWrap::SetPayloadTypes(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  CheckOpen(env);
  if (!info[0].IsArray()) Throw(env, code::kInvalidArgument, "Expected an array of payload types");
  if (AnyUserAttached())
    Throw(env, code::kInvalidState,
          "Cannot change payload types while the session's graph is attached; detach it first");
  Napi::Array list = info[0].As<Napi::Array>();
  RtpProfile* profile = rtp_profile_new("rms");
  int telephoneEventPt = -1;
  try {
    for (uint32_t i = 0; i < list.Length(); ++i) {
      if (!list.Get(i).IsObject()) Throw(env, code::kInvalidArgument, "Expected payload type objects");
      Napi::Object o = list.Get(i).As<Napi::Object>();
      int num = IntArg(env, o.Get("pt"), "pt", 0, 127);
      std::string mime = StringArg(env, o.Get("mime"), "mime");
      int clock = IntArg(env, o.Get("clockRate"), "clockRate", 1000, 192000);
      int channels = o.Get("channels").IsUndefined() ? 1 : IntArg(env, o.Get("channels"), "channels", 1, 8);
      if (rtp_profile_get_payload(profile, num) != nullptr)
        Throw(env, code::kInvalidArgument, "Payload type " + std::to_string(num) + " given twice");
      PayloadType* pt = payload_type_new();
      pt->type = PAYLOAD_AUDIO_PACKETIZED;
      pt->clock_rate = clock;
      pt->channels = channels;
      pt->mime_type = ortp_strdup(mime.c_str());
      if (o.Get("bitrate").IsNumber()) pt->normal_bitrate = o.Get("bitrate").As<Napi::Number>().Int32Value();
      if (o.Get("fmtp").IsString()) {
        std::string fmtp = o.Get("fmtp").As<Napi::String>().Utf8Value();
        payload_type_set_send_fmtp(pt, fmtp.c_str());
        payload_type_set_recv_fmtp(pt, fmtp.c_str());
      }
      rtp_profile_set_payload(profile, num, pt);
      if (mime == "telephone-event") telephoneEventPt = num;
    }
  } catch (...) {
    rtp_profile_destroy(profile);
    throw;
  }
  rtp_session_set_profile(session_, profile);
  rtp_profile_destroy(profile_);
  profile_ = profile;
  // MSRtpSend sends RFC 4733 events with this payload type
  if (telephoneEventPt >= 0) rtp_session_set_send_telephone_event_payload_type(session_, telephoneEventPt);
  return env.Undefined();
}

Napi::Value RtpSessionWrap::SetSendPayloadType(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  CheckOpen(env);
  int pt = IntArg(env, info[0], "the send payload type", 0, 127);
  if (rtp_profile_get_payload(profile_, pt) == nullptr)
    Throw(env, code::kInvalidArgument, "Payload type " + std::to_string(pt) + " is not in the session's profile");
  rtp_session_set_send_payload_type(session_, pt);
  return env.Undefined();
}

Napi::Value RtpSessionWrap::SetRecvPayloadType(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  CheckOpen(env);
  int pt = IntArg(env, info[0], "the receive payload type", 0, 127);
  if (rtp_profile_get_payload(profile_, pt) == nullptr)
    Throw(env, code::kInvalidArgument, "Payload type " + std::to_string(pt) + " is not in the session's profile");
  rtp_session_set_recv_payload_type(session_, pt);
  return env.Undefined();
}

// setJitterBuffer({ enabled, adaptive, nominalMs, minMs, maxMs, maxPackets })
Napi::Value RtpSessionWrap::SetJitterBuffer(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  CheckOpen(env);
  if (!info[0].IsObject()) Throw(env, code::kInvalidArgument, "Expected jitter buffer options");
  Napi::Object o = info[0].As<Napi::Object>();
  JBParameters p = jitter_;
  p.enabled = o.Get("enabled").ToBoolean();
  p.adaptive = o.Get("adaptive").ToBoolean();
  p.nom_size = IntArg(env, o.Get("nominalMs"), "nominalMs", 0, 5000);
  p.min_size = IntArg(env, o.Get("minMs"), "minMs", 0, 5000);
  p.max_size = IntArg(env, o.Get("maxMs"), "maxMs", 0, 5000);
  p.max_packets = IntArg(env, o.Get("maxPackets"), "maxPackets", 1, 10000);
  if (p.min_size > p.nom_size || p.nom_size > p.max_size)
    Throw(env, code::kInvalidArgument, "Expected minMs <= nominalMs <= maxMs for the jitter buffer");
  SessionSettings c;
  c.hasJitter = true;
  c.jitter = p;
  Change(env, c, "the jitter buffer");
  jitter_ = p;
  return env.Undefined();
}

Napi::Value RtpSessionWrap::SetSymmetric(const Napi::CallbackInfo& info) {
  CheckOpen(info.Env());
  SessionSettings c;
  c.hasSymmetric = true;
  c.symmetric = info[0].ToBoolean();
  Change(info.Env(), c, "symmetric RTP");
  return info.Env().Undefined();
}

// setLatch(mode): who may send us media.
//  'strict': only the remote address we were given (datagrams from anyone
//            else are dropped on arrival; with an explicit port the socket
//            is connect()ed and the kernel drops them);
//  'once':   the source of the first packet, then only it (symmetric RTP)
//            - for peers behind NAT;
//  'always': any source, and we follow the last one (oRTP's plain symmetric
//            RTP; lets a third party take the stream over).
// The receive gate does the filtering and connect() (core/recv_gate.h); oRTP
// never connects the sockets itself, or it would read past the gate. Takes effect for the
// current remote at once (set again so oRTP sends there until a packet moves
// it).
Napi::Value RtpSessionWrap::SetLatch(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  CheckOpen(env);
  std::string mode = StringArg(env, info[0], "the latch mode");
  if (mode != "strict" && mode != "once" && mode != "always")
    Throw(env, code::kInvalidArgument, "latch must be 'strict', 'once' or 'always', not '" + mode + "'");
  latch_ = mode == "strict" ? LatchMode::kStrict : mode == "once" ? LatchMode::kOnce : LatchMode::kAlways;
  SessionSettings c;
  c.hasSymmetric = true;
  c.symmetric = mode != "strict";
  c.hasLatch = true;
  c.latch = latch_;
  if (remoteSet_) {
    c.hasRemote = true;
    c.address = remoteAddr_;
    c.rtpPort = remoteRtpPort_;
    c.rtcpPort = remoteRtcpPort_;
  }
  Change(env, c, "the latch");
  return env.Undefined();
}

Napi::Value RtpSessionWrap::EnableRtcp(const Napi::CallbackInfo& info) {
  CheckOpen(info.Env());
  SessionSettings c;
  c.hasRtcp = true;
  c.rtcp = info[0].ToBoolean();
  Change(info.Env(), c, "RTCP");
  return info.Env().Undefined();
}

Napi::Value RtpSessionWrap::SetRtcpInterval(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  CheckOpen(env);
  int ms = IntArg(env, info[0], "the RTCP interval (ms)", 100, 600000);
  SessionSettings c;
  c.hasRtcpInterval = true;
  c.rtcpIntervalMs = ms;
  Change(env, c, "the RTCP interval");
  return env.Undefined();
}

// Counters are written by the ticker thread; 64-bit aligned loads are atomic on
// the platforms we build for, so a snapshot may be a few packets stale but is
// never torn.
Napi::Value RtpSessionWrap::Stats(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  CheckOpen(env);
  SettleIfIdle();
  const rtp_stats_t* s = rtp_session_get_stats(session_);
  const jitter_stats_t* j = rtp_session_get_jitter_stats(session_);
  Napi::Object o = Napi::Object::New(env);
  o.Set("packetsSent", static_cast<double>(s->packet_sent));
  o.Set("bytesSent", static_cast<double>(s->sent));
  o.Set("packetsReceived", static_cast<double>(s->packet_recv));
  o.Set("bytesReceived", static_cast<double>(s->hw_recv));
  o.Set("bytesDelivered", static_cast<double>(s->recv));
  o.Set("duplicatesReceived", static_cast<double>(s->packet_dup_recv));
  o.Set("late", static_cast<double>(s->outoftime));
  o.Set("lost", static_cast<double>(s->cum_packet_loss));
  o.Set("bad", static_cast<double>(s->bad));
  o.Set("discarded", static_cast<double>(s->discarded));
  o.Set("rtcpSent", static_cast<double>(s->sent_rtcp_packets));
  o.Set("rtcpReceived", static_cast<double>(s->recv_rtcp_packets));
  int recvPt = rtp_session_get_recv_payload_type(session_);
  PayloadType* pt = recvPt >= 0 ? rtp_profile_get_payload(profile_, recvPt) : nullptr;
  double clock = pt ? pt->clock_rate : 0;
  o.Set("jitterMs", clock > 0 ? ortp::InterarrivalJitter(session_) * 1000.0 / clock : 0);
  o.Set("maxJitterMs", clock > 0 ? j->max_jitter * 1000.0 / clock : 0);
  o.Set("jitterBufferMs", j->jitter_buffer_size_ms);
  o.Set("roundTripMs", rtp_session_get_round_trip_propagation(session_) * 1000.0);
  // RFC 4733 reports refused because JS had kMaxPendingTelephoneEvents still to take
  o.Set("telephoneEventsDropped", static_cast<double>(dtmf_ ? dtmf_->channel->dropped() : 0));
  // RTCP datagrams the receive gate refused as malformed (core/rtcp_check.h),
  // and RTCP packets pushed out of pollRtcp()'s bounded store unread
  GateRtcpCounts rtcp = GetGateRtcpCounts(session_);
  o.Set("rtcpInvalid", static_cast<double>(rtcp.invalid));
  o.Set("rtcpBytesReceived", static_cast<double>(rtcp.bytes));
  if (rtcp.invalid > 0) o.Set("rtcpLastInvalid", RtcpCheckName(rtcp.lastInvalid));
  o.Set("rtcpOverflow", static_cast<double>(rtcpStore_ ? rtcpStore_->overflow() : 0));
  return o;
}

Napi::Value RtpSessionWrap::Info(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  CheckOpen(env);
  SettleIfIdle();
  Napi::Object o = Napi::Object::New(env);
  o.Set("rtpPort", rtp_session_get_local_port(session_));
  o.Set("rtcpPort", rtp_session_get_local_rtcp_port(session_));
  o.Set("sendSsrc", static_cast<double>(rtp_session_get_send_ssrc(session_)));
  o.Set("recvSsrc", static_cast<double>(rtp_session_get_recv_ssrc(session_)));
  o.Set("sendPayloadType", rtp_session_get_send_payload_type(session_));
  o.Set("recvPayloadType", rtp_session_get_recv_payload_type(session_));
  o.Set("users", static_cast<double>(users_.size()));
  return o;
}

namespace {
// A peer's flood of telephone-event packets (each new timestamp is a start
// and an inferred end) must not grow memory while JS is busy: past this many
// reports waiting, new ones are dropped and counted.
constexpr size_t kMaxPendingTelephoneEvents = 256;

void QueueTelephoneEvent(TelephoneEventSink* sink, const TelephoneEventReport& r) { sink->channel->Push(r); }

void DeliverTelephoneEvent(Napi::Env env, Napi::Function cb, const TelephoneEventReport& v, uint64_t) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("phase", v.phase == 0 ? "start" : v.phase == 1 ? "end" : "endLost");
  o.Set("event", v.event);
  o.Set("volume", v.volume);
  o.Set("duration", v.duration);
  o.Set("timestamp", static_cast<double>(v.timestamp));
  cb.Call({o});
}
}  // namespace

// oRTP emits "telephone-event_packet" for every received RFC 4733 packet, on
// the thread that reads the session (a ticker). oRTP's own "telephone-event"
// signal needs the marker bit of the first packet and reports ends only, so
// the events are tracked here: one start per RTP timestamp, one end (the
// first packet with E set; its retransmissions are ignored), and an inferred
// end when a new event begins before the old one's end packets arrived.
void RtpSessionWrap::TelephoneEventPacketFromTicker(RtpSession*, void* packet, void* userData, void*) {
  auto* sink = static_cast<TelephoneEventSink*>(userData);
  auto* m = static_cast<mblk_t*>(packet);
  if (m == nullptr || m->b_wptr - m->b_rptr < static_cast<ptrdiff_t>(RTP_FIXED_HEADER_SIZE)) return;
  uint8_t* payload = nullptr;
  int size = rtp_get_payload(m, &payload);
  if (payload == nullptr || size < 4) return;
  // the current event is the last block (earlier ones are redundancy, RFC 4733 2.5.1.5)
  const uint8_t* b = payload + ((size / 4) - 1) * 4;
  uint8_t event = b[0];
  bool end = (b[1] & 0x80) != 0;
  uint8_t volume = b[1] & 0x3f;
  uint16_t duration = static_cast<uint16_t>((b[2] << 8) | b[3]);
  uint32_t ts = rtp_get_timestamp(m);
  if (!sink->any || ts != sink->lastTs) {
    if (sink->active) QueueTelephoneEvent(sink, {2, sink->event, sink->volume, sink->duration, sink->lastTs});
    sink->any = true;
    sink->lastTs = ts;
    sink->active = true;
    sink->event = event;
    sink->volume = volume;
    sink->duration = duration;
    QueueTelephoneEvent(sink, {0, event, volume, duration, ts});
  } else if (!sink->active) {
    return;  // a retransmitted end of an event already reported
  }
  if (duration > sink->duration) sink->duration = duration;
  if (end) {
    sink->active = false;
    QueueTelephoneEvent(sink, {1, sink->event, volume, sink->duration, ts});
  }
}

// onTelephoneEvent(callback({phase, event, volume, duration, timestamp}))
Napi::Value RtpSessionWrap::OnTelephoneEvent(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  CheckOpen(env);
  if (!info[0].IsFunction()) Throw(env, code::kInvalidArgument, "Expected a function for onTelephoneEvent()");
  if (dtmf_ != nullptr) Throw(env, code::kInvalidState, "onTelephoneEvent() was already called on this session");
  if (AnyUserAttached())
    Throw(env, code::kInvalidState, "Register for telephone events before the session's graph runs");
  dtmf_ = new TelephoneEventSink();
  dtmf_->channel = TelephoneEventChannel::Open(env, info[0].As<Napi::Function>(), "rms-telephone-event",
                                               kMaxPendingTelephoneEvents, &DeliverTelephoneEvent);
  rtp_session_signal_connect(session_, "telephone-event_packet", &RtpSessionWrap::TelephoneEventPacketFromTicker,
                             dtmf_);
  return env.Undefined();
}

void RtpSessionWrap::Close(Napi::Env env, bool force) {
  if (session_ == nullptr) return;
  if (forwarder_ != nullptr) {
    if (!force) Throw(env, code::kInUse, "RtpSession is relayed by a ForwardPlane; close the relay first");
    forwarder_->OnSessionClosing(this);  // clears forwarder_
  }
  if (!users_.empty()) {
    if (!force)
      Throw(env, code::kInUse,
            "RtpSession is still used by " + std::to_string(users_.size()) + " filter(s); close them first");
    std::vector<Filter*> users = users_;
    for (Filter* f : users) f->Close(env, true);
  }
  // oRTP sends an RTCP BYE on destroy; without a peer that is only an error
  // in the log.
  if (!remoteSet_) rtp_session_enable_rtcp(session_, FALSE);
  CloseRtcpEvents();
  rtp_session_destroy(session_);
  session_ = nullptr;
  if (dtmf_ != nullptr) {
    // no ticker reads the session any more: the channel delivers what is
    // queued, then frees itself
    dtmf_->channel->Close();
    delete dtmf_;
    dtmf_ = nullptr;
  }
  rtp_profile_destroy(profile_);
  profile_ = nullptr;
}

Napi::Value RtpSessionWrap::CloseJs(const Napi::CallbackInfo& info) {
  Close(info.Env(), false);
  return info.Env().Undefined();
}

}  // namespace rms
