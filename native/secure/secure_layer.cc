#include "secure/secure_layer.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <time.h>

#include <cstring>
#include <utility>

#include "core/recv_gate.h"
#include "core/rtcp_check.h"
#include "secure/stun.h"

namespace rms::secure {

struct SecureLayer::Transport {
  RtpTransport tr{};  // tr.data == this
  std::shared_ptr<SecureLayer> layer;
  int component = 0;
  RtpTransport* inner = nullptr;  // the gate, or nullptr (read the socket directly)
};

namespace {

// Datagrams a read may drop before it gives up until the next tick.
constexpr int kMaxDropsPerRead = 64;
constexpr size_t kMaxEvents = 64;

uint64_t NowNs() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000000000ull + static_cast<uint64_t>(ts.tv_nsec);
}

bool IsRtcp(const uint8_t* p, int n) {
  // RFC 5761 4: RTCP packet types 192-223 in the second octet
  return n >= 2 && p[1] >= 192 && p[1] <= 223;
}

std::string AddressText(const sockaddr* a, socklen_t len) {
  char host[64] = {0};
  int port = 0;
  if (a == nullptr || len == 0) return "";
  if (a->sa_family == AF_INET) {
    auto* s = reinterpret_cast<const sockaddr_in*>(a);
    inet_ntop(AF_INET, &s->sin_addr, host, sizeof(host));
    port = ntohs(s->sin_port);
    return std::string(host) + ":" + std::to_string(port);
  }
  if (a->sa_family == AF_INET6) {
    auto* s = reinterpret_cast<const sockaddr_in6*>(a);
    inet_ntop(AF_INET6, &s->sin6_addr, host, sizeof(host));
    port = ntohs(s->sin6_port);
    return "[" + std::string(host) + "]:" + std::to_string(port);
  }
  return "";
}

RtpTransport* LayerBelow(RtpTransport* t) { return static_cast<SecureLayer::Transport*>(t->data)->inner; }

ortp_socket_t LayerSocket(RtpTransport* t) {
  auto* lt = static_cast<SecureLayer::Transport*>(t->data);
  if (lt->inner != nullptr) return lt->inner->t_getsocket(lt->inner);
  return lt->component == 0 ? t->session->rtp.gs.socket : t->session->rtcp.gs.socket;
}

void LayerClose(RtpTransport* t) {
  auto* lt = static_cast<SecureLayer::Transport*>(t->data);
  if (lt->inner != nullptr && lt->inner->t_close != nullptr) lt->inner->t_close(lt->inner);
}

bool IsMeta(const RtpTransport* t) { return t != nullptr && t->t_sendto == &meta_rtp_transport_sendto; }

}  // namespace

// ---------------------------------------------------------------------------
// Installation and lifetime
// ---------------------------------------------------------------------------

SecureLayer::SecureLayer(RtpSession* s) : session_(s) { EnsureSrtpInitialised(); }

SecureLayer::~SecureLayer() = default;

static void LayerDestroy(RtpTransport* t);

std::shared_ptr<SecureLayer> SecureLayer::Install(RtpSession* s, std::string* err) {
  if (auto existing = Of(s)) return existing;
  RtpTransport* metas[2];
  rtp_session_get_transports(s, &metas[0], &metas[1]);
  if (!IsMeta(metas[0]) || !IsMeta(metas[1])) {
    *err = "the RTP session has no meta transports to put a security layer on";
    return nullptr;
  }
  RegisterTransportLayer(&SecureLayer::Recv, &LayerBelow);
  std::shared_ptr<SecureLayer> layer(new SecureLayer(s));
  for (int i = 0; i < 2; ++i) {
    auto* t = new Transport();
    t->tr.data = t;
    t->tr.session = s;
    t->tr.t_getsocket = &LayerSocket;
    t->tr.t_sendto = &SecureLayer::Send;
    t->tr.t_recvfrom = &SecureLayer::Recv;
    t->tr.t_close = &LayerClose;
    t->tr.t_destroy = &LayerDestroy;
    t->layer = layer;
    t->component = i;
    t->inner = meta_rtp_transport_get_endpoint(metas[i]);
    meta_rtp_transport_set_endpoint(metas[i], &t->tr);
    layer->tr_[i] = t;
  }
  return layer;
}

