// What one leg's Codec2 decoder learnt from the wire, for the encoder that
// sends to the same peer: both filters are given the same link id (a number
// the TypeScript side allocates per leg), the decoder publishes the mode the
// peer sends and an encoder that follows it switches to that mode. Links
// live as long as a filter holds them; lookups lock, the ticker threads only
// touch the atomics.
#pragma once
#include <atomic>
#include <memory>

namespace rms {

struct Codec2Link {
  std::atomic<int> mode{-1};        // libcodec2 mode the peer sends, -1 until known
  std::atomic<bool> warned{false};  // the mismatch warning was logged once for this leg
};

// The link for `id`, created on first use.
std::shared_ptr<Codec2Link> Codec2LinkFor(int id);

}  // namespace rms
