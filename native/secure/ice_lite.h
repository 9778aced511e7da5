// The answering side of ICE as a lite agent (RFC 8445 2.5, 7.3): it never
// sends checks, it answers the full agent's Binding requests on its host
// candidate, and the addresses whose checks were valid become the pairs it
// may talk to. Media goes to the nominated pair (USE-CANDIDATE), or the
// first valid one until something is nominated. Consent (RFC 7675) is kept
// by the peer's periodic checks: when none was valid on the selected pair for
// the consent timeout, nothing more is sent there until one is.
//
// Datagrams from sources no valid check came from are refused by the
// security layer (Validated()), so an off-path sender cannot get DTLS or
// SRTP in without the ICE password.
//
// Not thread safe: the security layer serialises calls.
#pragma once
#include <sys/socket.h>

#include <cstddef>
#include <cstdint>
#include <string>

namespace rms::secure {

struct IceCredentials {
  std::string localUfrag;
  std::string localPwd;
  // When known (from the peer's SDP), checks must name it after the colon.
  std::string remoteUfrag;
  // RFC 7675 5.1: 30 s.
  uint64_t consentTimeoutNs = 30ull * 1000000000ull;
};

struct IceCounters {
  uint64_t requests = 0;      // Binding requests received
  uint64_t answered = 0;      // success responses sent
  uint64_t badAuth = 0;       // wrong USERNAME or MESSAGE-INTEGRITY (401)
  uint64_t malformed = 0;     // 400 / 420 / not STUN after all
  uint64_t indications = 0;   // Binding indications (keepalives, no answer)
  uint64_t unvalidated = 0;   // media or DTLS from a source no valid check came from
  uint64_t consentLost = 0;   // times the selected pair's consent expired
  uint64_t sendsRefused = 0;  // packets not sent: no pair, or no consent
};

enum class IceState : uint8_t {
  kNew,           // no valid check yet
  kConnected,     // a selected pair with consent
  kDisconnected,  // consent expired on the selected pair
};

class IceLite {
 public:
  explicit IceLite(IceCredentials creds);

  // A datagram whose first octet is 0..3 arrived from `from`. Returns the
  // length of the response written to `resp` (kStunMaxResponse octets), or 0
  // when nothing is to be sent back.
  size_t OnStun(const uint8_t* p, size_t n, const sockaddr* from, socklen_t fromlen, uint64_t nowNs, uint8_t* resp);

  // Whether a valid check came from this source.
  bool Validated(const sockaddr* from, socklen_t fromlen) const;

  // Where media goes now, or nullptr (no pair yet, or no consent). Also moves
  // the state to kDisconnected when consent expired.
  const sockaddr* Destination(uint64_t nowNs, socklen_t* len);

  IceState state() const { return state_; }
  // Set when the state or the selected pair changed; cleared by the call.
  bool TakeChange();
  const IceCounters& counters() const { return counters_; }
  void CountUnvalidated() { ++counters_.unvalidated; }
  void CountSendRefused() { ++counters_.sendsRefused; }
  const sockaddr* selected(socklen_t* len) const;

  static constexpr int kMaxPairs = 8;

 private:
  struct Pair {
    sockaddr_storage addr{};
    socklen_t len = 0;
    uint64_t lastValidNs = 0;
    uint32_t priority = 0;
    bool nominated = false;
    bool used = false;
  };
  int FindPair(const sockaddr* a, socklen_t len) const;
  void Select(int i);

  IceCredentials creds_;
  Pair pairs_[kMaxPairs];
  int selected_ = -1;
  IceState state_ = IceState::kNew;
  bool changed_ = false;
  IceCounters counters_;
};

// Same address family, address and port.
bool SameAddress(const sockaddr* a, socklen_t alen, const sockaddr* b, socklen_t blen);

}  // namespace rms::secure
