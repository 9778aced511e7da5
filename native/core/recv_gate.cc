#include "recv_gate.h"

#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <mutex>
#include <vector>

#include "ortp_shim.h"
#include "rtcp_check.h"
#include "send_clock.h"
#include "session_settings.h"

namespace rms {

namespace {

// A socket's "has data" flag. Never freed, only recycled (see the header).
struct Slot {
  std::atomic<bool> ready{true};
};

std::mutex g_slotMutex;
std::vector<Slot*>& FreeSlots() {
  static auto* v = new std::vector<Slot*>();
  return *v;
}

Slot* TakeSlot() {
  std::lock_guard<std::mutex> lock(g_slotMutex);
  Slot* s;
  if (FreeSlots().empty()) {
    s = new Slot();
  } else {
    s = FreeSlots().back();
    FreeSlots().pop_back();
  }
  s->ready.store(true, std::memory_order_relaxed);
  return s;
}

void GiveSlot(Slot* s) {
  std::lock_guard<std::mutex> lock(g_slotMutex);
  FreeSlots().push_back(s);
}

std::atomic<uint64_t> g_nextPollerId{1};
thread_local TickerPoller* t_current = nullptr;

// Reads per recvfrom call that come from somewhere else than the latched
// peer and are dropped before we give up until the next tick.
constexpr int kMaxDropsPerRead = 64;

struct Gate {
  RtpTransport tr{};  // tr.data == this
  bool rtp = true;
  Slot* slot = nullptr;
  // registration with a ticker's poller (0: none)
  uint64_t pollerId = 0;
  int pollerFd = -1;
  int fd = -1;
  // latch
  bool filter = false;        // accept datagrams from `peer` only
  bool latchPending = false;  // kOnce: waiting for the first source
  sockaddr_storage peer{};
  socklen_t peerLen = 0;
  // connect() to the peer: the kernel then drops other sources and sends
  // use the socket's cached route. Only for a port bound explicitly: undoing
  // it on a socket whose port the kernel chose also unbinds the port.
  bool mayConnect = false;
  std::atomic<bool> connected{false};
  // RTCP: datagrams CheckRtcpCompound() refused (written by the reading thread)
  std::atomic<uint64_t> rtcpInvalid{0};
  std::atomic<int> lastInvalid{0};  // RtcpCheck of the last one
  // RTCP: bytes of the datagrams in the clear that passed the check and the
  // latch, i.e. of what oRTP counts in recv_rtcp_packets (reading thread)
  std::atomic<uint64_t> rtcpBytes{0};
  // RTCP: called at each read and send (SetGateRtcpHook)
  GateRtcpHook hook = nullptr;
  void* hookUser = nullptr;
  // RTP gate: settings posted for the reading thread (session_settings.h)
  std::mutex settingsMutex;
  std::unique_ptr<SessionSettings> pending;
  std::atomic<bool> hasPending{false};
  // quality: what crosses the gate (SetGateObserver)
  GateObserver* observer = nullptr;
  int stampFd = -1;  // the socket SO_TIMESTAMPNS was turned on for
  // under a security layer: the arrival time of the packet passed up, for the
  // layer to report once the packet proved authentic (ObserveUnprotected)
  int64_t deferredArrival = 0;
  bool deferred = false;
  // the forwarder owns the socket: read nothing, leave the latch alone
  std::atomic<bool> suspended{false};
  // until then (CLOCK_MONOTONIC ns), a flush keeps what waits: see ResumeGate
  std::atomic<uint64_t> keepFlushUntilNs{0};
  // RTP gate: the timestamps sent (send_clock.h)
  SendClock clock;
};

// How long after a handback from the forwarder the packets waiting are
// live media rather than stale.
constexpr uint64_t kKeepFlushNs = 200000000;
// How old a datagram waiting when a graph starts may be and still be live.
constexpr int64_t kFreshNs = 100000000;
// At most this many stale datagrams dropped per flush (a socket buffer holds ~1500).
constexpr int kMaxTrim = 4096;

uint64_t MonoNs() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000000000ull + static_cast<uint64_t>(ts.tv_nsec);
}

// Applies what was posted; on the reading thread (or when none reads).
bool ApplyPending(Gate* g, RtpSession* s) {
  std::unique_ptr<SessionSettings> change;
  {
    std::lock_guard<std::mutex> lock(g->settingsMutex);
    change = std::move(g->pending);
    g->hasPending.store(false, std::memory_order_relaxed);
  }
  if (!change) return false;
  ApplySettings(s, *change);
  return true;
}

int SocketOf(const Gate* g, RtpSession* s) { return ortp::Socket(s, g->rtp); }

bool SameEndpoint(const sockaddr* a, socklen_t alen, const sockaddr_storage& b, socklen_t blen) {
  if (alen == 0 || blen == 0 || a->sa_family != b.ss_family) return false;
  if (a->sa_family == AF_INET) {
    auto* x = reinterpret_cast<const sockaddr_in*>(a);
    auto* y = reinterpret_cast<const sockaddr_in*>(&b);
    return x->sin_port == y->sin_port && x->sin_addr.s_addr == y->sin_addr.s_addr;
  }
  if (a->sa_family == AF_INET6) {
    auto* x = reinterpret_cast<const sockaddr_in6*>(a);
    auto* y = reinterpret_cast<const sockaddr_in6*>(&b);
    return x->sin6_port == y->sin6_port && std::memcmp(&x->sin6_addr, &y->sin6_addr, sizeof(in6_addr)) == 0;
  }
  return false;
}

void Disconnect(Gate* g, int fd) {
  if (!g->connected.load(std::memory_order_relaxed)) return;
  g->connected.store(false, std::memory_order_relaxed);
  if (fd < 0) return;
  sockaddr sa{};
  sa.sa_family = AF_UNSPEC;
  connect(fd, &sa, sizeof(sa));
}

// Accept only `peer` from now on; connect() to it where that can be undone.
void LatchTo(Gate* g, int fd, const sockaddr* peer, socklen_t len) {
  std::memcpy(&g->peer, peer, len);
  g->peerLen = len;
  g->filter = true;
  if (g->mayConnect && fd >= 0 && connect(fd, peer, len) == 0) g->connected.store(true, std::memory_order_release);
}

void Register(Gate* g, TickerPoller* p, int fd) {
  // Leaving another ticker's set (or an old socket's registration): errors
  // only mean it is gone already.
  if (g->pollerFd >= 0 && g->fd >= 0) epoll_ctl(g->pollerFd, EPOLL_CTL_DEL, g->fd, nullptr);
  epoll_event ev{};
  // Edge-triggered: each datagram's arrival is reported once, and the slot
  // keeps the flag until a read finds the socket empty; so polling again in
  // a tick costs only the arrivals since the last poll.
  ev.events = EPOLLIN | EPOLLET;
  ev.data.ptr = g->slot;
  int rc = epoll_ctl(p->fd(), EPOLL_CTL_ADD, fd, &ev);
  if (rc != 0 && errno == EEXIST) rc = epoll_ctl(p->fd(), EPOLL_CTL_MOD, fd, &ev);
  if (rc == 0) {
    g->pollerId = p->id();
    g->pollerFd = p->fd();
    g->fd = fd;
  } else {  // not gated: read every time, as oRTP would
    g->pollerId = 0;
    g->pollerFd = -1;
    g->fd = -1;
  }
  g->slot->ready.store(true, std::memory_order_relaxed);
}

bool IsMeta(const RtpTransport* t);

// Whether a transport (native/secure) sits between the session's meta and
// this gate: then what is not RTP/RTCP is that layer's to read.
bool LayerAbove(const Gate* g, RtpSession* s) {
  RtpTransport* trs[2];
  rtp_session_get_transports(s, &trs[0], &trs[1]);
  RtpTransport* meta = trs[g->rtp ? 0 : 1];
  return meta != nullptr && IsMeta(meta) && meta_rtp_transport_get_endpoint(meta) != &g->tr;
}

int64_t RealtimeNs() {
  timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000000000ll + ts.tv_nsec;
}

// The kernel's arrival time of the datagram the next read returns (oRTP
// reads it with a control buffer of its own that drops the timestamp): a
// zero-length MSG_PEEK. Falls back to now.
void StampArrivals(Gate* g, int fd) {
  if (g->stampFd == fd) return;
  int on = 1;
  g->stampFd = setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPNS, &on, sizeof(on)) == 0 ? fd : -1;
}