std::shared_ptr<SecureLayer> SecureLayer::Of(RtpSession* s) {
  RtpTransport* rtp = nullptr;
  rtp_session_get_transports(s, &rtp, nullptr);
  if (!IsMeta(rtp)) return nullptr;
  RtpTransport* e = meta_rtp_transport_get_endpoint(rtp);
  if (e == nullptr || e->t_recvfrom != &SecureLayer::Recv) return nullptr;
  return static_cast<Transport*>(e->data)->layer;
}

static void LayerDestroy(RtpTransport* t) {
  auto* lt = static_cast<SecureLayer::Transport*>(t->data);
  if (lt->inner != nullptr && lt->inner->t_destroy != nullptr) lt->inner->t_destroy(lt->inner);
  // the session is being destroyed: no more packets, no more sends
  lt->layer->DetachTransport(lt->component);
  delete lt;
}

void SecureLayer::DetachTransport(int component) {
  std::lock_guard<std::mutex> lock(mu_);
  tr_[component] = nullptr;
  if (tr_[0] == nullptr && tr_[1] == nullptr) {
    session_ = nullptr;
    if (zrtp_) zrtp_->Detach();
  }
}

static const char* kZrtpIsFinal = "the leg is on ZRTP: its keying cannot change (ms2's SRTP stays on its transports)";

// ---------------------------------------------------------------------------
// Configuration (main thread)
// ---------------------------------------------------------------------------

std::string SecureLayer::SetSdes(SrtpSuite sendSuite, const uint8_t* sendKey, size_t sendLen, SrtpSuite recvSuite,
                                 const uint8_t* recvKey, size_t recvLen) {
  std::lock_guard<std::mutex> lock(mu_);
  if (protection_ == Protection::kZrtp) return kZrtpIsFinal;
  const bool setSend = sendSuite != SrtpSuite::kNone, setRecv = recvSuite != SrtpSuite::kNone;
  if (protection_ != Protection::kSdes && (!setSend || !setRecv))
    return "SDES needs both keys when it starts (the leg is not on SDES yet)";
  // both keys or neither: a half-applied pair would send under one suite
  // and refuse the other
  SrtpSession probe;
  std::string err = setSend ? probe.SetSendKey(sendSuite, sendKey, sendLen) : "";
  if (err.empty() && setRecv) err = probe.SetRecvKey(recvSuite, recvKey, recvLen);
  if (!err.empty()) return err;
  if (protection_ != Protection::kSdes) {
    for (auto& d : dtls_) d.reset();
    srtp_[0].Clear();
    srtp_[1].Clear();
  }
  // a key that did not change keeps its context: a new one would restart the
  // rollover counter (keystream reuse after a wrap) and the replay window
  if (setSend) srtp_[0].SetSendKey(sendSuite, sendKey, sendLen);
  if (setRecv) srtp_[0].SetRecvKey(recvSuite, recvKey, recvLen);
  protection_ = Protection::kSdes;
  return "";
}

void SecureLayer::NewDtlsLocked(int c) {
  SecureLayer* self = this;
  auto send = [self, c](const uint8_t* p, size_t n) {
    sockaddr_storage to;
    socklen_t len = 0;
    if (self->DtlsDestinationLocked(c, &to, &len, NowNs()))
      self->SendRawLocked(c, p, n, reinterpret_cast<sockaddr*>(&to), len);
  };
  dtls_[c].reset(new DtlsSession(identity_, role_, remoteFingerprint_, send));
  dtlsPeerLen_[c] = 0;
}

std::string SecureLayer::SetDtls(std::shared_ptr<DtlsIdentity> identity, DtlsRole role,
                                 const std::string& remoteFingerprint) {
  std::lock_guard<std::mutex> lock(mu_);
  if (protection_ == Protection::kZrtp) return kZrtpIsFinal;
  // check the settings before anything running is replaced
  DtlsSession probe(identity, role, remoteFingerprint, [](const uint8_t*, size_t) {});
  std::string err = probe.Init();
  if (!err.empty()) return err;
  identity_ = std::move(identity);
  role_ = role;
  remoteFingerprint_ = remoteFingerprint;
  srtp_[0].Clear();
  srtp_[1].Clear();
  for (int c = 0; c < 2; ++c) {
    dtls_[c].reset();
    if (c == 1 && rtcpMux_) continue;
    NewDtlsLocked(c);
    err = dtls_[c]->Init();
    if (!err.empty()) return err;
  }
  protection_ = Protection::kDtls;
  return "";
}

