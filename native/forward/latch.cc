#include "forward/latch.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <cstring>

namespace rms::fwd {

bool Address::Same(const sockaddr* a, socklen_t alen) const {
  if (len == 0 || alen == 0 || a->sa_family != ss.ss_family) return false;
  if (a->sa_family == AF_INET) {
    auto* x = reinterpret_cast<const sockaddr_in*>(a);
    auto* y = reinterpret_cast<const sockaddr_in*>(&ss);
    return x->sin_port == y->sin_port && x->sin_addr.s_addr == y->sin_addr.s_addr;
  }
  if (a->sa_family == AF_INET6) {
    auto* x = reinterpret_cast<const sockaddr_in6*>(a);
    auto* y = reinterpret_cast<const sockaddr_in6*>(&ss);
    return x->sin6_port == y->sin6_port && std::memcmp(&x->sin6_addr, &y->sin6_addr, sizeof(in6_addr)) == 0;
  }
  return false;
}

void Address::Set(const sockaddr* a, socklen_t alen) {
  if (a == nullptr || alen == 0 || alen > sizeof(ss)) {
    len = 0;
    return;
  }
  std::memcpy(&ss, a, alen);
  len = alen;
}

std::string Address::ToString() const {
  char buf[INET6_ADDRSTRLEN] = {0};
  if (len == 0) return "";
  if (ss.ss_family == AF_INET) {
    auto* x = reinterpret_cast<const sockaddr_in*>(&ss);
    inet_ntop(AF_INET, &x->sin_addr, buf, sizeof(buf));
    return std::string(buf) + ":" + std::to_string(ntohs(x->sin_port));
  }
  if (ss.ss_family == AF_INET6) {
    auto* x = reinterpret_cast<const sockaddr_in6*>(&ss);
    inet_ntop(AF_INET6, &x->sin6_addr, buf, sizeof(buf));
    return "[" + std::string(buf) + "]:" + std::to_string(ntohs(x->sin6_port));
  }
  return "";
}

void SourceLatch::Init(LatchMode mode, bool handover, const Address& remote, const Address& latchedPeer) {
  mode_ = mode;
  handover_ = handover;
  remote_ = remote;
  peer_ = Address{};
  if (mode == LatchMode::kStrict) peer_ = remote;
  if (mode == LatchMode::kOnce) peer_ = latchedPeer;
}

void SourceLatch::SetRemote(const Address& remote) { Init(mode_, handover_, remote, Address{}); }

bool SourceLatch::Accept(const sockaddr* from, socklen_t len, bool* moved) {
  *moved = false;
  switch (mode_) {
    case LatchMode::kOpen:
      return true;
    case LatchMode::kAlways:
      if (!peer_.Same(from, len)) {
        peer_.Set(from, len);
        *moved = true;
      }
      return true;
    case LatchMode::kStrict:
      if (remote_.Empty()) return true;  // the gate's rule: anyone until a remote is known
      [[fallthrough]];
    case LatchMode::kOnce:
      if (peer_.Same(from, len)) return true;
      if (!peer_.Empty() && !handover_) return false;
      peer_.Set(from, len);
      *moved = true;
      return true;
  }
  return false;
}

}  // namespace rms::fwd
