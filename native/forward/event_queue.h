// A bounded queue from one worker thread to the JS thread: a fixed ring,
// nothing allocated per event; when it is full, events are dropped and
// counted. The consumer is told through Notify() only when it may not be
// draining already, so however fast events come, at most one wake-up is
// outstanding.
// (A minimal one of our own: no shared ticker->JS channel class existed on
// the branches when the forwarder was written.)
#pragma once
#include <atomic>
#include <cstddef>
#include <cstdint>

namespace rms::fwd {

template <typename T, size_t N>
class BoundedQueue {
  static_assert((N & (N - 1)) == 0, "N must be a power of two");

 public:
  virtual ~BoundedQueue() = default;

  // Producer (one thread). Returns false and counts a drop when full.
  bool Push(const T& v) {
    const uint64_t head = head_.load(std::memory_order_relaxed);
    if (head - tail_.load(std::memory_order_acquire) >= N) {
      dropped_.fetch_add(1, std::memory_order_relaxed);
      return false;
    }
    items_[head & (N - 1)] = v;
    head_.store(head + 1, std::memory_order_release);
    pushed_.fetch_add(1, std::memory_order_relaxed);
    if (!wakePending_.exchange(true, std::memory_order_acq_rel)) Notify();
    return true;
  }

  // Consumer (one thread): call BeginDrain() first, then Pop() until false.
  void BeginDrain() { wakePending_.store(false, std::memory_order_release); }
  bool Pop(T* out) {
    const uint64_t tail = tail_.load(std::memory_order_relaxed);
    if (tail == head_.load(std::memory_order_acquire)) return false;
    *out = items_[tail & (N - 1)];
    tail_.store(tail + 1, std::memory_order_release);
    return true;
  }

  uint64_t pushed() const { return pushed_.load(std::memory_order_relaxed); }
  uint64_t dropped() const { return dropped_.load(std::memory_order_relaxed); }
  static constexpr size_t capacity() { return N; }

 protected:
  // On the producer's thread, when the consumer should drain. Must not block.
  virtual void Notify() {}

 private:
  T items_[N];
  std::atomic<uint64_t> head_{0}, tail_{0}, pushed_{0}, dropped_{0};
  std::atomic<bool> wakePending_{false};
};

}  // namespace rms::fwd
