// Reading only the sockets that have data.
//
// Every tick MSRtpRecv asks oRTP for packets and oRTP reads the session's RTP
// socket until EAGAIN and its RTCP socket once. With 10 ms ticks and 20 ms
// packets that is four empty recvmsg() per leg per 20 ms, each with oRTP's
// buffer allocation around it - on a relayed call more than the useful work.
//
// The gate: each session gets an oRTP RtpTransport for RTP and one for RTCP
// whose recvfrom first looks at a readiness flag. The flags are set once per
// tick, before the graphs run, by one epoll_wait() over the sockets that
// ticker thread reads (edge-triggered: an arrival sets the flag, a read that
// finds the socket empty clears it), and again during a long tick (at most
// every 0.5 ms, when a read finds its flag down); a socket is added to its ticker's set on its first read there
// and moved if the session moves to another ticker. A socket without data is
// not read at all; one with data is read until EAGAIN as before, so latency
// and order do not change.
//
// The gates are the endpoints of oRTP's meta transports (modifiers and
// rtcp-mux keep working above them; native/secure puts its layer between).
//
// oRTP reads a socket it connect()ed itself directly, past the transport, so a
// gated session never lets oRTP connect. The latch modes that relied on it are
// done here instead, same rules: 'strict' accepts datagrams only from the
// remote address, 'once' only from the first source it hears, 'always' and
// open from anyone; the rest is read and dropped before oRTP sees it. Where
// the port was bound explicitly we also connect() the socket to the latched
// peer, so the kernel drops other sources and sends to the peer go without
// an address (the socket's cached route). Not on a port the kernel chose:
// undoing a connect() (connect AF_UNSPEC, on a change of remote or mode)
// unbinds such a socket and the session would go deaf.
//
// Threads: Poll() and the transport run on the ticker thread that runs the
// session (our graphs put a session's recv and send on one ticker). Settings
// (latch, remote, jitter buffer, RTCP) change on that thread too: the JS
// thread posts them (PostSettings) and the gate applies them at the session's
// next RTP read or send; with no ticker running the session, the JS thread
// applies them itself (ApplyPendingSettings, then ApplySettings).
// RTCP: every datagram read as RTCP (on the RTCP socket, or one that looks
// like RTCP on an RTP socket with RTCP mux) is checked by CheckRtcpCompound()
// (rtcp_check.h) before oRTP sees it; what fails is dropped and counted.
//
// Lifetimes: epoll events point at readiness slots that are never freed, only
// recycled, so an event for a socket closed meanwhile sets at worst a recycled
// slot's flag (one extra read, which finds nothing).
#pragma once
#include <sys/socket.h>

#include <atomic>
#include <cstdint>

#include "ms_includes.h"
#include "rtcp_check.h"

namespace rms {

// One per ticker thread; Poll() once per tick on that thread.
class TickerPoller {
 public:
  TickerPoller();
  ~TickerPoller();
  TickerPoller(const TickerPoller&) = delete;
  TickerPoller& operator=(const TickerPoller&) = delete;

  // On the ticker thread, before the graphs run: marks the sockets with data
  // and makes this poller the thread's current one.
  void Poll();
  // The calling thread's poller (set by its last Poll()), or nullptr.
  static TickerPoller* Current();
  // Polls again if the last poll is older than kRepollNs: a tick that walks
  // many graphs takes milliseconds, and a packet that arrived meanwhile
  // would otherwise wait for the next tick (ms2 alone would read it at once).
  // Returns whether it polled.
  bool RepollIfStale();
  static constexpr uint64_t kRepollNs = 500000;

  int fd() const { return fd_; }
  uint64_t id() const { return id_; }

  // Reads by gated sessions on this thread: recvmsg() calls made, and reads
  // answered "nothing" without a system call. Written by the ticker thread only.
  uint64_t reads() const { return reads_.load(std::memory_order_relaxed); }
  uint64_t skipped() const { return skipped_.load(std::memory_order_relaxed); }
  void CountRead() { reads_.store(reads_.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed); }
  void CountSkipped() { skipped_.store(skipped_.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed); }