void SecureLayer::SetIce(const IceCredentials& creds) {
  std::lock_guard<std::mutex> lock(mu_);
  for (auto& i : ice_) i.reset(new IceLite(creds));
}

void SecureLayer::ClearIce() {
  std::lock_guard<std::mutex> lock(mu_);
  for (auto& i : ice_) i.reset();
}

void SecureLayer::SetRtcpMux(bool on) {
  std::lock_guard<std::mutex> lock(mu_);
  rtcpMux_ = on;
  // a separate RTCP handshake is only for a separate RTCP socket
  if (on) dtls_[1].reset();
  if (!on && protection_ == Protection::kDtls && !dtls_[1] && identity_) {
    NewDtlsLocked(1);
    if (!dtls_[1]->Init().empty()) dtls_[1].reset();
  }
}

std::string SecureLayer::SetZrtp() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (protection_ == Protection::kZrtp) return "";
    if (session_ == nullptr) return "the RTP session is closed";
    for (auto& d : dtls_) d.reset();
    srtp_[0].Clear();
    srtp_[1].Clear();
    protection_ = Protection::kNone;
    if (!zrtp_) zrtp_.reset(new ZrtpSession(session_));
    if (!zrtp_->ok()) return "ZRTP is not available in this mediastreamer2 (bzrtp)";
    protection_ = Protection::kZrtp;
  }
  // outside our lock: the first Hello goes out through our own transport
  zrtp_->Start();
  return "";
}

void SecureLayer::SetZrtpVerified(bool yes) {
  std::lock_guard<std::mutex> lock(mu_);
  if (zrtp_) zrtp_->SetVerified(yes);
}

void SecureLayer::ClearProtection() {
  std::lock_guard<std::mutex> lock(mu_);
  if (protection_ == Protection::kZrtp) return;
  for (auto& d : dtls_) d.reset();
  srtp_[0].Clear();
  srtp_[1].Clear();
  protection_ = Protection::kNone;
}

void SecureLayer::SetNotify(std::function<void()> fn) {
  std::lock_guard<std::mutex> lock(mu_);
  notify_ = std::move(fn);
}

std::vector<LayerEvent> SecureLayer::TakeEvents() {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<LayerEvent> out;
  out.swap(events_);
  notifyPending_ = false;
  return out;
}

LayerStats SecureLayer::Stats() {
  std::lock_guard<std::mutex> lock(mu_);
  LayerStats st;
  st.protection = protection_;
  st.sendSuite = srtp_[0].sendSuite();
  st.recvSuite = srtp_[0].recvSuite();
  st.rtcpMux = rtcpMux_;
  st.counters = counters_;
  st.attached = tr_[0] != nullptr || tr_[1] != nullptr;
  if (zrtp_) {
    st.hasZrtp = true;
    st.zrtp = zrtp_->status();
  }
  for (int c = 0; c < 2; ++c) {
    ComponentStats& cs = st.component[c];
    cs.srtp = srtp_[c].counters();
    if (dtls_[c]) {
      cs.hasDtls = true;
      cs.dtlsState = dtls_[c]->state();
      cs.dtlsRole = dtls_[c]->role();
      cs.dtls = dtls_[c]->counters();
      cs.dtlsFailure = dtls_[c]->failure();
    }
    if (ice_[c]) {
      cs.hasIce = true;
      cs.iceState = ice_[c]->state();
      cs.ice = ice_[c]->counters();
      socklen_t len = 0;
      const sockaddr* sel = ice_[c]->selected(&len);
      cs.iceSelected = AddressText(sel, len);
    }
  }
  return st;
}

// ---------------------------------------------------------------------------
// Packets (ticker thread)
// ---------------------------------------------------------------------------

