// RTCP from outside: the structural check (core/rtcp_check.h), oRTP's and
// ms2's parsers fed only what passed it, and a flood through the receive gate
// into the bounded store (core/rtcp_store.h). Run under valgrind and ASan in
// CI, so a read past a datagram in any parser shows up as an error.
//
// RMS_RTCP_FEED_REFUSED=1 feeds the refused datagrams to the parsers too:
// under valgrind that shows the over-reads the check exists to prevent.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <random>
#include <thread>
#include <vector>

#include "core/recv_gate.h"
#include "core/rtcp_check.h"
#include "core/rtcp_store.h"
#include "core/tick_stats.h"
#include "harness.h"

namespace rms_test {

namespace {

using Bytes = std::vector<uint8_t>;
using rms::RtcpCheck;

void Put32(Bytes& b, uint32_t v) {
  for (int s = 24; s >= 0; s -= 8) b.push_back(static_cast<uint8_t>(v >> s));
}
void Zeros(Bytes& b, size_t n) { b.insert(b.end(), n, 0); }

// A packet header with its length field set from `words` (32-bit words after
// the header); `body` follows.
Bytes Packet(unsigned count, uint8_t pt, const Bytes& body, int lengthWords = -1, bool padded = false) {
  size_t words = lengthWords >= 0 ? static_cast<size_t>(lengthWords) : body.size() / 4;
  Bytes b(4 + body.size());
  b[0] = static_cast<uint8_t>(0x80 | (padded ? 0x20 : 0) | (count & 0x1f));
  b[1] = pt;
  b[2] = static_cast<uint8_t>(words >> 8);
  b[3] = static_cast<uint8_t>(words);
  std::copy(body.begin(), body.end(), b.begin() + 4);
  return b;
}

Bytes Sr(unsigned blocks, unsigned claimed) {
  Bytes body;
  Put32(body, 0x11111111);
  Put32(body, 0xe0000000);  // NTP
  Put32(body, 0x10000000);
  Put32(body, 1600);   // RTP ts
  Put32(body, 100);    // packets
  Put32(body, 16000);  // octets
  for (unsigned i = 0; i < blocks; ++i) {
    Put32(body, 0x22222222);
    Put32(body, 0x01000005);
    Put32(body, 0x00010064);
    Put32(body, 12);
    Put32(body, 0xe0001000);
    Put32(body, 65536);
  }
  return Packet(claimed, 200, body);
}

Bytes Rr(unsigned blocks, unsigned claimed) {
  Bytes body;
  Put32(body, 0x11111111);
  for (unsigned i = 0; i < blocks; ++i) {
    Put32(body, 0x22222222);
    Zeros(body, 20);
  }
  return Packet(claimed, 201, body);
}

Bytes Sdes(const char* cname, bool end = true) {
  Bytes body;
  Put32(body, 0x11111111);
  body.push_back(1);
  body.push_back(static_cast<uint8_t>(std::strlen(cname)));
  body.insert(body.end(), cname, cname + std::strlen(cname));
  if (end) body.push_back(0);
  while (body.size() % 4) body.push_back(end ? 0 : 'x');
  return Packet(1, 202, body);
}

Bytes Bye(unsigned ssrcs, unsigned claimed, uint8_t reasonLen, size_t reasonBytes) {
  Bytes body;
  for (unsigned i = 0; i < ssrcs; ++i) Put32(body, 0x11111111 + i);
  if (reasonBytes > 0 || reasonLen > 0) {
    body.push_back(reasonLen);
    body.insert(body.end(), reasonBytes, 'r');
  }
  while (body.size() % 4) body.push_back(0);
  return Packet(claimed, 203, body);
}

// One XR packet with one block of `words` (block length field) and `have`
// words of body really there.
Bytes Xr(uint8_t type, unsigned words, unsigned have) {
  Bytes body;
  Put32(body, 0x11111111);
  body.push_back(type);
  body.push_back(0);
  body.push_back(static_cast<uint8_t>(words >> 8));
  body.push_back(static_cast<uint8_t>(words));
  for (unsigned i = 0; i < have; ++i) Put32(body, 0x01020304 + i);
  return Packet(0, 207, body);
}

Bytes Cat(std::initializer_list<Bytes> parts) {
  Bytes out;
  for (const Bytes& p : parts) out.insert(out.end(), p.begin(), p.end());
  return out;
}

struct Case {
  const char* name;
  Bytes bytes;
  RtcpCheck expect;
};

std::vector<Case> Corpus() {
  std::vector<Case> c;
  // well-formed
  c.push_back({"SR+SDES", Cat({Sr(1, 1), Sdes("rms@host")}), RtcpCheck::kOk});
  c.push_back({"RR, no blocks", Rr(0, 0), RtcpCheck::kOk});
  c.push_back({"RR+BYE with reason", Cat({Rr(1, 1), Bye(1, 1, 3, 3)}), RtcpCheck::kOk});
  c.push_back({"XR rcvr-rtt", Cat({Rr(0, 0), Xr(4, 2, 2)}), RtcpCheck::kOk});
  c.push_back({"XR dlrr", Xr(5, 3, 3), RtcpCheck::kOk});
  c.push_back({"XR dlrr, 2 sub-blocks", Xr(5, 6, 6), RtcpCheck::kOk});
  c.push_back({"XR stat-summary", Xr(6, 9, 9), RtcpCheck::kOk});
  c.push_back({"XR voip-metrics", Xr(7, 8, 8), RtcpCheck::kOk});
  c.push_back({"XR unknown block", Xr(42, 1, 1), RtcpCheck::kOk});
  {
    Bytes app;
    Put32(app, 0x11111111);
    app.insert(app.end(), {'t', 'e', 's', 't'});
    c.push_back({"APP", Packet(0, 204, app), RtcpCheck::kOk});
    Bytes padded = Packet(0, 204, Cat({app, Bytes{0, 0, 0, 4}}), -1, true);
    c.push_back({"APP padded (last)", Cat({Rr(0, 0), padded}), RtcpCheck::kOk});
  }
  {
    Bytes fb;
    Put32(fb, 1);
    Put32(fb, 2);
    Put32(fb, 0x11111111);
    Put32(fb, 0x04000400);
    c.push_back({"RTPFB TMMBR", Packet(3, 205, fb), RtcpCheck::kOk});
  }
  // SR/RR report counts: the SR claims a block the datagram cuts short; the
  // second case passes oRTP's own check (rc against the whole compound)
  c.push_back({"SR rc=1, no block", Sr(0, 1), RtcpCheck::kReportCount});
  c.push_back({"SR rc=1, no block, SDES after", Cat({Sr(0, 1), Sdes("a-long-enough-cname")}), RtcpCheck::kReportCount});
  c.push_back({"RR rc=3, 2 blocks", Rr(2, 3), RtcpCheck::kReportCount});
  {
    Bytes sr = Sr(1, 1);
    sr.resize(sr.size() - 12);  // length field still claims the whole block
    c.push_back({"SR cut inside its block", sr, RtcpCheck::kLength});
  }
  // XR blocks
  {
    Bytes x = Xr(6, 9, 9);
    x.resize(x.size() - 16);
    x[3] = static_cast<uint8_t>(x.size() / 4 - 1);  // packet length honest, block length not
    c.push_back({"XR stat-summary cut short", x, RtcpCheck::kXr});
  }
  c.push_back({"XR stat-summary, block length 5", Xr(6, 5, 5), RtcpCheck::kXrBlock});
  {
    Bytes x = Xr(5, 3, 3);
    x.resize(x.size() - 8);
    x[3] = static_cast<uint8_t>(x.size() / 4 - 1);
    c.push_back({"XR dlrr cut short", x, RtcpCheck::kXr});
  }
  c.push_back({"XR dlrr, block length 2", Xr(5, 2, 2), RtcpCheck::kXrBlock});
  c.push_back({"XR dlrr, no sub-block", Xr(5, 0, 0), RtcpCheck::kXrBlock});
  c.push_back({"XR dlrr, 4 words", Xr(5, 4, 4), RtcpCheck::kXrBlock});
  c.push_back({"XR voip-metrics, block length 7", Xr(7, 7, 7), RtcpCheck::kXrBlock});
  c.push_back({"XR rcvr-rtt, block length 1", Xr(4, 1, 1), RtcpCheck::kXrBlock});
  {
    Bytes x;
    Put32(x, 0x11111111);
    c.push_back({"XR without a block", Packet(0, 207, x), RtcpCheck::kXr});
  }
  // headers, lengths, padding
  c.push_back({"3 bytes", Bytes{0x80, 201, 0}, RtcpCheck::kTruncatedHeader});
  {
    Bytes v1 = Rr(0, 0);
    v1[0] = 0x40;
    c.push_back({"version 1", v1, RtcpCheck::kVersion});
  }
  c.push_back({"length past the datagram", Packet(0, 201, Bytes(4, 0), 63), RtcpCheck::kLength});
  c.push_back({"trailing bytes", Cat({Rr(0, 0), Bytes{0x80, 0}}), RtcpCheck::kTrailing});
  {
    Bytes padded = Packet(0, 201, Bytes{0, 0, 0, 1, 0, 0, 0, 4}, -1, true);
    c.push_back({"padding not last", Cat({padded, Rr(0, 0)}), RtcpCheck::kPadding});
    Bytes zero = Packet(0, 201, Bytes{0, 0, 0, 1, 0, 0, 0, 0}, -1, true);
    c.push_back({"padding count 0", zero, RtcpCheck::kPadding});
    Bytes big = Packet(0, 201, Bytes{0, 0, 0, 1, 0, 0, 0, 200}, -1, true);
    c.push_back({"padding past the packet", big, RtcpCheck::kPadding});
    Bytes eats = Packet(1, 201, Cat({Bytes(24, 0), Bytes{0, 0, 0, 8}}), -1, true);
    eats.insert(eats.begin() + 4, {0, 0, 0, 1});
    eats[3] = static_cast<uint8_t>(eats.size() / 4 - 1);
    c.push_back({"padding eats a report block", eats, RtcpCheck::kReportCount});
  }
  // SDES, BYE, APP, feedback
  {
    Bytes s = Sdes("abc");
    s[9] = 60;  // item length past the packet
    c.push_back({"SDES item past the packet", s, RtcpCheck::kSdes});
    c.push_back({"SDES without END", Sdes("abcd", false), RtcpCheck::kSdes});
    Bytes two = Sdes("abc");
    two[0] = 0x82;  // claims 2 chunks
    c.push_back({"SDES counts 2 chunks, has 1", two, RtcpCheck::kSdes});
  }
  c.push_back({"BYE counts 2, has 1", Bye(1, 2, 0, 0), RtcpCheck::kBye});
  c.push_back({"BYE reason past the packet", Bye(1, 1, 40, 3), RtcpCheck::kBye});
  c.push_back({"APP without name", Packet(0, 204, Bytes(4, 0)), RtcpCheck::kApp});
  {
    Bytes fb;
    Put32(fb, 1);
    Put32(fb, 2);
    c.push_back({"RTPFB TMMBR without FCI", Packet(3, 205, fb), RtcpCheck::kFeedback});
    c.push_back({"PSFB FIR without FCI", Packet(4, 206, fb), RtcpCheck::kFeedback});
    c.push_back({"PSFB PLI", Packet(1, 206, fb), RtcpCheck::kOk});
  }
  return c;
}

volatile uint64_t g_sink = 0;

void OnSdesItem(void*, uint32_t csrc, rtcp_sdes_type_t, const char* content, uint8_t len) {
  uint64_t v = csrc;
  for (uint8_t i = 0; i < len; ++i) v += static_cast<uint8_t>(content[i]);
  g_sink = g_sink + v;
}

// What oRTP's receive path, ms2's quality indicator and our pollRtcp read
// of a compound, on an exact-size copy (so a read past it is a heap error).
void ParseLikeOrtp(const Bytes& b, MSQualityIndicator* qi, rms::RtcpStore* store) {
  mblk_t* m = allocb(b.size(), 0);
  std::memcpy(m->b_wptr, b.data(), b.size());
  m->b_wptr += b.size();
  uint64_t v = 0;
  do {
    const rtcp_common_header_t* ch = rtcp_get_common_header(m);
    if (ch == nullptr) break;
    int rc = rtcp_common_header_get_rc(ch);
    if (rtcp_is_SR(m)) {
      v += rtcp_SR_get_ssrc(m) + sender_info_get_packet_count(rtcp_SR_get_sender_info(m));
      for (int i = 0; i < rc; ++i)
        if (const report_block_t* rb = rtcp_SR_get_report_block(m, i))
          v += report_block_get_ssrc(rb) + report_block_get_last_SR_delay(rb) + report_block_get_cum_packet_lost(rb);
    } else if (rtcp_is_RR(m)) {
      v += rtcp_RR_get_ssrc(m);
      for (int i = 0; i < rc; ++i)
        if (const report_block_t* rb = rtcp_RR_get_report_block(m, i))
          v += report_block_get_ssrc(rb) + report_block_get_last_SR_time(rb) + report_block_get_interarrival_jitter(rb);
    } else if (rtcp_is_XR(m)) {
      v += rtcp_XR_get_ssrc(m);
      switch (rtcp_XR_get_block_type(m)) {
        case RTCP_XR_RCVR_RTT:
          v += rtcp_XR_rcvr_rtt_get_ntp_timestamp(m);
          break;
        case RTCP_XR_DLRR:
          v += rtcp_XR_dlrr_get_ssrc(m) + rtcp_XR_dlrr_get_lrr(m) + rtcp_XR_dlrr_get_dlrr(m);
          break;
        case RTCP_XR_STAT_SUMMARY:
          v += rtcp_XR_stat_summary_get_ssrc(m) + rtcp_XR_stat_summary_get_lost_packets(m) +
               rtcp_XR_stat_summary_get_dev_jitter(m) + rtcp_XR_stat_summary_get_dev_ttl_or_hl(m);
          break;
        case RTCP_XR_VOIP_METRICS:
          v += rtcp_XR_voip_metrics_get_ssrc(m) + rtcp_XR_voip_metrics_get_loss_rate(m) +
               rtcp_XR_voip_metrics_get_mos_cq(m) + rtcp_XR_voip_metrics_get_jb_abs_max(m);
          break;
        default:
          break;
      }
    } else if (rtcp_is_SDES(m)) {
      rtcp_sdes_parse(m, OnSdesItem, nullptr);
    } else if (rtcp_is_BYE(m)) {
      uint32_t ssrc = 0;
      for (int i = 0; i < rc; ++i)
        if (rtcp_BYE_get_ssrc(m, i, &ssrc)) v += ssrc;
      const char* reason = nullptr;
      int len = 0;
      if (rtcp_BYE_get_reason(m, &reason, &len))
        for (int i = 0; i < len; ++i) v += static_cast<uint8_t>(reason[i]);
    } else if (rtcp_is_APP(m)) {
      char name[4];
      rtcp_APP_get_name(m, name);
      v += rtcp_APP_get_ssrc(m) + static_cast<uint8_t>(name[3]);
    } else if (rtcp_is_RTPFB(m)) {
      v += rtcp_RTPFB_get_packet_sender_ssrc(m) + rtcp_RTPFB_get_media_source_ssrc(m);
      if (rtcp_RTPFB_get_type(m) == RTCP_RTPFB_TMMBR) v += rtcp_RTPFB_tmmbr_get_max_bitrate(m);
    }
  } while (rtcp_next_packet(m));
  rtcp_rewind(m);
  if (qi != nullptr) ms_quality_indicator_update_from_feedback(qi, m);
  if (store != nullptr) store->AddCompound(m->b_rptr, static_cast<size_t>(m->b_wptr - m->b_rptr), true, 0);
  g_sink = g_sink + v;
  freemsg(m);
}

}  // namespace

void TestRtcpCheck() {
  for (const Case& c : Corpus()) {
    RtcpCheck got = rms::CheckRtcpCompound(c.bytes.data(), c.bytes.size());
    CHECK_MSG(got == c.expect, "%s: got %s, expected %s", c.name, rms::RtcpCheckName(got),
              rms::RtcpCheckName(c.expect));
  }
  CHECK(rms::CheckRtcpCompound(nullptr, 0) == RtcpCheck::kTruncatedHeader);
  Bytes rtp{0x80, 0, 0, 1};
  CHECK(!rms::LooksLikeRtcp(rtp.data(), rtp.size()));
  Bytes rr = Rr(0, 0);
  CHECK(rms::LooksLikeRtcp(rr.data(), rr.size()));
}

// Every case and a seeded set of mutations of the well-formed ones: what
// passes the check goes through oRTP's accessors, ms2's quality indicator and
// the store. Under valgrind/ASan, any read past a datagram is an error.
void TestRtcpGarbageThroughOrtp() {
  const bool feedRefused = std::getenv("RMS_RTCP_FEED_REFUSED") != nullptr;
  RtpSession* session = rtp_session_new(RTP_SESSION_RECVONLY);
  MSQualityIndicator* qi = ms_quality_indicator_new(session);
  rms::RtcpStore store;
  std::vector<Bytes> seeds;
  int accepted = 0, refused = 0;
  for (const Case& c : Corpus()) {
    if (c.expect == RtcpCheck::kOk) seeds.push_back(c.bytes);
    bool ok = rms::CheckRtcpCompound(c.bytes.data(), c.bytes.size()) == RtcpCheck::kOk;
    if (ok || feedRefused) ParseLikeOrtp(c.bytes, qi, &store);
  }
  std::mt19937 rng(4733);
  for (int i = 0; i < 4000; ++i) {
    Bytes b = seeds[rng() % seeds.size()];
    if (rng() % 3 == 0) b = Cat({b, seeds[rng() % seeds.size()]});
    switch (rng() % 5) {
      case 0:  // cut anywhere
        b.resize(rng() % (b.size() + 1));
        break;
      case 1:  // a random byte anywhere
        b[rng() % b.size()] = static_cast<uint8_t>(rng());
        break;
      case 2:  // a length field (first packet's, or a later 4-aligned spot)
        b[(rng() % (b.size() / 4)) * 4 + 3] = static_cast<uint8_t>(rng() % 16);
        break;
      case 3:  // a count
        b[0] = static_cast<uint8_t>((b[0] & 0xe0) | (rng() % 32));
        break;
      default:  // an XR block length or type
        if (b.size() > 11) b[8 + (rng() % 2 ? 0 : 3)] = static_cast<uint8_t>(rng() % 12);
    }
    bool ok = rms::CheckRtcpCompound(b.data(), b.size()) == RtcpCheck::kOk;
    ok ? ++accepted : ++refused;
    if (ok || feedRefused) ParseLikeOrtp(b, qi, &store);
  }
  std::printf("    4000 mutations: %d accepted and parsed, %d refused%s\n", accepted, refused,
              feedRefused ? " (and parsed anyway: RMS_RTCP_FEED_REFUSED)" : "");
  CHECK(accepted > 100 && refused > 1000);
  auto kept = store.Take();
  CHECK_MSG(kept.size() <= 2 * rms::RtcpStore::kKinds * rms::RtcpStore::kPerKind, "%zu kept", kept.size());
  CHECK(store.overflow() > 0);
  ms_quality_indicator_destroy(qi);
  rtp_session_destroy(session);
}

namespace {
int Udp() {
  int fd = socket(AF_INET, SOCK_DGRAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a));
  return fd;
}
void SendTo(int fd, int port, const Bytes& b) {
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  to.sin_port = htons(static_cast<uint16_t>(port));
  sendto(fd, b.data(), b.size(), 0, reinterpret_cast<sockaddr*>(&to), sizeof(to));
}

struct FloodSink {
  rms::RtcpStore* store;
  OrtpEvQueue* q;
};
void Collect(void* user) {
  auto* s = static_cast<FloodSink*>(user);
  s->store->Collect(s->q);
}
}  // namespace