// The kernel's arrival time of the datagram waiting first: -1 when none
// waits, 0 when it carries no time (it came before SO_TIMESTAMPNS was on).
int64_t PeekArrival(int fd) {
  alignas(cmsghdr) char ctl[CMSG_SPACE(sizeof(timespec))];
  msghdr mh{};
  mh.msg_control = ctl;
  mh.msg_controllen = sizeof(ctl);
  if (recvmsg(fd, &mh, MSG_PEEK | MSG_DONTWAIT) < 0) return -1;
  for (cmsghdr* c = CMSG_FIRSTHDR(&mh); c != nullptr; c = CMSG_NXTHDR(&mh, c)) {
    if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_TIMESTAMPNS) {
      timespec ts;
      std::memcpy(&ts, CMSG_DATA(c), sizeof(ts));
      return static_cast<int64_t>(ts.tv_sec) * 1000000000ll + ts.tv_nsec;
    }
  }
  return 0;
}

int64_t ArrivalOfNext(Gate* g, int fd) {
  if (!g->observer->WantsArrivalTime()) return RealtimeNs();
  StampArrivals(g, fd);
  const int64_t at = PeekArrival(fd);
  return at > 0 ? at : RealtimeNs();
}

// MSRtpRecv flushes its socket when its graph starts. What waits there and
// arrived in the last kFreshNs is the call's live media - a phone that
// started sending with the answer, a graph rebuilt on a live leg - and stays
// for the first read; what is older is stale (a leg that waited for its
// answer with no graph) and goes, as the flush meant. The flush then reads
// nothing.
int TrimStale(Gate* g, int fd) {
  StampArrivals(g, fd);
  const int64_t oldest = RealtimeNs() - kFreshNs;
  uint8_t scratch[1];
  for (int i = 0; i < kMaxTrim; ++i) {
    const int64_t at = PeekArrival(fd);
    if (at < 0 || at >= oldest) break;
    if (recv(fd, scratch, sizeof(scratch), MSG_DONTWAIT) < 0) break;  // a short read drops the datagram
  }
  return 0;
}

