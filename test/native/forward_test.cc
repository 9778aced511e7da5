// Native test of the forwarding plane (native/forward/): its pure parts
// (statistics, latch, RFC 4733 tracker, payload-type rules)
// and the plane itself over real UDP on loopback with real, gated oRTP
// sessions - including relays stopped while packets pour in (for ASan and
// valgrind: no worker may touch a stopped relay or its event sink) and the
// handback to oRTP.
// Linked into core_test (cases declared in harness.h, listed in core_test.cc).
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <memory>
#include <mutex>
#include <random>
#include <thread>
#include <vector>

#include "core/ms_includes.h"
#include "core/ortp_shim.h"
#include "core/recv_gate.h"
#include "forward/plane.h"
#include "harness.h"

using rms::LatchMode;
using namespace rms::fwd;

namespace {

void Sleep(int ms) { std::this_thread::sleep_for(std::chrono::milliseconds(ms)); }

int Udp() {
  int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a));
  return fd;
}

int Port(int fd) {
  sockaddr_in a{};
  socklen_t len = sizeof(a);
  getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  return ntohs(a.sin_port);
}

sockaddr_in Loopback(int port) {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(static_cast<uint16_t>(port));
  return a;
}

void SendTo(int fd, int port, const std::vector<uint8_t>& p) {
  sockaddr_in to = Loopback(port);
  sendto(fd, p.data(), p.size(), 0, reinterpret_cast<sockaddr*>(&to), sizeof(to));
}

std::vector<uint8_t> Rtp(uint8_t pt, uint16_t seq, uint32_t ts, uint32_t ssrc, size_t payload, uint8_t fill) {
  std::vector<uint8_t> p(12 + payload, fill);
  p[0] = 0x80;
  p[1] = pt;
  p[2] = static_cast<uint8_t>(seq >> 8);
  p[3] = static_cast<uint8_t>(seq);
  uint32_t t = htonl(ts), s = htonl(ssrc);
  std::memcpy(&p[4], &t, 4);
  std::memcpy(&p[8], &s, 4);
  return p;
}

// Datagrams waiting on fd within ms.
std::vector<std::vector<uint8_t>> Drain(int fd, int ms) {
  std::vector<std::vector<uint8_t>> out;
  auto end = std::chrono::steady_clock::now() + std::chrono::milliseconds(ms);
  for (;;) {
    int left = static_cast<int>(
        std::chrono::duration_cast<std::chrono::milliseconds>(end - std::chrono::steady_clock::now()).count());
    pollfd p{fd, POLLIN, 0};
    if (poll(&p, 1, left > 0 ? left : 0) <= 0) break;
    uint8_t buf[2048];
    ssize_t n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
    if (n > 0) out.emplace_back(buf, buf + n);
  }
  return out;
}

// A gated session as the addon makes one (native/rtp_session.cc), bound to
// explicit ports on loopback, its remote one peer's RTP and RTCP sockets.
struct Endpoint {
  RtpSession* s = nullptr;
  int peerRtp = -1, peerRtcp = -1;  // the peer's sockets
  int port = 0;
  explicit Endpoint(LatchMode mode = LatchMode::kStrict) {
    peerRtp = Udp();
    peerRtcp = Udp();
    s = rtp_session_new(RTP_SESSION_SENDRECV);
    rtp_session_set_scheduling_mode(s, 0);
    rtp_session_set_blocking_mode(s, 0);
    rtp_session_set_profile(s, &av_profile);
    rtp_session_set_payload_type(s, 0);
    rtp_session_enable_jitter_buffer(s, FALSE);
    rms::InstallRecvGate(s);
    for (int tries = 0; tries < 20; ++tries) {  // a free even/odd pair
      int probe = Udp();
      int p = Port(probe) & ~1;
      close(probe);
      if (rtp_session_set_local_addr(s, "127.0.0.1", p, p + 1) == 0) {
        port = p;
        break;
      }
    }
    rms::SetGateMayConnect(s, true, true);
    rtp_session_set_remote_addr_full(s, "127.0.0.1", Port(peerRtp), "127.0.0.1", Port(peerRtcp));
    rms::ApplyLatch(s, mode);
  }
  ~Endpoint() {
    rtp_session_enable_rtcp(s, FALSE);  // no BYE into the void
    rtp_session_destroy(s);
    close(peerRtp);
    close(peerRtcp);
  }
  Endpoint(const Endpoint&) = delete;
  Endpoint& operator=(const Endpoint&) = delete;
};

