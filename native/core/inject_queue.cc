#include "inject_queue.h"

#include <algorithm>
#include <cstring>

namespace rms {

InjectQueue::InjectQueue(size_t capacitySamples, size_t maxMarks)
    : buf_(std::max<size_t>(capacitySamples, 1)), marks_(std::max<size_t>(maxMarks, 1)) {}

size_t InjectQueue::Write(const void* data, size_t n) {
  const auto* s = static_cast<const uint8_t*>(data);
  size_t take = std::min(n, buf_.size() - queued_);
  size_t tail = (head_ + queued_) % buf_.size();
  size_t first = std::min(take, buf_.size() - tail);
  std::memcpy(&buf_[tail], s, first * 2);
  if (take > first) std::memcpy(&buf_[0], s + first * 2, (take - first) * 2);
  queued_ += take;
  written_ += take;
  overflow_ += n - take;
  return take;
}

bool InjectQueue::Mark(uint32_t id) {
  if (nmarks_ == marks_.size()) return false;
  marks_[(markHead_ + nmarks_) % marks_.size()] = PendingMark{id, played_ + queued_};
  ++nmarks_;
  return true;
}

size_t InjectQueue::Clear(InjectMark* out, size_t max) {
  size_t n = 0;
  while (nmarks_ > 0) {
    const PendingMark& m = marks_[markHead_];
    if (n < max) out[n++] = InjectMark{m.id, 1, played_};
    markHead_ = (markHead_ + 1) % marks_.size();
    --nmarks_;
  }
  cleared_ += queued_;
  head_ = queued_ = 0;
  playing_ = false;
  waited_ = 0;
  return n;
}

size_t InjectQueue::Take(size_t elapsed, int16_t* out, size_t max, InjectMark* marks, size_t maxMarks, size_t* nmarks) {
  *nmarks = 0;
  size_t n = 0;
  if (!playing_ && queued_ > 0) {
    waited_ += elapsed;
    // a mark pending at the end of what is queued: the chunk is complete
    bool complete = nmarks_ > 0 && marks_[(markHead_ + nmarks_ - 1) % marks_.size()].at == played_ + queued_;
    if (queued_ >= jitter_ || waited_ >= jitter_ || complete) {
      playing_ = true;
      ++starts_;
    }
  }
  if (playing_) {
    n = std::min({elapsed, max, queued_});
    size_t first = std::min(n, buf_.size() - head_);
    std::memcpy(out, &buf_[head_], first * 2);
    if (n > first) std::memcpy(out + first, &buf_[0], (n - first) * 2);
    head_ = (head_ + n) % buf_.size();
    queued_ -= n;
    played_ += n;
    if (queued_ == 0) {
      playing_ = false;
      waited_ = 0;
    }
  }
  // marks reached: everything before them was taken (a mark set on an empty queue is reached at once)
  while (nmarks_ > 0 && marks_[markHead_].at <= played_ && *nmarks < maxMarks) {
    marks[(*nmarks)++] = InjectMark{marks_[markHead_].id, 0, played_};
    markHead_ = (markHead_ + 1) % marks_.size();
    --nmarks_;
  }
  return n;
}

InjectStats InjectQueue::Stats() const {
  return InjectStats{written_,          played_, overflow_, cleared_, starts_, static_cast<uint32_t>(queued_),
                     playing_ ? 1u : 0u};
}

}  // namespace rms