// An RTP datagram the gate lets through, to the observer (never RTCP on a
// multiplexed socket: RxQuality skips those payload types). Under a security
// layer it is not seen yet: a replayed or forged packet must count nowhere,
// so the layer reports it once authenticated.
int Observed(Gate* g, GateObserver* obs, bool layered, mblk_t* m, int n, int64_t arrival) {
  if (obs == nullptr || n <= 0) return n;
  if (layered) {
    g->deferredArrival = arrival;
    g->deferred = true;
  } else {
    obs->OnRtp(m->b_wptr, static_cast<size_t>(n), arrival);
  }
  return n;
}

int GateRecv(RtpTransport* t, mblk_t* m, int flags, sockaddr* from, socklen_t* fromlen) {
  auto* g = static_cast<Gate*>(t->data);
  RtpSession* s = t->session;
  // first read of the tick (oRTP reads RTP first): not inside any oRTP state
  // a change could pull from under it
  if (g->hasPending.load(std::memory_order_acquire)) ApplyPending(g, s);
  int fd = SocketOf(g, s);
  if (!g->rtp && g->hook != nullptr) g->hook(g->hookUser);
  if (fd < 0 || g->suspended.load(std::memory_order_acquire)) return 0;
  if (uint64_t keep = g->keepFlushUntilNs.load(std::memory_order_relaxed)) {
    // MSRtpRecv flushes its socket when its graph starts: right after the
    // forwarder handed the socket back, what waits there is the stream the
    // relay was forwarding a moment ago, so the flush reads nothing
    const bool flushing = ortp::Flushing(s);
    if (flushing && MonoNs() < keep) return 0;
    if (!flushing) g->keepFlushUntilNs.store(0, std::memory_order_relaxed);
  }
  if (g->rtp && ortp::Flushing(s)) return TrimStale(g, fd);
  TickerPoller* p = t_current;
  if (p != nullptr) {
    if (g->pollerId != p->id() || g->fd != fd) {
      Register(g, p, fd);
    } else if (!g->slot->ready.load(std::memory_order_relaxed) &&
               (!p->RepollIfStale() || !g->slot->ready.load(std::memory_order_relaxed))) {
      p->CountSkipped();
      return 0;  // oRTP: "nothing received"
    }
  }
  const socklen_t cap = fromlen != nullptr ? *fromlen : 0;
  GateObserver* obs = g->rtp ? g->observer : nullptr;
  for (int dropped = 0; dropped < kMaxDropsPerRead; ++dropped) {
    if (fromlen != nullptr) *fromlen = cap;
    const int64_t arrival = obs != nullptr ? ArrivalOfNext(g, fd) : 0;
    int n = rtp_session_recvfrom(s, g->rtp ? TRUE : FALSE, m, flags, from, fromlen);
    if (p != nullptr) p->CountRead();
    if (n < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK) g->slot->ready.store(false, std::memory_order_relaxed);
      return n;
    }
    // RTCP (or RTCP on a multiplexed RTP socket) is checked against the
    // datagram's real length before oRTP parses any of it (rtcp_check.h).
    // On a socket a security layer (native/secure) reads through, STUN, DTLS
    // (first byte 0-3, 20-63: RFC 7983) and SRTCP - which this gate cannot
    // read - go up to that layer, which checks the RTCP once it is in the clear
    const bool layered = LayerAbove(g, s);
    if (n > 0 && layered && (m->b_wptr[0] & 0xc0) != 0x80) return n;
    bool rtcp = false;
    if (n > 0 && !layered && (!g->rtp || (ortp::RtcpMux(s) && LooksLikeRtcp(m->b_wptr, static_cast<size_t>(n))))) {
      RtcpCheck c = CheckRtcpCompound(m->b_wptr, static_cast<size_t>(n));
      if (c != RtcpCheck::kOk) {
        g->rtcpInvalid.store(g->rtcpInvalid.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
        g->lastInvalid.store(static_cast<int>(c), std::memory_order_relaxed);
        continue;  // dropped before the latch could learn from it
      }
      rtcp = true;
    }
    auto accept = [&]() {
      if (rtcp) g->rtcpBytes.store(g->rtcpBytes.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
      return Observed(g, obs, layered, m, n, arrival);
    };
    if (from == nullptr || fromlen == nullptr) return accept();
    if (g->latchPending) {
      g->latchPending = false;
      LatchTo(g, fd, from, *fromlen);
      return accept();
    }
    if (!g->filter || SameEndpoint(from, *fromlen, g->peer, g->peerLen)) return accept();
    // from a source the latch refuses (on an unconnected socket, or queued
    // before connect()): drop it and read on
  }
  return 0;
}

int GateSend(RtpTransport* t, mblk_t* m, int flags, const sockaddr* to, socklen_t tolen) {
  auto* g = static_cast<Gate*>(t->data);
  // the connected peer: no address, so the kernel uses the socket's route
  if (to != nullptr && g->connected.load(std::memory_order_acquire) && SameEndpoint(to, tolen, g->peer, g->peerLen)) {
    to = nullptr;
    tolen = 0;
  }
  // our XR blocks are completed before the compound leaves
  if (!g->rtp && g->observer != nullptr) g->observer->OnRtcpSend(t->session, m);
  // our RTP in the clear (not under a security layer, not RTCP on a mux)
  if (g->rtp && m->b_wptr - m->b_rptr >= 12 && !LayerAbove(g, t->session) &&
      !LooksLikeRtcp(m->b_rptr, static_cast<size_t>(m->b_wptr - m->b_rptr)))
    g->clock.OnSend(m->b_rptr, static_cast<size_t>(m->b_wptr - m->b_rptr));
  int n = rtp_session_sendto(t->session, g->rtp ? TRUE : FALSE, m, flags, to, tolen);
  // a session that is only sent on: after the send, which used the old remote
  if (g->hasPending.load(std::memory_order_acquire)) ApplyPending(g, t->session);
  // oRTP posted the compound to the event queues before sending it
  if (!g->rtp && g->hook != nullptr) g->hook(g->hookUser);
  return n;
}

ortp_socket_t GateSocket(RtpTransport* t) { return SocketOf(static_cast<Gate*>(t->data), t->session); }

// oRTP's meta transport closes its endpoint unconditionally: nothing to do,
// the socket is oRTP's.
void GateClose(RtpTransport*) {}

void GateDestroy(RtpTransport* t) {
  auto* g = static_cast<Gate*>(t->data);
  // The socket leaves any epoll set when oRTP closes it; a late event can
  // only touch the slot, which stays valid.
  GiveSlot(g->slot);
  delete g;
}

Gate* NewGate(bool rtp) {
  auto* g = new Gate();
  g->rtp = rtp;
  g->slot = TakeSlot();
  g->tr.data = g;
  g->tr.t_getsocket = &GateSocket;
  g->tr.t_sendto = &GateSend;
  g->tr.t_recvfrom = &GateRecv;
  g->tr.t_close = &GateClose;
  g->tr.t_destroy = &GateDestroy;
  return g;
}

// Transports stacked between oRTP's meta transport and a gate (see
// RegisterTransportLayer). Written before any session exists.
struct Layer {
  TransportRecvFn recv;
  TransportBelowFn below;
};
Layer g_layers[4];
std::atomic<int> g_layerCount{0};

bool IsMeta(const RtpTransport* t) { return t->t_sendto == &meta_rtp_transport_sendto; }

RtpTransport* Below(RtpTransport* t) {
  if (IsMeta(t)) return meta_rtp_transport_get_endpoint(t);
  for (int i = 0; i < g_layerCount.load(std::memory_order_acquire); ++i)
    if (t->t_recvfrom == g_layers[i].recv) return g_layers[i].below(t);
  return nullptr;
}

// The gate under a session's transport: the transport itself, the meta
// transport's endpoint, or further down through registered layers.
Gate* GateOf(RtpTransport* t) {
  for (int depth = 0; t != nullptr && depth < 4; ++depth) {
    if (t->t_recvfrom == &GateRecv) return static_cast<Gate*>(t->data);
    t = Below(t);
  }
  return nullptr;
}

}  // namespace

