#include "secure/ice_lite.h"

#include <netinet/in.h>

#include <cstring>
#include <utility>

#include "secure/stun.h"

namespace rms::secure {

bool SameAddress(const sockaddr* a, socklen_t alen, const sockaddr* b, socklen_t blen) {
  if (a == nullptr || b == nullptr || alen == 0 || blen == 0 || a->sa_family != b->sa_family) return false;
  if (a->sa_family == AF_INET) {
    auto* x = reinterpret_cast<const sockaddr_in*>(a);
    auto* y = reinterpret_cast<const sockaddr_in*>(b);
    return x->sin_port == y->sin_port && x->sin_addr.s_addr == y->sin_addr.s_addr;
  }
  if (a->sa_family == AF_INET6) {
    auto* x = reinterpret_cast<const sockaddr_in6*>(a);
    auto* y = reinterpret_cast<const sockaddr_in6*>(b);
    return x->sin6_port == y->sin6_port && std::memcmp(&x->sin6_addr, &y->sin6_addr, sizeof(in6_addr)) == 0;
  }
  return false;
}

IceLite::IceLite(IceCredentials creds) : creds_(std::move(creds)) {}

int IceLite::FindPair(const sockaddr* a, socklen_t len) const {
  for (int i = 0; i < kMaxPairs; ++i)
    if (pairs_[i].used && SameAddress(reinterpret_cast<const sockaddr*>(&pairs_[i].addr), pairs_[i].len, a, len))
      return i;
  return -1;
}

void IceLite::Select(int i) {
  if (selected_ != i) changed_ = true;
  selected_ = i;
  if (state_ != IceState::kConnected) changed_ = true;
  state_ = IceState::kConnected;
}

size_t IceLite::OnStun(const uint8_t* p, size_t n, const sockaddr* from, socklen_t fromlen, uint64_t nowNs,
                       uint8_t* resp) {
  StunMessage m;
  StunParse r = ParseStun(p, n, &m);
  if (r == StunParse::kNotStun) {
    ++counters_.malformed;
    return 0;
  }
  if (r == StunParse::kOk && m.type == kStunBindingIndication) {
    ++counters_.indications;
    return 0;
  }
  // responses, other methods: a lite agent sends no requests, so nothing of
  // ours is being answered
  if (m.type != kStunBindingRequest) {
    ++counters_.malformed;
    return 0;
  }
  ++counters_.requests;
  if (r == StunParse::kMalformed) {
    ++counters_.malformed;
    return BuildBindingError(resp, m.txid, 400, "Bad Request", std::string());
  }
  if (!m.hasIntegrity || m.username.empty()) {
    ++counters_.malformed;
    return BuildBindingError(resp, m.txid, 400, "Bad Request", std::string());
  }
  // USERNAME is "<our ufrag>:<their ufrag>" (RFC 8445 7.2.2)
  const std::string& u = m.username;
  const std::string& ours = creds_.localUfrag;
  bool userOk = u.size() > ours.size() && u.compare(0, ours.size(), ours) == 0 && u[ours.size()] == ':';
  if (userOk && !creds_.remoteUfrag.empty())
    userOk = u.compare(ours.size() + 1, std::string::npos, creds_.remoteUfrag) == 0;
  if (!userOk || !StunIntegrityValid(p, n, m, creds_.localPwd)) {
    ++counters_.badAuth;
    return BuildBindingError(resp, m.txid, 401, "Unauthorized", std::string());
  }
  if (m.unknownRequired != 0) {
    ++counters_.malformed;
    return BuildBindingError(resp, m.txid, 420, "Unknown Attribute", creds_.localPwd, m.unknownRequired);
  }
  int i = FindPair(from, fromlen);
  if (i < 0) {
    // a new source: a free slot, else the one heard from longest ago (never
    // the selected one)
    int victim = -1;
    for (int k = 0; k < kMaxPairs; ++k) {
      if (!pairs_[k].used) {
        victim = k;
        break;
      }
      if (k != selected_ && (victim < 0 || pairs_[k].lastValidNs < pairs_[victim].lastValidNs)) victim = k;
    }
    i = victim;
    pairs_[i] = Pair();
    std::memcpy(&pairs_[i].addr, from, fromlen);
    pairs_[i].len = fromlen;
    pairs_[i].used = true;
  }
  Pair& pair = pairs_[i];
  pair.lastValidNs = nowNs;
  pair.priority = m.priority;
  if (m.useCandidate) pair.nominated = true;
  // the nominated pair of highest priority; until one is nominated, the
  // first valid pair
  if (pair.nominated) {
    const Pair* cur = selected_ >= 0 ? &pairs_[selected_] : nullptr;
    if (cur == nullptr || !cur->nominated || cur->priority < pair.priority || selected_ == i) Select(i);
  } else if (selected_ < 0) {
    Select(i);
  }
  if (selected_ == i && state_ == IceState::kDisconnected) {
    state_ = IceState::kConnected;
    changed_ = true;
  }
  ++counters_.answered;
  return BuildBindingSuccess(resp, m.txid, from, creds_.localPwd);
}

bool IceLite::Validated(const sockaddr* from, socklen_t fromlen) const { return FindPair(from, fromlen) >= 0; }

const sockaddr* IceLite::Destination(uint64_t nowNs, socklen_t* len) {
  if (selected_ < 0) return nullptr;
  Pair& p = pairs_[selected_];
  if (state_ == IceState::kConnected && nowNs - p.lastValidNs > creds_.consentTimeoutNs) {
    state_ = IceState::kDisconnected;
    changed_ = true;
    ++counters_.consentLost;
  }
  if (state_ != IceState::kConnected) return nullptr;
  *len = p.len;
  return reinterpret_cast<const sockaddr*>(&p.addr);
}

const sockaddr* IceLite::selected(socklen_t* len) const {
  if (selected_ < 0) return nullptr;
  *len = pairs_[selected_].len;
  return reinterpret_cast<const sockaddr*>(&pairs_[selected_].addr);
}

bool IceLite::TakeChange() {
  bool c = changed_;
  changed_ = false;
  return c;
}

}  // namespace rms::secure
