#include "rtcp_store.h"

#include <algorithm>
#include <chrono>

namespace rms {

double RtcpStore::NowMs() {
  using namespace std::chrono;
  return static_cast<double>(duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count());
}

void RtcpStore::Collect(OrtpEvQueue* q) {
  if (q == nullptr) return;
  OrtpEvent* ev;
  double now = -1;
  while ((ev = ortp_ev_queue_get(q)) != nullptr) {
    OrtpEventType t = ortp_event_get_type(ev);
    if (t == ORTP_EVENT_RTCP_PACKET_RECEIVED || t == ORTP_EVENT_RTCP_PACKET_EMITTED) {
      mblk_t* m = ortp_event_get_data(ev)->packet;
      if (m != nullptr) {
        if (now < 0) now = NowMs();
        // oRTP's RTCP buffers are one block (it pulls up what it receives)
        const uint8_t* p = m->b_rptr;
        size_t n = m->b_wptr > m->b_rptr ? static_cast<size_t>(m->b_wptr - m->b_rptr) : 0;
        if (m->b_cont == nullptr) AddCompound(p, n, t == ORTP_EVENT_RTCP_PACKET_RECEIVED, now);
      }
    }
    ortp_event_destroy(ev);
  }
}

void RtcpStore::AddCompound(const uint8_t* p, size_t n, bool received, double atMs) {
  size_t off = 0;
  while (n - off >= 4) {
    const uint8_t* h = p + off;
    size_t len = (static_cast<size_t>((h[2] << 8) | h[3]) + 1) * 4;
    if (len > n - off) break;
    switch (h[1]) {
      case 200:
        Add(kSr, h, len, received, atMs);
        break;
      case 201:
        Add(kRr, h, len, received, atMs);
        break;
      case 207: {
        // oRTP reads (and sends) the first block of an XR packet
        uint8_t bt = len >= 12 ? h[8] : 0;
        Kind k = bt == 4   ? kXrRcvrRtt
                 : bt == 5 ? kXrDlrr
                 : bt == 6 ? kXrStatSummary
                 : bt == 7 ? kXrVoipMetrics
                           : kXrOther;
        Add(k, h, len, received, atMs);
        break;
      }
      default:
        break;  // SDES, BYE, APP, feedback: not quality data
    }
    off += len;
  }
}

void RtcpStore::Add(Kind k, const uint8_t* p, size_t len, bool received, double atMs) {
  if (len > kMaxPacket) return;
  std::lock_guard<std::mutex> lock(mutex_);
  Ring& r = rings_[(received ? 0 : kKinds) + k];
  Packet& slot = r.slots[r.head];
  if (r.size == kPerKind)
    overflow_.fetch_add(1, std::memory_order_relaxed);
  else
    ++r.size;
  r.head = (r.head + 1) % kPerKind;
  slot.received = received;
  slot.atMs = atMs;
  slot.seq = ++seq_;
  slot.bytes.assign(p, p + len);  // reuses the slot's buffer
  stored_.fetch_add(1, std::memory_order_relaxed);
}

std::vector<RtcpStore::Packet> RtcpStore::Take() {
  std::vector<Packet> out;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    for (Ring& r : rings_) {
      size_t first = (r.head + kPerKind - r.size) % kPerKind;
      for (size_t i = 0; i < r.size; ++i) out.push_back(r.slots[(first + i) % kPerKind]);
      r.size = 0;
    }
  }
  std::sort(out.begin(), out.end(), [](const Packet& a, const Packet& b) { return a.seq < b.seq; });
  return out;
}

}  // namespace rms
