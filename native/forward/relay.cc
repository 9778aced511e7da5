#include "forward/relay.h"

#include <arpa/inet.h>
#include <strings.h>

#include <cstring>
#include <ctime>

#include "core/ortp_shim.h"
#include "core/rtcp_check.h"

namespace rms::fwd {

namespace {

// CLOCK_REALTIME - CLOCK_MONOTONIC now: turns the batch's arrival time into
// the wall-clock time a gate observer takes, without a clock read per packet.
int64_t RealtimeOffsetNs() {
  timespec rt, mono;
  clock_gettime(CLOCK_REALTIME, &rt);
  clock_gettime(CLOCK_MONOTONIC, &mono);
  return (static_cast<int64_t>(rt.tv_sec) - mono.tv_sec) * 1000000000ll + (rt.tv_nsec - mono.tv_nsec);
}

constexpr auto kRelaxed = std::memory_order_relaxed;
void Add(std::atomic<uint64_t>& a, uint64_t n = 1) { a.store(a.load(kRelaxed) + n, kRelaxed); }

const PayloadType* Payload(RtpProfile* p, int pt) { return p != nullptr ? rtp_profile_get_payload(p, pt) : nullptr; }

bool SameCodec(const PayloadType* x, const PayloadType* y) {
  return x != nullptr && y != nullptr && x->mime_type != nullptr && y->mime_type != nullptr &&
         strcasecmp(x->mime_type, y->mime_type) == 0 && x->clock_rate == y->clock_rate &&
         (x->channels == y->channels || x->channels == 0 || y->channels == 0);
}

PtRule::Kind KindOf(const PayloadType* p) {
  if (p == nullptr || p->mime_type == nullptr) return PtRule::kUnknown;
  if (strcasecmp(p->mime_type, "telephone-event") == 0) return PtRule::kTelephoneEvent;
  if (strcasecmp(p->mime_type, "CN") == 0) return PtRule::kComfortNoise;
  return PtRule::kAudio;
}

// G.711's silence: the code of a zero sample (ITU-T G.711 tables)
int SilenceOf(const PayloadType* p) {
  if (p == nullptr || p->mime_type == nullptr || p->clock_rate != 8000) return -1;
  if (strcasecmp(p->mime_type, "PCMU") == 0) return 0xff;
  if (strcasecmp(p->mime_type, "PCMA") == 0) return 0xd5;
  return -1;
}

Address RemoteOf(RtpSession* s, bool rtp) {
  Address a;
  socklen_t len = 0;
  const sockaddr* rem = ortp::RemoteAddr(s, rtp, &len);
  if (len > 0) a.Set(rem, len);
  return a;
}

}  // namespace

std::string BuildPtRules(const std::vector<std::pair<int, int>>& aToB, RelaySetup* setup) {
  RtpProfile* prof[2] = {rtp_session_get_recv_profile(setup->side[0].session),
                         rtp_session_get_recv_profile(setup->side[1].session)};
  int explicitOut[2][128];
  for (auto& d : explicitOut)
    for (int& v : d) v = -1;
  for (const auto& [a, b] : aToB) {
    if (a < 0 || a > 127 || b < 0 || b > 127) return "payload types are 0..127";
    if (explicitOut[0][a] >= 0 && explicitOut[0][a] != b)
      return "payload type " + std::to_string(a) + " is mapped twice";
    if (explicitOut[1][b] >= 0 && explicitOut[1][b] != a)
      return "payload type " + std::to_string(b) + " is the target of two mappings";
    explicitOut[0][a] = b;
    explicitOut[1][b] = a;
  }
  for (int from = 0; from < 2; ++from) {
    RtpProfile* in = prof[from];
    RtpProfile* out = prof[1 - from];
    for (int pt = 0; pt < 128; ++pt) {
      PtRule& r = setup->rules[from][pt];
      const PayloadType* p = Payload(in, pt);
      r.kind = KindOf(p);
      r.clock = p != nullptr && p->clock_rate > 0 ? static_cast<uint32_t>(p->clock_rate) : 0;
      r.silence = static_cast<int16_t>(SilenceOf(p));
      r.out = static_cast<uint8_t>(pt);
      if (explicitOut[from][pt] >= 0) {
        r.out = static_cast<uint8_t>(explicitOut[from][pt]);
        continue;
      }
      if (p == nullptr || SameCodec(p, Payload(out, pt))) continue;
      for (int q = 0; q < 128; ++q)
        if (SameCodec(p, Payload(out, q))) {
          r.out = static_cast<uint8_t>(q);
          break;
        }
    }
  }
  return "";
}

Relay::Relay(const RelaySetup& setup) : setup_(setup) {
  for (int i = 0; i < 4; ++i) {
    sockets_[i].relay = this;
    sockets_[i].side = static_cast<uint8_t>(i / 2);
    sockets_[i].rtcp = (i % 2) == 1;
  }
}

std::string Relay::TakeOver() {
  for (int side = 0; side < 2; ++side) {
    RtpSession* s = setup_.side[side].session;
    if (s == nullptr) return "no session";
    if (ortp::Socket(s, true) < 0) return "an endpoint is not bound";
  }
  if (setup_.side[0].session == setup_.side[1].session) return "a relay needs two different endpoints";
  for (int side = 0; side < 2; ++side) {
    const SideSetup& ss = setup_.side[side];
    GateHandoff h;
    SuspendGate(ss.session, &h);
    observers_[side] = h.observer;
    realtimeOffsetNs_ = RealtimeOffsetNs();
    for (int k = 0; k < 2; ++k) {
      Socket& sock = socket(side, k == 1);
      sock.fd = ortp::Socket(ss.session, k == 0);
      Address latched;
      if (h.latched[k]) latched.Set(reinterpret_cast<const sockaddr*>(&h.peer[k]), h.peerLen[k]);
      sock.latch.Init(ss.latch, ss.handover, RemoteOf(ss.session, k == 0), latched);
      sock.mayConnect = h.mayConnect[k];
      Connect(sock);
      sources_[side * 2 + k] = sock.latch.peer();
    }
  }
  taken_ = true;
  return "";
}

void Relay::GiveBack() {
  if (!taken_) return;
  taken_ = false;
  for (Socket& s : sockets_) Disconnect(s);  // the gate connects again by its own rules
  for (int side = 0; side < 2; ++side) {
    GateHandoff learned;
    for (int k = 0; k < 2; ++k) {
      const SourceLatch& l = socket(side, k == 1).latch;
      if (l.mode() == LatchMode::kStrict && !setup_.side[side].handover) continue;
      const Address& p = l.peer();
      if (p.Empty()) continue;
      std::memcpy(&learned.peer[k], &p.ss, p.len);
      learned.peerLen[k] = p.len;
    }
    ResumeGate(setup_.side[side].session, setup_.side[side].gateMode, learned);
  }
}

void Relay::SetRemote(int side, const Address& rtp, const Address& rtcp) {
  for (int k = 0; k < 2; ++k) {
    Socket& s = socket(side, k == 1);
    Disconnect(s);
    s.latch.SetRemote(k == 0 ? rtp : rtcp);
    Moved(s);
  }
}

void Relay::Moved(Socket& s) {
  Connect(s);
  std::lock_guard<std::mutex> lock(mu_);
  sources_[s.side * 2 + (s.rtcp ? 1 : 0)] = s.latch.peer();
}

void Relay::Connect(Socket& s) {
  if (!s.mayConnect || s.fd < 0 || !s.latch.locked() || s.connected.load(std::memory_order_relaxed)) return;
  const Address& p = s.latch.peer();
  if (connect(s.fd, p.sa(), p.len) == 0) s.connected.store(true, std::memory_order_relaxed);
}

void Relay::Disconnect(Socket& s) {
  if (!s.connected.load(std::memory_order_relaxed)) return;
  s.connected.store(false, std::memory_order_relaxed);
  sockaddr sa{};
  sa.sa_family = AF_UNSPEC;
  connect(s.fd, &sa, sizeof(sa));
}

bool Relay::CanSilence(int dir) const {
  RtpProfile* p = rtp_session_get_recv_profile(setup_.side[dir].session);
  for (int pt = 0; pt < 128; ++pt) {
    const PtRule& r = setup_.rules[dir][pt];
    if (r.kind == PtRule::kAudio && r.silence < 0 && Payload(p, pt) != nullptr) return false;
  }
  return true;
}

RtcpLatest Relay::LatestRtcp(int side) const {
  std::lock_guard<std::mutex> lock(mu_);
  return rtcp_[side];
}

std::string Relay::Source(int side, bool rtcp) const {
  std::lock_guard<std::mutex> lock(mu_);
  return sources_[side * 2 + (rtcp ? 1 : 0)].ToString();
}

Socket* Relay::OnDatagram(Socket& in, uint8_t* buf, size_t len, const sockaddr* from, socklen_t fromLen,
                          uint64_t nowNs) {
  const int dir = in.side;
  DirectionCounters& c = counters_[dir];
  bool moved = false;
  if (!in.latch.Accept(from, fromLen, &moved)) {
    Add(in.rtcp ? c.rtcpRefused : c.refused);
    return nullptr;
  }
  if (moved) {
    Add(c.moves);
    Moved(in);
  }
  if (in.rtcp) return OnRtcp(in, buf, len, nowNs, false);
  if (len < 12 || (buf[0] >> 6) != 2) {
    Add(c.malformed);
    return nullptr;
  }
  // RFC 5761: RTCP multiplexed on the RTP port (packet types 192..223)
  if (LooksLikeRtcp(buf, len)) return OnRtcp(in, buf, len, nowNs, true);
  const uint8_t pt = buf[1] & 0x7f;
  const uint16_t seq = static_cast<uint16_t>((buf[2] << 8) | buf[3]);
  uint32_t ts, ssrc;
  std::memcpy(&ts, buf + 4, 4);
  std::memcpy(&ssrc, buf + 8, 4);
  ts = ntohl(ts);
  ssrc = ntohl(ssrc);
  size_t off = 12 + 4u * (buf[0] & 0x0f);
  if ((buf[0] & 0x10) && off + 4 <= len) off += 4 + 4u * ((buf[off + 2] << 8) | buf[off + 3]);
  size_t end = len;
  if ((buf[0] & 0x20) && len > 12) end = buf[len - 1] <= len ? len - buf[len - 1] : 0;
  if (off > end) {
    Add(c.malformed);
    return nullptr;
  }
  const PtRule& rule = setup_.rules[dir][pt];
  stats_[dir].Update(seq, ts, ssrc, static_cast<uint32_t>(len), nowNs, rule.clock, rule.kind == PtRule::kAudio);
  // the session's own receive figures (its quality reports) go on as if it read the packet
  if (observers_[dir] != nullptr) observers_[dir]->OnRtp(buf, len, static_cast<int64_t>(nowNs) + realtimeOffsetNs_);
  if (rule.kind == PtRule::kTelephoneEvent && events_) {
    TelephoneEvent ev[3];
    int n = dtmf_[dir].OnPacket(buf + off, end - off, ts, rule.clock, ev);
    for (int i = 0; i < n; ++i) {
      ev[i].direction = static_cast<uint8_t>(dir);
      events_->Push(ev[i]);
    }
  }
  if (blocked_[dir].load(kRelaxed)) {
    Add(c.blocked);
    return nullptr;
  }
  if (silenced_[dir].load(kRelaxed) && rule.kind == PtRule::kAudio) {
    if (rule.silence < 0) {
      Add(c.silenceUnsupported);
      return nullptr;
    }
    std::memset(buf + off, rule.silence, end - off);
    Add(c.silenced);
  }
  if (rule.out != pt) buf[1] = static_cast<uint8_t>((buf[1] & 0x80) | rule.out);
  Socket& out = socket(1 - dir, false);
  if (out.latch.Destination() == nullptr) {
    Add(c.noDestination);
    return nullptr;
  }
  return &out;
}

Socket* Relay::OnRtcp(Socket& in, const uint8_t* buf, size_t len, uint64_t nowNs, bool onRtpSocket) {
  const int dir = in.side;
  DirectionCounters& c = counters_[dir];
  // checked like the receive gate checks what it hands oRTP (rtcp_check.h):
  // nothing malformed is kept, parsed or passed on
  if (CheckRtcpCompound(buf, len) != RtcpCheck::kOk) {
    Add(c.malformed);
    return nullptr;
  }
  Add(c.rtcpPackets);
  Add(c.rtcpBytes, len);
  // walk the compound (RFC 3550 6.1): which reports it holds
  bool sr = false, rr = false, xr = false;
  for (size_t off = 0; off + 4 <= len;) {
    const uint8_t type = buf[off + 1];
    const size_t plen = 4u * ((static_cast<size_t>(buf[off + 2]) << 8 | buf[off + 3]) + 1);
    if ((buf[off] >> 6) != 2 || off + plen > len) break;
    if (type == 200)
      sr = true;
    else if (type == 201)
      rr = true;
    else if (type == 207)
      xr = true;
    else
      Add(c.rtcpOther);
    off += plen;
  }
  if (sr) Add(c.rtcpSr);
  if (rr) Add(c.rtcpRr);
  if (xr) Add(c.rtcpXr);
  if (sr || rr || xr) {
    std::lock_guard<std::mutex> lock(mu_);
    RtcpLatest& l = rtcp_[dir];
    if (sr) l.sr.assign(buf, buf + len), l.srNs = nowNs;
    if (rr) l.rr.assign(buf, buf + len), l.rrNs = nowNs;
    if (xr) l.xr.assign(buf, buf + len), l.xrNs = nowNs;
  }
  Socket& out = socket(1 - dir, !onRtpSocket);
  if (out.fd < 0 || out.latch.Destination() == nullptr) {
    Add(c.noDestination);
    return nullptr;
  }
  return &out;
}

}  // namespace rms::fwd