// A session read by a real ticker through the gate: a flood of well-formed
// RRs and XRs plus garbage over loopback. oRTP's event queue is emptied at
// each read, the store holds its bound, the garbage is counted, and the
// flood's excess is counted as overflow.
void TestRtcpFlood() {
  RtpSession* session = rtp_session_new(RTP_SESSION_RECVONLY);
  rtp_session_set_scheduling_mode(session, 0);
  rtp_session_set_blocking_mode(session, 0);
  rtp_session_set_profile(session, &av_profile);
  rtp_session_set_payload_type(session, 0);
  rms::InstallRecvGate(session);
  CHECK(rtp_session_set_local_addr(session, "127.0.0.1", 0, 0) == 0);
  rms::ApplyLatch(session, rms::LatchMode::kOpen);
  const int rtcpPort = rtp_session_get_local_rtcp_port(session);
  OrtpEvQueue* q = ortp_ev_queue_new();
  rms::RtcpStore store;
  FloodSink sink{&store, q};
  rtp_session_register_event_queue(session, q);
  rms::SetGateRtcpHook(session, &Collect, &sink);

  MSFilter* recv = ms_factory_create_filter(g_factory, MS_RTP_RECV_ID);
  ms_filter_call_method(recv, MS_RTP_RECV_SET_SESSION, session);
  MSFilter* sink2 = ms_factory_create_filter(g_factory, MS_VOID_SINK_ID);
  ms_filter_link(recv, 0, sink2, 0);
  MSTicker* ticker = ms_ticker_new();
  const int fd = Udp();
  const Bytes rr = Cat({Rr(1, 1), Sdes("flood")});
  const Bytes xr = Xr(7, 8, 8);
  const Bytes bad[] = {Sr(0, 1), Xr(6, 9, 4), Xr(5, 2, 2)};
  int sentBad = 0, sent = 0;
  size_t maxQueued = 0;
  {
    rms::TickStats stats(ticker);  // gives the ticker thread its poller
    ms_ticker_attach(ticker, recv);
    const auto end = std::chrono::steady_clock::now() + std::chrono::milliseconds(1500);
    while (std::chrono::steady_clock::now() < end) {
      for (int k = 0; k < 20; ++k, ++sent) SendTo(fd, rtcpPort, sent % 4 == 3 ? xr : rr);
      SendTo(fd, rtcpPort, bad[sentBad % 3]);
      ++sentBad;
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
      ms_mutex_lock(&q->mutex);
      maxQueued = std::max(maxQueued, static_cast<size_t>(q->q.q_mcount));
      ms_mutex_unlock(&q->mutex);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    ms_ticker_detach(ticker, recv);
    ms_ticker_destroy(ticker);
  }
  rms::GateRtcpCounts counts = rms::GetGateRtcpCounts(session);
  const rtp_stats_t* st = rtp_session_get_stats(session);
  auto kept = store.Take();
  std::printf(
      "    sent %d well-formed + %d malformed; oRTP counted %llu, gate refused %llu, store kept %zu, "
      "overflow %llu, oRTP queue peak %zu\n",
      sent, sentBad, static_cast<unsigned long long>(st->recv_rtcp_packets),
      static_cast<unsigned long long>(counts.invalid), kept.size(), static_cast<unsigned long long>(store.overflow()),
      maxQueued);
  CHECK_MSG(counts.invalid > 0 && counts.invalid <= static_cast<uint64_t>(sentBad), "refused %llu of %d",
            static_cast<unsigned long long>(counts.invalid), sentBad);
  CHECK(st->recv_rtcp_packets > 0 && st->recv_rtcp_packets <= static_cast<uint64_t>(sent));
  CHECK_MSG(kept.size() <= 2 * rms::RtcpStore::kPerKind, "%zu kept (RR and XR voip-metrics, received)", kept.size());
  CHECK(store.overflow() > 0);
  CHECK_MSG(maxQueued <= 64, "oRTP's queue held %zu events", maxQueued);
  rms::SetGateRtcpHook(session, nullptr, nullptr);
  close(fd);
  ms_filter_unlink(recv, 0, sink2, 0);
  ms_filter_destroy(recv);
  ms_filter_destroy(sink2);
  rtp_session_unregister_event_queue(session, q);
  ortp_ev_queue_destroy(q);
  rtp_session_destroy(session);
}

}  // namespace rms_test