TickerPoller::TickerPoller() : fd_(epoll_create1(EPOLL_CLOEXEC)), id_(g_nextPollerId.fetch_add(1)) {}

TickerPoller::~TickerPoller() {
  if (t_current == this) t_current = nullptr;
  if (fd_ >= 0) close(fd_);
}

static uint64_t NowNs() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000000000ull + static_cast<uint64_t>(ts.tv_nsec);
}

bool TickerPoller::RepollIfStale() {
  if (NowNs() - lastPollNs_ < kRepollNs) return false;
  Poll();
  return true;
}

void TickerPoller::Poll() {
  t_current = fd_ >= 0 ? this : nullptr;
  if (fd_ < 0) return;
  lastPollNs_ = NowNs();
  epoll_event ev[512];
  // Bounded: what a burst leaves in the kernel's ready list is taken at the
  // next poll.
  for (int round = 0; round < 8; ++round) {
    int n = epoll_wait(fd_, ev, 512, 0);
    for (int i = 0; i < n; ++i) static_cast<Slot*>(ev[i].data.ptr)->ready.store(true, std::memory_order_relaxed);
    if (n < 512) break;
  }
}

TickerPoller* TickerPoller::Current() { return t_current; }

void InstallRecvGate(RtpSession* session) {
  rtp_session_set_connected_mode(session, FALSE);
  // rtp_session_new() gave the session two linked meta transports with no
  // endpoint. The gates become their endpoints, so the metas keep doing
  // what only they do - rtcp-mux routing, and modifiers (ms2's SRTP/ZRTP) -
  // and a layer (native/secure) can sit between a meta and its gate. The
  // metas destroy their endpoints with the session.
  RtpTransport* metas[2];
  rtp_session_get_transports(session, &metas[0], &metas[1]);
  for (int i = 0; i < 2; ++i) {
    Gate* g = NewGate(i == 0);
    g->tr.session = session;
    if (metas[i] != nullptr && IsMeta(metas[i]) && meta_rtp_transport_get_endpoint(metas[i]) == nullptr) {
      meta_rtp_transport_set_endpoint(metas[i], &g->tr);
    } else {
      // not what rtp_session_new() makes: the gate replaces the transport
      if (metas[i] != nullptr && metas[i]->t_destroy != nullptr) metas[i]->t_destroy(metas[i]);
      metas[i] = &g->tr;
    }
  }
  rtp_session_set_transports(session, metas[0], metas[1]);
}