RelaySetup Setup(Endpoint& a, Endpoint& b, LatchMode latch = LatchMode::kStrict) {
  RelaySetup setup;
  for (int i = 0; i < 2; ++i) {
    setup.side[i].session = (i == 0 ? a : b).s;
    setup.side[i].latch = latch;
    setup.side[i].gateMode = LatchMode::kStrict;
  }
  std::string err = BuildPtRules({}, &setup);
  CHECK_MSG(err.empty(), "%s", err.c_str());
  return setup;
}

// What the addon's channel does, minus JS: bounded, counts what it refuses.
class TestSink : public EventSink {
 public:
  void Push(const TelephoneEvent& e) override {
    std::lock_guard<std::mutex> lock(mu);
    if (events.size() < 64)
      events.push_back(e);
    else
      ++dropped;
  }
  std::mutex mu;
  std::vector<TelephoneEvent> events;
  uint64_t dropped = 0;
};

}  // namespace

namespace rms_test {

void TestForwardStreamStats() {
  // in order, with a loss and a wrap
  {
    StreamStats st;
    uint64_t t = 1000000000;
    for (int i = 0; i < 100; ++i) {
      uint16_t seq = static_cast<uint16_t>(65500 + i);
      if (i == 50) continue;
      st.Update(seq, 160u * i, 7, 172, t + 20000000ull * i, 8000, true);
    }
    StreamSnapshot s = st.Snapshot();
    CHECK_MSG(s.expected == 100 && s.lost == 1 && s.duplicates == 0 && s.reordered == 0, "expected=%llu lost=%llu",
              (unsigned long long)s.expected, (unsigned long long)s.lost);
    CHECK_MSG(s.jitter < 0.01, "perfectly paced: jitter %f", s.jitter);
    CHECK(s.burst.lost == 1 && s.burst.packets == 100 - StreamStats::kReorderWindow);
    CHECK(s.highestSeq == 65536u + 63);  // one wrap: (1 << 16) | 63
  }
  // reordered and duplicated packets are not loss, also for the burst meter
  {
    StreamStats st;
    std::vector<int> order;
    for (int i = 0; i < 60; ++i) order.push_back(i);
    std::swap(order[10], order[12]);       // 12 before 10: reordered
    order.insert(order.begin() + 30, 29);  // duplicate
    for (int seq : order) st.Update(static_cast<uint16_t>(seq), 160u * seq, 9, 20, 1000, 8000, false);
    StreamSnapshot s = st.Snapshot();
    CHECK_MSG(s.lost == 0 && s.duplicates == 1 && s.reordered == 2 && s.burst.lost == 0,
              "lost=%llu dup=%llu reordered=%llu burst.lost=%u", (unsigned long long)s.lost,
              (unsigned long long)s.duplicates, (unsigned long long)s.reordered, s.burst.lost);
    // a packet older than the reorder window: counted late, it was already lost for the meter
    st.Update(20, 0, 9, 20, 1000, 8000, false);  // a duplicate of 20 (still in the 64-bit window)
    for (int i = 60; i < 100; ++i)
      if (i != 70) st.Update(static_cast<uint16_t>(i), 0, 9, 20, 1000, 8000, false);
    st.Update(70, 0, 9, 20, 1000, 8000, false);  // 29 behind
    s = st.Snapshot();
    CHECK_MSG(s.late == 1 && s.lost == 0 && s.burst.lost == 1 && s.duplicates == 2, "late=%llu lost=%llu burst=%u",
              (unsigned long long)s.late, (unsigned long long)s.lost, s.burst.lost);
  }
  // an SSRC change restarts the sequence, counters go on
  {
    StreamStats st;
    for (int i = 0; i < 10; ++i) st.Update(static_cast<uint16_t>(100 + i), 0, 1, 20, 0, 0, false);
    for (int i = 0; i < 10; ++i) st.Update(static_cast<uint16_t>(9000 + i), 0, 2, 20, 0, 0, false);
    StreamSnapshot s = st.Snapshot();
    CHECK(s.ssrc == 2 && s.ssrcChanges == 1 && s.expected == 20 && s.lost == 0 && s.packets == 20);
  }
}

void TestForwardLatch() {
  auto addr = [](int port) {
    Address a;
    sockaddr_in s = Loopback(port);
    a.Set(reinterpret_cast<sockaddr*>(&s), sizeof(s));
    return a;
  };
  Address remote = addr(4000), other = addr(5000), none;
  bool moved;
  SourceLatch strict;
  strict.Init(LatchMode::kStrict, false, remote, none);
  CHECK(strict.Accept(remote.sa(), remote.len, &moved) && !moved);
  CHECK(!strict.Accept(other.sa(), other.len, &moved));
  CHECK(strict.Destination()->Same(remote.sa(), remote.len));
  SourceLatch once;
  once.Init(LatchMode::kOnce, false, remote, none);
  CHECK(once.Accept(other.sa(), other.len, &moved) && moved);  // the first source, even if not the remote
  CHECK(!once.Accept(remote.sa(), remote.len, &moved));
  CHECK(once.Destination()->Same(other.sa(), other.len));
  SourceLatch gateLatched;  // the gate had latched already: the relay keeps it
  gateLatched.Init(LatchMode::kOnce, false, remote, other);
  CHECK(!gateLatched.Accept(remote.sa(), remote.len, &moved));
  SourceLatch handover;
  handover.Init(LatchMode::kStrict, true, remote, none);
  CHECK(handover.Accept(other.sa(), other.len, &moved) && moved);
  CHECK(handover.Destination()->Same(other.sa(), other.len));
  SourceLatch always;
  always.Init(LatchMode::kAlways, false, remote, none);
  CHECK(always.Destination()->Same(remote.sa(), remote.len));
  CHECK(always.Accept(other.sa(), other.len, &moved) && moved);
  CHECK(always.Destination()->Same(other.sa(), other.len));
  CHECK(always.peer().ToString() == "127.0.0.1:5000");
  SourceLatch noRemote;
  noRemote.Init(LatchMode::kStrict, false, none, none);
  CHECK(noRemote.Accept(other.sa(), other.len, &moved) && noRemote.Destination() == nullptr);
}

void TestForwardTelephoneEvents() {
  TelephoneEventTracker t;
  TelephoneEvent ev[3];
  auto pkt = [](uint8_t event, bool end, uint16_t dur) {
    return std::vector<uint8_t>{event, static_cast<uint8_t>((end ? 0x80 : 0) | 7), static_cast<uint8_t>(dur >> 8),
                                static_cast<uint8_t>(dur)};
  };
  auto p = pkt(5, false, 160);
  CHECK(t.OnPacket(p.data(), p.size(), 1000, 8000, ev) == 1 && ev[0].phase == TelephoneEvent::kStart);
  p = pkt(5, false, 320);
  CHECK(t.OnPacket(p.data(), p.size(), 1000, 8000, ev) == 0);
  p = pkt(5, true, 480);
  CHECK(t.OnPacket(p.data(), p.size(), 1000, 8000, ev) == 1 && ev[0].phase == TelephoneEvent::kEnd &&
        ev[0].duration == 480 && ev[0].volume == 7);
  CHECK(t.OnPacket(p.data(), p.size(), 1000, 8000, ev) == 0);  // retransmitted end
  p = pkt(9, false, 160);
  CHECK(t.OnPacket(p.data(), p.size(), 2000, 8000, ev) == 1);
  p = pkt(1, false, 160);  // a new event before 9 ended
  int n = t.OnPacket(p.data(), p.size(), 3000, 8000, ev);
  CHECK(n == 2 && ev[0].phase == TelephoneEvent::kEndLost && ev[0].event == 9 && ev[1].phase == TelephoneEvent::kStart);
  CHECK(t.OnPacket(p.data(), 3, 3000, 8000, ev) == 0);  // too short
}

void TestForwardPtRules() {
  RtpProfile* pa = rtp_profile_new("a");
  RtpProfile* pb = rtp_profile_new("b");
  rtp_profile_set_payload(pa, 0, &payload_type_pcmu8000);
  rtp_profile_set_payload(pa, 8, &payload_type_pcma8000);
  rtp_profile_set_payload(pa, 101, &payload_type_telephone_event);
  rtp_profile_set_payload(pb, 0, &payload_type_pcmu8000);
  rtp_profile_set_payload(pb, 18, &payload_type_pcma8000);  // PCMA under another number
  rtp_profile_set_payload(pb, 96, &payload_type_telephone_event);
  RtpSession* sa = rtp_session_new(RTP_SESSION_SENDRECV);
  RtpSession* sb = rtp_session_new(RTP_SESSION_SENDRECV);
  rtp_session_set_profile(sa, pa);
  rtp_session_set_profile(sb, pb);
  RelaySetup setup;
  setup.side[0].session = sa;
  setup.side[1].session = sb;
  CHECK(BuildPtRules({}, &setup).empty());
  CHECK(setup.rules[0][0].out == 0 && setup.rules[0][8].out == 18 && setup.rules[0][101].out == 96);
  CHECK(setup.rules[1][96].out == 101 && setup.rules[1][18].out == 8);
  CHECK(setup.rules[0][101].kind == PtRule::kTelephoneEvent && setup.rules[0][0].silence == 0xff &&
        setup.rules[0][8].silence == 0xd5 && setup.rules[0][0].clock == 8000);
  CHECK(setup.rules[0][50].out == 50 && setup.rules[0][50].kind == PtRule::kUnknown);
  CHECK(BuildPtRules({{0, 8}}, &setup).empty() && setup.rules[0][0].out == 8 && setup.rules[1][8].out == 0);
  CHECK(!BuildPtRules({{0, 8}, {0, 9}}, &setup).empty());
  CHECK(!BuildPtRules({{0, 8}, {3, 8}}, &setup).empty());
  rtp_session_destroy(sa);
  rtp_session_destroy(sb);
  rtp_profile_destroy(pa);  // frees only payload types it allocated: the static ones stay
  rtp_profile_destroy(pb);
}

void TestForwardPlane() {
  Endpoint a, b;
  Plane plane(2);
  CHECK(plane.threads() == 2);
  std::string err;
  Relay* r = plane.Start(Setup(a, b), &err);
  CHECK_MSG(r != nullptr, "%s", err.c_str());
  if (r == nullptr) return;
  // RTP both ways, byte for byte; RTCP too
  std::vector<std::vector<uint8_t>> sent;
  for (int i = 0; i < 20; ++i) {
    sent.push_back(Rtp(0, static_cast<uint16_t>(i), 160u * i, 0xabcdef, 160, static_cast<uint8_t>(i)));
    SendTo(a.peerRtp, a.port, sent.back());
    SendTo(b.peerRtp, b.port, Rtp(0, static_cast<uint16_t>(i), 0, 0x1234, 20, 1));
  }
  std::vector<uint8_t> sr = {0x80, 200, 0, 6, 0, 0, 0, 9, 1, 2, 3, 4, 5, 6, 7, 8, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3};
  SendTo(a.peerRtcp, a.port + 1, sr);
  auto atB = Drain(b.peerRtp, 300);
  auto atA = Drain(a.peerRtp, 100);
  auto rtcpAtB = Drain(b.peerRtcp, 100);
  CHECK_MSG(atB.size() == 20 && atA.size() == 20, "%zu / %zu", atB.size(), atA.size());
  bool same = atB.size() == sent.size();
  for (size_t i = 0; same && i < sent.size(); ++i) same = atB[i] == sent[i];
  CHECK(same);
  CHECK(rtcpAtB.size() == 1 && rtcpAtB[0] == sr);
  CHECK(r->LatestRtcp(0).sr == sr);
  StreamSnapshot s = r->Stats(0);
  CHECK(s.packets == 20 && s.lost == 0 && s.ssrc == 0xabcdef);
  CHECK(r->counters(0).forwarded.load() == 20 && r->counters(0).rtcpForwarded.load() == 1);
  // a hijacker is refused
  int hijacker = Udp();
  CHECK(r->Connected(0, false) && r->Connected(1, false) && r->Connected(0, true));  // strict, explicit ports
  SendTo(hijacker, a.port, Rtp(0, 99, 0, 1, 20, 0));
  Sleep(50);
  CHECK(r->counters(0).refused.load() <= 1);  // the kernel drops it on a connected socket
  CHECK(Drain(b.peerRtp, 50).empty());
  close(hijacker);
  plane.Stop(r);
  CHECK(plane.relays() == 0);
  // the gate owns the sockets again: oRTP reads the next packet
  SendTo(a.peerRtp, a.port, Rtp(0, 20, 3200, 0xabcdef, 160, 0x55));
  Sleep(30);
  mblk_t* m = rtp_session_recvm_with_ts(a.s, 0);
  CHECK_MSG(m != nullptr, "oRTP got nothing after the relay stopped");
  if (m) freemsg(m);
  CHECK(Drain(b.peerRtp, 50).empty());
}

// Relays started and stopped over and over on two workers while packets,
// RTCP and RFC 4733 events pour into their sockets: a worker must never touch
// a stopped relay or its event sink (freed right after Stop; ASan/valgrind
// would see it).
void TestForwardStopUnderLoad() {
  constexpr int kPairs = 4;
  std::vector<std::unique_ptr<Endpoint>> eps;
  for (int i = 0; i < 2 * kPairs; ++i) eps.push_back(std::make_unique<Endpoint>());
  std::atomic<bool> stop{false};
  std::atomic<uint64_t> blasted{0};
  std::thread blaster([&] {
    uint16_t seq = 0;
    while (!stop.load()) {
      for (auto& e : eps) {
        SendTo(e->peerRtp, e->port, Rtp(0, seq, 160u * seq, 5, 160, 0x11));
        SendTo(e->peerRtp, e->port, Rtp(101, seq, 0, 5, 4, 0x01));  // telephone-event
        SendTo(e->peerRtcp, e->port + 1, {0x80, 201, 0, 1, 0, 0, 0, 5});
        blasted.fetch_add(3);
      }
      ++seq;
      std::this_thread::sleep_for(std::chrono::microseconds(200));
    }
  });
  uint64_t forwarded = 0, events = 0;
  {
    Plane plane(2);
    std::mt19937 rng(7);
    std::vector<std::unique_ptr<TestSink>> sinks;
    for (int round = 0; round < 150; ++round) {
      std::vector<Relay*> relays;
      for (int p = 0; p < kPairs; ++p) {
        RelaySetup setup = Setup(*eps[2 * p], *eps[2 * p + 1]);
        setup.rules[0][101].kind = PtRule::kTelephoneEvent;  // av_profile has no 101
        setup.rules[1][101].kind = PtRule::kTelephoneEvent;
        std::string err;
        Relay* r = plane.Start(setup, &err);
        CHECK_MSG(r != nullptr, "%s", err.c_str());
        if (r == nullptr) continue;
        sinks.push_back(std::make_unique<TestSink>());
        TestSink* sink = sinks.back().get();
        plane.RunOn(r, [&] { r->SetEvents(sink); });
        r->SetSilenced(0, round % 2 == 0);
        relays.push_back(r);
      }
      std::this_thread::sleep_for(std::chrono::microseconds(rng() % 3000));
      for (Relay* r : relays) {
        forwarded += r->counters(0).forwarded.load() + r->counters(1).forwarded.load();
        plane.Stop(r);
      }
      for (auto& sk : sinks) events += sk->events.size();
      sinks.clear();  // the relays stopped: no worker pushes into them any more
    }
    // a plane closed with relays still running stops them
    for (int p = 0; p < kPairs; ++p) {
      std::string err;
      plane.Start(Setup(*eps[2 * p], *eps[2 * p + 1]), &err);
    }
    Sleep(20);
  }
  stop.store(true);
  blaster.join();
  std::printf("    %llu datagrams sent, %llu forwarded by 150 x %d relays, %llu events\n",
              (unsigned long long)blasted.load(), (unsigned long long)forwarded, kPairs, (unsigned long long)events);
  CHECK(forwarded > 0);
  CHECK_MSG(events > 0, "no RFC 4733 event reached a sink");
}

// The sockets go back to oRTP as the relay left them: a flush right after
// the handback (MSRtpRecv's when its graph starts) keeps the live packet
// waiting - this also pins oRTP 5.1's flush flag the gate relies on - and a
// flush long after drops stale ones as ms2 intends.
void TestForwardHandback() {
  Endpoint a(LatchMode::kOnce), b;
  Plane plane(1);
  std::string err;
  RelaySetup setup = Setup(a, b, LatchMode::kOnce);
  setup.side[0].gateMode = LatchMode::kOnce;
  Relay* r = plane.Start(setup, &err);
  CHECK_MSG(r != nullptr, "%s", err.c_str());
  if (r == nullptr) return;
  // a's media comes from another port than signalled (NAT): 'once' latches to it
  int nat = Udp();
  SendTo(nat, a.port, Rtp(0, 1, 160, 77, 160, 1));
  CHECK(Drain(b.peerRtp, 200).size() == 1);
  plane.Stop(r);
  SendTo(nat, a.port, Rtp(0, 2, 320, 77, 160, 2));
  Sleep(20);
  rtp_session_flush_sockets(a.s);
  mblk_t* m = rtp_session_recvm_with_ts(a.s, 0);
  CHECK_MSG(m != nullptr, "the flush right after the handback dropped a live packet");
  if (m) freemsg(m);
  // oRTP sends where the relay latched (symmetric RTP), and the gate stays latched to it
  socklen_t remLen = 0;
  const sockaddr_in* rem = reinterpret_cast<const sockaddr_in*>(rms::ortp::RemoteAddr(a.s, true, &remLen));
  CHECK_MSG(ntohs(rem->sin_port) == Port(nat), "remote %d, nat %d", ntohs(rem->sin_port), Port(nat));
  SendTo(a.peerRtp, a.port, Rtp(0, 3, 480, 78, 160, 3));  // the signalled address: refused now
  Sleep(20);
  m = rtp_session_recvm_with_ts(a.s, 160);
  CHECK_MSG(m == nullptr, "the gate accepted another source after the relay latched");
  if (m) freemsg(m);
  Sleep(250);
  SendTo(nat, a.port, Rtp(0, 4, 640, 77, 160, 4));
  Sleep(150);
  rtp_session_flush_sockets(a.s);
  m = rtp_session_recvm_with_ts(a.s, 320);
  CHECK_MSG(m == nullptr, "a flush long after the handback must drop what waited over 100 ms (stale)");
  if (m) freemsg(m);
  // what arrived in the last 100 ms is live media and stays (recv_gate: TrimStale)
  SendTo(nat, a.port, Rtp(0, 5, 800, 77, 160, 5));
  Sleep(20);
  rtp_session_flush_sockets(a.s);
  m = rtp_session_recvm_with_ts(a.s, 480);
  CHECK_MSG(m != nullptr, "a flush dropped a packet that arrived 20 ms before it");
  if (m) freemsg(m);
  close(nat);
}

}  // namespace rms_test
