// One relay: two oRTP sessions whose RTP and RTCP sockets the forwarder
// reads and writes directly while it runs, packets going out of one side
// exactly as they came in on the other (same SSRC, sequence numbers,
// timestamps and payload), the payload type rewritten only where the two
// sides number a codec differently.
//
// Threads: OnDatagram() and everything it touches run on the relay's worker
// thread (plane.h); TakeOver()/GiveBack() on the thread that starts and
// stops the relay, while no worker reads its sockets; the flags and the
// snapshots may be read or set from any thread.
#pragma once
#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "core/ms_includes.h"
#include "forward/latch.h"
#include "forward/stream_stats.h"
#include "forward/telephone_event.h"

namespace rms::fwd {

class Relay;
class Worker;

// What to do with one incoming payload type of one direction.
struct PtRule {
  enum Kind : uint8_t { kUnknown, kAudio, kTelephoneEvent, kComfortNoise };
  uint8_t out = 0;  // the payload type written (the same when unchanged)
  Kind kind = kUnknown;
  int16_t silence = -1;  // the codec's silence byte (G.711), -1: none
  uint32_t clock = 0;    // 0: unknown
};

struct SideSetup {
  RtpSession* session = nullptr;
  LatchMode latch = LatchMode::kStrict;     // the relay's rule for this side's sockets
  LatchMode gateMode = LatchMode::kStrict;  // the endpoint's own, applied again when the relay stops
  bool handover = false;
};

struct RelaySetup {
  SideSetup side[2];
  PtRule rules[2][128];  // [from side][incoming payload type]
};

// Fills setup.rules from the sessions' profiles: a payload type keeps its
// number when the other side has the same number for the same encoding and
// clock rate, else it takes the other side's number for that encoding
// (telephone-event included); `aToB` (side 0's number -> side 1's) decides
// first. Returns an error message, empty when fine.
std::string BuildPtRules(const std::vector<std::pair<int, int>>& aToB, RelaySetup* setup);

// One of the four sockets: [side * 2 + (rtcp ? 1 : 0)].
struct Socket {
  int fd = -1;
  Relay* relay = nullptr;
  uint8_t side = 0;
  bool rtcp = false;
  SourceLatch latch;  // worker thread (see Relay::mu for the copy JS reads)
  // connect()ed to the latch's peer: the kernel drops other sources and
  // sends need no address (the socket's cached route). Only where the port
  // was bound explicitly: undoing it on a kernel-chosen port unbinds it.
  bool mayConnect = false;
  std::atomic<bool> connected{false};
};

// Counters of one direction, named by the side the packets came from.
struct DirectionCounters {
  std::atomic<uint64_t> forwarded{0}, sendErrors{0}, blocked{0}, refused{0}, malformed{0}, noDestination{0},
      silenced{0}, silenceUnsupported{0}, moves{0};
  std::atomic<uint64_t> rtcpPackets{0}, rtcpBytes{0}, rtcpForwarded{0}, rtcpRefused{0}, rtcpSr{0}, rtcpRr{0}, rtcpXr{0},
      rtcpOther{0};
};

// Where a relay's RFC 4733 events go: called on the worker thread, so it
// must neither block nor grow without bound (the addon's is the bounded
// channel to JS, native/channel.h).
class EventSink {
 public:
  virtual ~EventSink() = default;
  virtual void Push(const TelephoneEvent& e) = 0;
};

// The latest RTCP compound holding an SR, an RR and an XR, per side.
struct RtcpLatest {
  std::vector<uint8_t> sr, rr, xr;
  uint64_t srNs = 0, rrNs = 0, xrNs = 0;  // CLOCK_MONOTONIC when received
};

class Relay {
 public:
  explicit Relay(const RelaySetup& setup);
  Relay(const Relay&) = delete;
  Relay& operator=(const Relay&) = delete;

  // Suspends both sessions' receive gates and takes their sockets, remotes
  // and latched sources. Returns an error message (nothing taken) or "".
  std::string TakeOver();
  // Hands the sockets back to the gates with what the latches learned.
  void GiveBack();
  // The endpoint's own latch mode, applied by GiveBack() (it may change while relayed).
  void SetGateMode(int side, LatchMode m) { setup_.side[side].gateMode = m; }

  // Worker thread: one datagram received on `in`, processed in place.
  // Returns the socket to send it from (to its latch's destination), or
  // nullptr to drop it.
  Socket* OnDatagram(Socket& in, uint8_t* buf, size_t len, const sockaddr* from, socklen_t fromLen, uint64_t nowNs);
  // Worker thread: a new remote from signalling for one side.
  void SetRemote(int side, const Address& rtp, const Address& rtcp);
  // Worker thread: where RFC 4733 events go from now on (nullptr: nowhere).
  // The sink must outlive the relay's run (Plane::Stop).
  void SetEvents(EventSink* sink) { events_ = sink; }

  // Any thread.
  void SetBlocked(int dir, bool on) { blocked_[dir].store(on, std::memory_order_relaxed); }
  void SetSilenced(int dir, bool on) { silenced_[dir].store(on, std::memory_order_relaxed); }
  bool blocked(int dir) const { return blocked_[dir].load(std::memory_order_relaxed); }
  bool silenced(int dir) const { return silenced_[dir].load(std::memory_order_relaxed); }
  // Whether every audio payload type `side` may send has a silence we can write.
  bool CanSilence(int dir) const;
  StreamSnapshot Stats(int dir) const { return stats_[dir].Snapshot(); }
  const DirectionCounters& counters(int dir) const { return counters_[dir]; }
  DirectionCounters& counters(int dir) { return counters_[dir]; }
  RtcpLatest LatestRtcp(int side) const;
  // The source each socket latched to / follows, "" if none; [side][rtcp].
  std::string Source(int side, bool rtcp) const;
  // Whether the socket is connect()ed to it (the kernel drops other sources).
  bool Connected(int side, bool rtcp) const {
    return sockets_[side * 2 + (rtcp ? 1 : 0)].connected.load(std::memory_order_relaxed);
  }

  const RelaySetup& setup() const { return setup_; }
  Socket& socket(int side, bool rtcp) { return sockets_[side * 2 + (rtcp ? 1 : 0)]; }
  Socket* sockets() { return sockets_; }
  Worker* worker = nullptr;  // set by the plane

 private:
  Socket* OnRtcp(Socket& in, const uint8_t* buf, size_t len, uint64_t nowNs, bool onRtpSocket);
  void Moved(Socket& s);
  // connect() a socket whose latch is locked; undo it where not
  static void Connect(Socket& s);
  static void Disconnect(Socket& s);

  RelaySetup setup_;
  Socket sockets_[4];
  bool taken_ = false;
  StreamStats stats_[2];
  GateObserver* observers_[2] = {nullptr, nullptr};  // the sessions' (TakeOver), worker thread after
  int64_t realtimeOffsetNs_ = 0;                     // wall clock - monotonic at TakeOver
  DirectionCounters counters_[2];
  TelephoneEventTracker dtmf_[2];
  EventSink* events_ = nullptr;  // worker thread
  std::atomic<bool> blocked_[2] = {{false}, {false}};
  std::atomic<bool> silenced_[2] = {{false}, {false}};
  mutable std::mutex mu_;  // rtcp_ and sources_
  RtcpLatest rtcp_[2];
  Address sources_[4];
};

}  // namespace rms::fwd
