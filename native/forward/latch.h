// Who may send to one of a relay's sockets, and where the other side's
// packets go out of it: the receive gate's rules (core/recv_gate.h), applied
// by the forwarder while it owns the socket.
//  strict: only the remote from signalling (until one is set, anyone);
//  once:   the first source heard, then only it;
//  always: anyone, and the destination follows the latest source;
//  open:   anyone, the destination stays the remote.
// handover (rtpengine's "media handover"): in strict and once a new source
// is accepted too, and the destination moves to it.
// Worker thread only, except where relay.h says otherwise.
#pragma once
#include <sys/socket.h>

#include <cstdint>
#include <string>

#include "core/recv_gate.h"

namespace rms::fwd {

struct Address {
  sockaddr_storage ss{};
  socklen_t len = 0;
  bool Empty() const { return len == 0; }
  bool Same(const sockaddr* a, socklen_t alen) const;
  void Set(const sockaddr* a, socklen_t alen);
  const sockaddr* sa() const { return reinterpret_cast<const sockaddr*>(&ss); }
  std::string ToString() const;  // "ip:port", "" when empty
};

class SourceLatch {
 public:
  // remote: where signalling says the peer is (oRTP's current remote);
  // latchedPeer: the source the receive gate had latched to, if any.
  void Init(LatchMode mode, bool handover, const Address& remote, const Address& latchedPeer);
  void SetRemote(const Address& remote);
  // Whether a datagram from `from` is accepted. Sets *moved when it moved
  // the destination.
  bool Accept(const sockaddr* from, socklen_t len, bool* moved);
  // nullptr: nowhere to send yet
  const Address* Destination() const { return !peer_.Empty() ? &peer_ : !remote_.Empty() ? &remote_ : nullptr; }
  // the source latched to / followed, empty if none
  const Address& peer() const { return peer_; }
  LatchMode mode() const { return mode_; }
  // Only peer() may send from now on (strict or latched once, no handover):
  // the socket may be connect()ed to it.
  bool locked() const {
    return !handover_ && !peer_.Empty() && (mode_ == LatchMode::kStrict || mode_ == LatchMode::kOnce);
  }

 private:
  LatchMode mode_ = LatchMode::kStrict;
  bool handover_ = false;
  Address remote_;
  Address peer_;
};

}  // namespace rms::fwd