void SecureLayer::PushEventLocked(LayerEvent e) {
  if (events_.size() >= kMaxEvents) events_.erase(events_.begin());
  events_.push_back(std::move(e));
  if (!notifyPending_ && notify_) {
    notifyPending_ = true;
    notify_();
  }
}

void SecureLayer::CheckChangesLocked(int c) {
  if (ice_[c] && ice_[c]->TakeChange()) {
    socklen_t len = 0;
    const sockaddr* sel = ice_[c]->selected(&len);
    PushEventLocked(
        {LayerEvent::kIce, static_cast<uint8_t>(c), static_cast<uint8_t>(ice_[c]->state()), AddressText(sel, len)});
  }
  int d = DtlsComponent(c);
  if (!dtls_[d] || !dtls_[d]->TakeChange()) return;
  DtlsState st = dtls_[d]->state();
  if (st == DtlsState::kConnected) {
    SrtpSuite suite;
    uint8_t local[30], remote[30];
    if (dtls_[d]->Keys(&suite, local, remote)) {
      srtp_[d].Clear();
      std::string err = srtp_[d].SetSendKey(suite, local, sizeof(local));
      if (err.empty()) err = srtp_[d].SetRecvKey(suite, remote, sizeof(remote));
      bctbx_clean(local, sizeof(local));
      bctbx_clean(remote, sizeof(remote));
      if (!err.empty()) {
        PushEventLocked({LayerEvent::kDtls, static_cast<uint8_t>(d), static_cast<uint8_t>(DtlsState::kFailed), err});
        return;
      }
    }
  }
  PushEventLocked({LayerEvent::kDtls, static_cast<uint8_t>(d), static_cast<uint8_t>(st), dtls_[d]->failure()});
}

bool SecureLayer::DtlsDestinationLocked(int c, sockaddr_storage* out, socklen_t* len, uint64_t now) {
  if (ice_[c]) {
    const sockaddr* d = ice_[c]->Destination(now, len);
    if (d == nullptr) return false;
    std::memcpy(out, d, *len);
    return true;
  }
  if (dtlsPeerLen_[c] > 0) {
    std::memcpy(out, &dtlsPeer_[c], dtlsPeerLen_[c]);
    *len = dtlsPeerLen_[c];
    return true;
  }
  if (session_ == nullptr) return false;
  const OrtpStream& os = c == 0 ? session_->rtp.gs : session_->rtcp.gs;
  if (os.rem_addrlen == 0) return false;
  std::memcpy(out, &os.rem_addr, os.rem_addrlen);
  *len = os.rem_addrlen;
  return true;
}

void SecureLayer::SendRawLocked(int c, const uint8_t* p, size_t n, const sockaddr* to, socklen_t tolen) {
  Transport* t = tr_[c];
  if (t == nullptr || session_ == nullptr) return;
  mblk_t* m = allocb(n, 0);
  std::memcpy(m->b_wptr, p, n);
  m->b_wptr += n;
  if (t->inner != nullptr)
    t->inner->t_sendto(t->inner, m, 0, to, tolen);
  else
    rtp_session_sendto(session_, c == 0, m, 0, to, tolen);
  freemsg(m);
}

SrtpSession& SecureLayer::SrtpForLocked(int socketComponent, bool rtcp) {
  // SDES keys one context for everything; DTLS keys the RTCP socket's own
  // handshake separately when there is one
  if (protection_ == Protection::kDtls && socketComponent == 1 && rtcp && dtls_[1]) return srtp_[1];
  return srtp_[0];
}