void RegisterTransportLayer(TransportRecvFn recv, TransportBelowFn below) {
  static std::mutex m;
  std::lock_guard<std::mutex> lock(m);
  int n = g_layerCount.load(std::memory_order_relaxed);
  for (int i = 0; i < n; ++i)
    if (g_layers[i].recv == recv) return;
  if (n >= static_cast<int>(sizeof(g_layers) / sizeof(g_layers[0]))) return;
  g_layers[n] = Layer{recv, below};
  g_layerCount.store(n + 1, std::memory_order_release);
}

namespace {
void LatchGate(Gate* g, RtpSession* session, LatchMode mode);
}  // namespace

void ApplyLatch(RtpSession* session, LatchMode mode) {
  RtpTransport* trs[2];
  rtp_session_get_transports(session, &trs[0], &trs[1]);
  for (RtpTransport* t : trs) {
    Gate* g = GateOf(t);
    // a suspended gate gets its mode when the forwarder hands it back
    if (g == nullptr || g->suspended.load(std::memory_order_acquire)) continue;
    LatchGate(g, session, mode);
  }
}

namespace {
void LatchGate(Gate* g, RtpSession* session, LatchMode mode) {
  {
    const int fd = SocketOf(g, session);
    socklen_t remLen = 0;
    const sockaddr* rem = ortp::RemoteAddr(session, g->rtp, &remLen);
    Disconnect(g, fd);
    g->filter = false;
    g->latchPending = false;
    g->peerLen = 0;
    g->pollerId = 0;  // the socket may be new: register again on the next read
    if (mode == LatchMode::kStrict && remLen > 0) {
      LatchTo(g, fd, rem, remLen);
    } else if (mode == LatchMode::kOnce) {
      g->latchPending = true;
    }
  }
}
}  // namespace

