// Live settings posted to the receive gate (core/session_settings.h): the
// poster never waits for the ticker, the ticker applies the change at its
// next read of the session, and what it applied is what was posted.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <thread>

#include "core/recv_gate.h"
#include "core/session_settings.h"
#include "core/tick_stats.h"
#include "harness.h"

namespace rms_test {

namespace {
int Udp() {
  int fd = socket(AF_INET, SOCK_DGRAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a));
  return fd;
}
int PortOf(int fd) {
  sockaddr_in a{};
  socklen_t len = sizeof(a);
  getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  return ntohs(a.sin_port);
}
void Rtp(int fd, int port, uint16_t seq) {
  uint8_t p[12 + 160];
  std::memset(p, 0xff, sizeof(p));
  p[0] = 0x80;
  p[1] = 0;
  p[2] = static_cast<uint8_t>(seq >> 8);
  p[3] = static_cast<uint8_t>(seq);
  uint32_t ts = htonl(1000u + seq * 160u), ssrc = htonl(0x5e77u);
  std::memcpy(p + 4, &ts, 4);
  std::memcpy(p + 8, &ssrc, 4);
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  to.sin_port = htons(static_cast<uint16_t>(port));
  sendto(fd, p, sizeof(p), 0, reinterpret_cast<sockaddr*>(&to), sizeof(to));
}
}  // namespace

void TestSettingsPosted() {
  RtpSession* session = rtp_session_new(RTP_SESSION_RECVONLY);
  rtp_session_set_scheduling_mode(session, 0);
  rtp_session_set_blocking_mode(session, 0);
  rtp_session_set_profile(session, &av_profile);
  rtp_session_set_payload_type(session, 0);
  rtp_session_enable_jitter_buffer(session, FALSE);
  rms::InstallRecvGate(session);
  CHECK(rtp_session_set_local_addr(session, "127.0.0.1", 0, 0) == 0);
  rms::ApplyLatch(session, rms::LatchMode::kOpen);
  const int port = rtp_session_get_local_port(session);
  MSFilter* recv = ms_factory_create_filter(g_factory, MS_RTP_RECV_ID);
  ms_filter_call_method(recv, MS_RTP_RECV_SET_SESSION, session);
  MSFilter* sink = ms_factory_create_filter(g_factory, MS_VOID_SINK_ID);
  ms_filter_link(recv, 0, sink, 0);
  MSTicker* ticker = ms_ticker_new();
  const int a = Udp(), b = Udp();
  uint16_t seq = 0;
  auto received = [&] {
    ms_mutex_lock(&ticker->lock);
    uint64_t n = rtp_session_get_stats(session)->packet_recv;
    ms_mutex_unlock(&ticker->lock);
    return n;
  };
  {
    rms::TickStats stats(ticker);
    ms_ticker_attach(ticker, recv);
    for (int i = 0; i < 5; ++i) Rtp(b, port, ++seq);
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    CHECK_MSG(received() == 5, "open: %llu of 5", static_cast<unsigned long long>(received()));

    // a long tick: another thread holds the ticker's lock
    std::atomic<bool> posted{false}, released{false};
    std::thread holder([&] {
      ms_mutex_lock(&ticker->lock);
      for (int i = 0; i < 200 && !posted.load(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
      std::this_thread::sleep_for(std::chrono::milliseconds(50));  // the ticker waits on us meanwhile
      released.store(true);
      ms_mutex_unlock(&ticker->lock);
    });
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    rms::SessionSettings c;
    c.hasRemote = true;
    c.address = "127.0.0.1";
    c.rtpPort = PortOf(a);
    c.rtcpPort = PortOf(a) + 1;
    c.hasLatch = true;
    c.latch = rms::LatchMode::kStrict;
    c.hasJitter = true;
    rtp_session_get_jitter_buffer_params(session, &c.jitter);
    c.jitter.enabled = TRUE;
    c.jitter.nom_size = 77;
    rms::PostSettings(session, c);
    const bool returnedWhileHeld = !released.load();
    const bool pendingWhileHeld = rms::HasPendingSettings(session);
    posted.store(true);
    holder.join();
    CHECK_MSG(returnedWhileHeld, "PostSettings waited for the ticker's lock");
    CHECK_MSG(pendingWhileHeld, "applied while the ticker could not run");
    std::this_thread::sleep_for(std::chrono::milliseconds(60));
    CHECK_MSG(!rms::HasPendingSettings(session), "the ticker applied it at its next read");
    JBParameters jb;
    rtp_session_get_jitter_buffer_params(session, &jb);
    CHECK_MSG(jb.nom_size == 77, "jitter buffer nominal %d", jb.nom_size);
    CHECK(rtp_session_jitter_buffer_enabled(session));
    // only the latch matters below: no jitter buffer to hold packets back
    rms::SessionSettings nojb;
    nojb.hasJitter = true;
    nojb.jitter = jb;
    nojb.jitter.enabled = FALSE;
    rms::PostSettings(session, nojb);
    std::this_thread::sleep_for(std::chrono::milliseconds(40));

    // strict to a: b is refused, a arrives
    uint64_t before = received();
    for (int i = 0; i < 5; ++i) {
      Rtp(b, port, ++seq);
      Rtp(a, port, ++seq);
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    CHECK_MSG(received() - before == 5, "strict after the posted change: %llu of 5",
              static_cast<unsigned long long>(received() - before));

    // posted twice before a tick: both apply, the later field wins
    ms_mutex_lock(&ticker->lock);
    rms::SessionSettings open;
    open.hasLatch = true;
    open.latch = rms::LatchMode::kOpen;
    rms::PostSettings(session, open);
    rms::SessionSettings rtcp;
    rtcp.hasRtcpInterval = true;
    rtcp.rtcpIntervalMs = 1234;
    rms::PostSettings(session, rtcp);
    ms_mutex_unlock(&ticker->lock);
    std::this_thread::sleep_for(std::chrono::milliseconds(60));
    before = received();
    for (int i = 0; i < 5; ++i, std::this_thread::sleep_for(std::chrono::milliseconds(20))) Rtp(b, port, ++seq);
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    CHECK_MSG(received() - before == 5, "open again: %llu of 5", static_cast<unsigned long long>(received() - before));

    ms_ticker_detach(ticker, recv);
    ms_ticker_destroy(ticker);
  }
  // nobody reads the session now: the caller applies what is pending
  rms::SessionSettings strict;
  strict.hasLatch = true;
  strict.latch = rms::LatchMode::kStrict;
  rms::PostSettings(session, strict);
  CHECK(rms::ApplyPendingSettings(session));
  CHECK(!rms::HasPendingSettings(session));
  close(a);
  close(b);
  ms_filter_unlink(recv, 0, sink, 0);
  ms_filter_destroy(recv);
  ms_filter_destroy(sink);
  rtp_session_destroy(session);
}

}  // namespace rms_test