void SecureLayer::ScheduleLocked(int c, uint64_t now) {
  int d = DtlsComponent(c);
  if (d == c && dtls_[d]) {
    if (!dtls_[d]->started() && dtls_[d]->role() == DtlsRole::kClient) {
      // a client starts once it knows where to send (with ICE: a pair)
      sockaddr_storage to;
      socklen_t len = 0;
      if (DtlsDestinationLocked(d, &to, &len, now)) dtls_[d]->Start();
    } else {
      dtls_[d]->Tick();
    }
  }
  if (ice_[c]) {
    socklen_t len;
    ice_[c]->Destination(now, &len);  // consent expiry
  }
  if (c == 0 && zrtp_ && zrtp_->Poll()) {
    // one event per step, even when ms2 reported both in one tick
    const ZrtpStatus& z = zrtp_->status();
    if (!z.sas.empty() && !zrtpSasReported_) {
      zrtpSasReported_ = true;
      PushEventLocked({LayerEvent::kZrtp, 0, 1, z.sas});
    }
    if (z.secure != zrtpSecureReported_) {
      zrtpSecureReported_ = z.secure;
      if (z.secure) PushEventLocked({LayerEvent::kZrtp, 0, 2, z.sas});
    }
  }
  CheckChangesLocked(c);
}

int SecureLayer::IncomingLocked(int c, uint8_t* p, int n, const sockaddr* from, socklen_t fromlen, uint64_t now) {
  if (n <= 0) return 0;
  const uint8_t b0 = p[0];
  if (b0 < 4) {
    ++counters_.stunIn;
    if (!ice_[c]) {
      ++counters_.unknownDropped;
      return 0;
    }
    uint8_t resp[kStunMaxResponse];
    size_t rl = ice_[c]->OnStun(p, static_cast<size_t>(n), from, fromlen, now, resp);
    if (rl > 0) SendRawLocked(c, resp, rl, from, fromlen);
    CheckChangesLocked(c);
    return 0;
  }
  if (ice_[c] && !ice_[c]->Validated(from, fromlen)) {
    ice_[c]->CountUnvalidated();
    return 0;
  }
  if (b0 >= 20 && b0 <= 63) {
    ++counters_.dtlsIn;
    int d = DtlsComponent(c);
    if (!dtls_[d] || d != c) {
      ++counters_.unknownDropped;
      return 0;
    }
    if (from != nullptr && fromlen > 0 && fromlen <= sizeof(sockaddr_storage)) {
      std::memcpy(&dtlsPeer_[c], from, fromlen);
      dtlsPeerLen_[c] = fromlen;
    }
    dtls_[d]->OnDatagram(p, static_cast<size_t>(n));
    CheckChangesLocked(c);
    return 0;
  }
  // ZRTP: its packets (16-19) and SRTP go up to ms2's modifiers
  if (protection_ == Protection::kZrtp && ((b0 >= 16 && b0 <= 19) || (b0 >= 128 && b0 <= 191))) return n;
  if (b0 >= 128 && b0 <= 191) {
    const bool rtcp = c == 1 || IsRtcp(p, n);
    // the receive gate leaves RTCP on a layered socket to us (it cannot read
    // SRTCP): what reaches oRTP's parser is checked here, in the clear
    if (protection_ == Protection::kNone)
      return !rtcp || CheckRtcpCompound(p, static_cast<size_t>(n)) == RtcpCheck::kOk ? n : DropInvalidRtcp();
    SrtpSession& s = SrtpForLocked(c, rtcp);
    if (!s.canRecv()) {
      ++counters_.beforeKeysIn;
      return 0;
    }
    int r = rtcp ? s.UnprotectRtcp(p, n) : s.UnprotectRtp(p, n);
    if (r > 0 && rtcp && CheckRtcpCompound(p, static_cast<size_t>(r)) != RtcpCheck::kOk) return DropInvalidRtcp();
    return r > 0 ? r : 0;
  }
  ++counters_.unknownDropped;
  return 0;
}

int SecureLayer::OutgoingLocked(int c, uint8_t* p, int n, const sockaddr* to, socklen_t tolen, sockaddr_storage* dest,
                                socklen_t* destlen, uint64_t now) {
  if (to != nullptr && tolen > 0 && tolen <= sizeof(sockaddr_storage)) std::memcpy(dest, to, tolen);
  *destlen = to != nullptr ? tolen : 0;
  if (protection_ == Protection::kNone && !ice_[c]) return n;
  if (ice_[c]) {
    socklen_t len = 0;
    const sockaddr* d = ice_[c]->Destination(now, &len);
    if (d == nullptr) {
      ice_[c]->CountSendRefused();
      return -1;
    }
    std::memcpy(dest, d, len);
    *destlen = len;
  }
  // (ZRTP: ms2's modifiers above us have protected it, or dropped it)
  if (protection_ == Protection::kNone || protection_ == Protection::kZrtp) return n;
  const bool rtcp = c == 1 || IsRtcp(p, n);
  SrtpSession& s = SrtpForLocked(c, rtcp);
  if (!s.canSend()) {
    ++counters_.beforeKeysOut;
    return -1;
  }
  return rtcp ? s.ProtectRtcp(p, n) : s.ProtectRtp(p, n);
}