 private:
  int fd_ = -1;
  uint64_t id_ = 0;
  uint64_t lastPollNs_ = 0;
  std::atomic<uint64_t> reads_{0};
  std::atomic<uint64_t> skipped_{0};
};

enum class LatchMode {
  kOpen,    // accept any source, send to the remote (oRTP's default)
  kStrict,  // only the remote address
  kOnce,    // the first source heard, then only it
  kAlways,  // any source; oRTP's symmetric RTP follows the last one
};

// Sees what crosses the gate, on the ticker thread that reads the session:
// every RTP packet accepted (with its kernel arrival time when asked for)
// and every RTCP compound before it is sent. Must outlive the session.
class GateObserver {
 public:
  virtual ~GateObserver() = default;
  // Whether OnRtp wants the kernel's arrival time (one MSG_PEEK per packet).
  virtual bool WantsArrivalTime() const = 0;
  // arrivalNs: CLOCK_REALTIME of the datagram's arrival, else of the read.
  virtual void OnRtp(const uint8_t* data, size_t len, int64_t arrivalNs) = 0;
  virtual void OnRtcpSend(RtpSession* session, mblk_t* m) = 0;
};

// Installs the observer (nullptr: none). Call before the session is used.
void SetGateObserver(RtpSession* session, GateObserver* observer);
// A security layer above the gate passes an RTP packet up in the clear (it
// authenticated it): now the observer sees it, with the arrival time the
// gate read. On the reading thread, right after the gate's read.
void ObserveUnprotected(RtpSession* session, const uint8_t* data, size_t len);

// Gives the session its gated RTP and RTCP transports: the endpoints of the
// session's meta transports (oRTP destroys them with the session). Call
// before the session is bound or used.
void InstallRecvGate(RtpSession* session);

// A transport stacked between a meta transport and its gate (the security
// layer of native/secure) registers its recvfrom function and how to reach
// the transport under it, so that latching still finds the gate. Call before
// any session uses such a layer; registering twice is harmless.
using TransportRecvFn = int (*)(RtpTransport*, mblk_t*, int, sockaddr*, socklen_t*);
using TransportBelowFn = RtpTransport* (*)(RtpTransport*);
void RegisterTransportLayer(TransportRecvFn recv, TransportBelowFn below);

// Whether the gate may connect() the RTP / RTCP socket: only if its port was
// bound explicitly (not 0). Default: no. Called once bound: the RTP socket
// gets kernel arrival times from then on (SO_TIMESTAMPNS), so that the flush
// when a graph starts keeps the datagrams that arrived in the last 100 ms
// (live media) and drops only older ones.
void SetGateMayConnect(RtpSession* session, bool rtp, bool rtcp);

// Applies a latch mode to the session's current sockets and remote address:
// call after bind, after each change of remote address and to change mode.
// Does not touch oRTP's own symmetric-RTP setting; never lets oRTP connect.
void ApplyLatch(RtpSession* session, LatchMode mode);

struct SessionSettings;  // session_settings.h

// Any thread: queues a change for the thread that reads the session (merged
// with what is already pending, later fields win).
void PostSettings(RtpSession* session, const SessionSettings& change);
// Applies what is pending: on the reading thread, or when no thread reads
// the session. Returns whether there was something.
bool ApplyPendingSettings(RtpSession* session);
bool HasPendingSettings(RtpSession* session);

// Handing the sockets to the forwarder (native/forward/) and back. [0] is
// RTP, [1] RTCP. Both only while no ticker runs the session (or with its
// lock held), like ApplyLatch.
struct GateHandoff {
  bool latched[2] = {false, false};  // the gate accepted only `peer`
  sockaddr_storage peer[2]{};
  socklen_t peerLen[2] = {0, 0};
  bool mayConnect[2] = {false, false};  // the port was bound explicitly (see SetGateMayConnect)
  // What watched the gate's RTP (SetGateObserver), nullptr if nothing: the
  // new owner shows it the packets it accepts, so the session's receive
  // figures go on while another thread reads its sockets.
  GateObserver* observer = nullptr;
};
// The gate stops reading (a read answers "nothing" without touching the
// socket; ApplyLatch leaves it alone) and undoes its connect(), so that the
// new owner hears every source and applies the latch itself; `out` says
// whom the gate had latched to.
void SuspendGate(RtpSession* session, GateHandoff* out);
// The gate reads again, with `mode` applied as by ApplyLatch. A socket with
// a source in `learned` (peerLen > 0: whom the forwarder latched to or
// followed) continues from there: a 'once' gate is latched to it, and in
// 'once' and 'always' oRTP's remote moves to it, as symmetric RTP would
// have moved it. For a moment (0.2 s) a socket flush (MSRtpRecv's when a
// graph starts) keeps what waits: that is live media, not stale packets.
void ResumeGate(RtpSession* session, LatchMode mode, const GateHandoff& learned);

// Called on the reading thread at each read of the session's RTCP socket and
// after each RTCP send: where a consumer of the session's oRTP event queue
// drains it as fast as oRTP fills it (rtcp_store.h). Set (or cleared) only
// while no ticker runs the session.
using GateRtcpHook = void (*)(void* user);
void SetGateRtcpHook(RtpSession* session, GateRtcpHook hook, void* user);

struct GateRtcpCounts {
  uint64_t invalid = 0;  // RTCP datagrams refused by CheckRtcpCompound()
  uint64_t bytes = 0;    // bytes of the RTCP datagrams in the clear handed to oRTP
  RtcpCheck lastInvalid = RtcpCheck::kOk;
};
// Any thread (relaxed counters: a snapshot may be a few datagrams stale).
GateRtcpCounts GetGateRtcpCounts(RtpSession* session);

class SendClock;  // send_clock.h
// The RTP timestamps the session sends (nullptr without a gate); lives as long as the session.
SendClock* GetGateSendClock(RtpSession* session);

}  // namespace rms