void SuspendGate(RtpSession* session, GateHandoff* out) {
  RtpTransport* trs[2];
  rtp_session_get_transports(session, &trs[0], &trs[1]);
  for (int i = 0; i < 2; ++i) {
    Gate* g = GateOf(trs[i]);
    if (g == nullptr) continue;
    g->suspended.store(true, std::memory_order_release);
    if (g->rtp) out->observer = g->observer;
    out->mayConnect[i] = g->mayConnect;
    out->latched[i] = g->filter && !g->latchPending && g->peerLen > 0;
    if (out->latched[i]) {
      std::memcpy(&out->peer[i], &g->peer, g->peerLen);
      out->peerLen[i] = g->peerLen;
    }
    Disconnect(g, SocketOf(g, session));
  }
}

void ResumeGate(RtpSession* session, LatchMode mode, const GateHandoff& learned) {
  RtpTransport* trs[2];
  rtp_session_get_transports(session, &trs[0], &trs[1]);
  for (int i = 0; i < 2; ++i) {
    Gate* g = GateOf(trs[i]);
    if (g == nullptr) continue;
    const bool have = learned.peerLen[i] > 0 && learned.peerLen[i] <= sizeof(sockaddr_storage);
    const auto* peer = reinterpret_cast<const sockaddr*>(&learned.peer[i]);
    if (have && (mode == LatchMode::kOnce || mode == LatchMode::kAlways))
      ortp::SetRemoteAddr(session, g->rtp, peer, learned.peerLen[i]);
    LatchGate(g, session, mode);
    if (have && mode == LatchMode::kOnce) {
      g->latchPending = false;
      LatchTo(g, SocketOf(g, session), peer, learned.peerLen[i]);
    }
    if (g->rtp) g->keepFlushUntilNs.store(MonoNs() + kKeepFlushNs, std::memory_order_relaxed);
    g->suspended.store(false, std::memory_order_release);
  }
}