int SecureLayer::Recv(RtpTransport* t, mblk_t* m, int flags, sockaddr* from, socklen_t* fromlen) {
  auto* lt = static_cast<Transport*>(t->data);
  SecureLayer& L = *lt->layer;
  const int c = lt->component;
  std::lock_guard<std::mutex> lock(L.mu_);
  const uint64_t now = NowNs();
  L.ScheduleLocked(c, now);
  const socklen_t cap = fromlen != nullptr ? *fromlen : 0;
  for (int i = 0; i < kMaxDropsPerRead; ++i) {
    if (fromlen != nullptr) *fromlen = cap;
    int n = lt->inner != nullptr ? lt->inner->t_recvfrom(lt->inner, m, flags, from, fromlen)
                                 : rtp_session_recvfrom(t->session, c == 0, m, flags, from, fromlen);
    if (n <= 0) return n;
    int r = L.IncomingLocked(c, m->b_wptr, n, from, fromlen != nullptr ? *fromlen : 0, now);
    // what passed is counted for the quality figures (RTP only: not on the RTCP component or mux)
    if (r > 0 && c == 0 && !IsRtcp(m->b_wptr, r)) ObserveUnprotected(t->session, m->b_wptr, static_cast<size_t>(r));
    if (r > 0) return r;
  }
  return 0;
}

int SecureLayer::Send(RtpTransport* t, mblk_t* m, int flags, const sockaddr* to, socklen_t tolen) {
  auto* lt = static_cast<Transport*>(t->data);
  SecureLayer& L = *lt->layer;
  const int c = lt->component;
  const int len = static_cast<int>(msgdsize(m));
  std::lock_guard<std::mutex> lock(L.mu_);
  // protect in place: one contiguous block of ours with room for the tag
  if (m->b_cont != nullptr || dblk_ref_value(m->b_datap) > 1 ||
      dblk_lim(m->b_datap) - m->b_wptr < static_cast<long>(kSrtpMaxGrowth))
    msgpullup(m, static_cast<size_t>(len) + kSrtpMaxGrowth);
  sockaddr_storage dest;
  socklen_t destlen = 0;
  int r = L.OutgoingLocked(c, m->b_rptr, len, to, tolen, &dest, &destlen, NowNs());
  // not sent: reported as sent so that oRTP does not log a socket error per
  // packet; the layer counted why
  if (r < 0) return len;
  m->b_wptr = m->b_rptr + r;
  const sockaddr* d = destlen > 0 ? reinterpret_cast<const sockaddr*>(&dest) : nullptr;
  if (lt->inner != nullptr) return lt->inner->t_sendto(lt->inner, m, flags, d, destlen);
  return rtp_session_sendto(t->session, c == 0, m, flags, d, destlen);
}

int SecureLayer::ProcessIncoming(int component, uint8_t* buf, int len, const sockaddr* from, socklen_t fromlen) {
  if (component < 0 || component > 1) return 0;
  std::lock_guard<std::mutex> lock(mu_);
  return IncomingLocked(component, buf, len, from, fromlen, NowNs());
}

int SecureLayer::ProcessOutgoing(int component, uint8_t* buf, int len, sockaddr_storage* dest, socklen_t* destlen) {
  if (component < 0 || component > 1) return -1;
  std::lock_guard<std::mutex> lock(mu_);
  sockaddr_storage to = *dest;
  socklen_t tolen = *destlen;
  return OutgoingLocked(component, buf, len, tolen > 0 ? reinterpret_cast<sockaddr*>(&to) : nullptr, tolen, dest,
                        destlen, NowNs());
}

}  // namespace rms::secure