void SetGateObserver(RtpSession* session, GateObserver* observer) {
  RtpTransport* trs[2];
  rtp_session_get_transports(session, &trs[0], &trs[1]);
  for (RtpTransport* t : trs)
    if (Gate* g = GateOf(t)) g->observer = observer;
}

void SetGateRtcpHook(RtpSession* session, GateRtcpHook hook, void* user) {
  RtpTransport* trs[2];
  rtp_session_get_transports(session, &trs[0], &trs[1]);
  if (Gate* g = GateOf(trs[1])) {
    g->hook = hook;
    g->hookUser = user;
  }
}

void ObserveUnprotected(RtpSession* session, const uint8_t* data, size_t len) {
  RtpTransport* trs[2];
  rtp_session_get_transports(session, &trs[0], &trs[1]);
  Gate* g = GateOf(trs[0]);
  if (g == nullptr || !g->deferred || g->observer == nullptr) return;
  g->deferred = false;
  g->observer->OnRtp(data, len, g->deferredArrival);
}

SendClock* GetGateSendClock(RtpSession* session) {
  RtpTransport* trs[2];
  rtp_session_get_transports(session, &trs[0], &trs[1]);
  Gate* g = GateOf(trs[0]);
  return g != nullptr ? &g->clock : nullptr;
}

GateRtcpCounts GetGateRtcpCounts(RtpSession* session) {
  RtpTransport* trs[2];
  rtp_session_get_transports(session, &trs[0], &trs[1]);
  GateRtcpCounts c;
  for (RtpTransport* t : trs)
    if (Gate* g = GateOf(t)) {
      c.invalid += g->rtcpInvalid.load(std::memory_order_relaxed);
      c.bytes += g->rtcpBytes.load(std::memory_order_relaxed);
      int last = g->lastInvalid.load(std::memory_order_relaxed);
      if (last != 0) c.lastInvalid = static_cast<RtcpCheck>(last);
    }
  return c;
}

void PostSettings(RtpSession* session, const SessionSettings& change) {
  RtpTransport* trs[2];
  rtp_session_get_transports(session, &trs[0], &trs[1]);
  Gate* g = GateOf(trs[0]);
  if (g == nullptr) return;
  std::lock_guard<std::mutex> lock(g->settingsMutex);
  if (g->pending)
    g->pending->Merge(change);
  else
    g->pending = std::make_unique<SessionSettings>(change);
  g->hasPending.store(true, std::memory_order_release);
}

bool ApplyPendingSettings(RtpSession* session) {
  RtpTransport* trs[2];
  rtp_session_get_transports(session, &trs[0], &trs[1]);
  Gate* g = GateOf(trs[0]);
  return g != nullptr && g->hasPending.load(std::memory_order_acquire) && ApplyPending(g, session);
}

bool HasPendingSettings(RtpSession* session) {
  RtpTransport* trs[2];
  rtp_session_get_transports(session, &trs[0], &trs[1]);
  Gate* g = GateOf(trs[0]);
  return g != nullptr && g->hasPending.load(std::memory_order_acquire);
}

void SetGateMayConnect(RtpSession* session, bool rtp, bool rtcp) {
  RtpTransport* trs[2];
  rtp_session_get_transports(session, &trs[0], &trs[1]);
  if (Gate* g = GateOf(trs[0])) {
    g->mayConnect = rtp;
    // from the start: a graph's first flush tells live datagrams from stale ones by it
    const int fd = SocketOf(g, session);
    if (fd >= 0) StampArrivals(g, fd);
  }
  if (Gate* g = GateOf(trs[1])) g->mayConnect = rtcp;
}

}  // namespace rms
