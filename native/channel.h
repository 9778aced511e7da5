// A bounded channel from any thread (a ticker) to the JS thread.
//
// Napi::ThreadSafeFunction alone queues one heap item per call; with a max
// queue of 0 that queue has no bound, and a peer that makes a ticker post
// faster than JS takes (a flood of RFC 4733 packets, JS busy for a second)
// grows native memory without end. The channel keeps at most `capacity`
// items; Push() never blocks and never allocates past that: a full channel
// drops the new item and counts it. The TSFN only carries wake-ups, at most
// one outstanding, and each wake-up drains what is there (a bounded batch, so
// a steady flood cannot hold the event loop either).
//
// Lifetime: Open() returns a channel owned by its TSFN. The owner calls
// Close() once no producer can Push() any more (the filter or session that
// pushes is destroyed); what is queued is still delivered, then the TSFN's
// finalizer frees the channel. The owner must not touch it after Close().
// If the environment goes away first, Node finalizes the TSFN after the
// addon's cleanup hook ran (which closes every owner), so Close() still finds
// the channel alive.
#pragma once
#include <napi.h>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <mutex>

namespace rms {

template <typename T>
class Channel {
 public:
  // Runs on the JS thread for each item: `droppedBefore` items were refused
  // (channel full) since the previous item that got through. May throw a
  // Napi::Error (a JS callback threw): the drain stops there and the error
  // becomes an uncaught exception, as for any callback.
  using Deliver = void (*)(Napi::Env env, Napi::Function cb, const T& item, uint64_t droppedBefore);

  static Channel* Open(Napi::Env env, Napi::Function cb, const char* name, size_t capacity, Deliver deliver) {
    auto* c = new Channel(capacity, deliver);
    // Max queue 2: a wake-up in flight and one behind it; Push() schedules
    // only when none is outstanding, so the TSFN's own queue never grows.
    c->tsfn_ = Napi::ThreadSafeFunction::New(
        env, cb, name, 2, 1, [](Napi::Env, Channel* self) { delete self; }, c);
    // Events alone do not keep the process alive (tickers do that).
    c->tsfn_.Unref(env);
    return c;
  }

  Channel(const Channel&) = delete;
  Channel& operator=(const Channel&) = delete;

  // Any thread. False when the item was dropped (channel full or closed).
  bool Push(const T& item) {
    bool wake = false;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (closed_ || items_.size() >= capacity_) {
        ++droppedSince_;
        dropped_.fetch_add(1, std::memory_order_relaxed);
        return false;
      }
      items_.push_back(Slot{item, droppedSince_});
      droppedSince_ = 0;
      if (!scheduled_) wake = scheduled_ = true;
    }
    if (wake) Wake();
    return true;
  }

  // Items refused since the channel opened (any thread).
  uint64_t dropped() const { return dropped_.load(std::memory_order_relaxed); }
  size_t capacity() const { return capacity_; }
  size_t pending() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return items_.size();
  }

  // JS thread, once, after the last Push(). Frees the channel (later).
  void Close() {
    bool wake = false;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      closed_ = true;
      if (!items_.empty() && !scheduled_) wake = scheduled_ = true;
    }
    if (wake) Wake();
    tsfn_.Release();
  }

 private:
  struct Slot {
    T item;
    uint64_t droppedBefore;
  };

  Channel(size_t capacity, Deliver deliver) : capacity_(capacity > 0 ? capacity : 1), deliver_(deliver) {}

  void Wake() {
    napi_status st = tsfn_.NonBlockingCall(this, [](Napi::Env env, Napi::Function cb, Channel* self) {
      if (env == nullptr) return;  // the environment is going away: nothing to deliver to
      self->Drain(env, cb);
    });
    if (st != napi_ok) {
      // closing: the TSFN's finalizer frees what is left
      std::lock_guard<std::mutex> lock(mutex_);
      scheduled_ = false;
    }
  }

  // JS thread. At most one batch of `capacity_` items per wake-up.
  void Drain(Napi::Env env, Napi::Function cb) {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      scheduled_ = false;
    }
    for (size_t n = 0; n < capacity_; ++n) {
      Slot s;
      {
        std::lock_guard<std::mutex> lock(mutex_);
        if (items_.empty()) return;
        s = items_.front();
        items_.pop_front();
      }
      if (cb.IsEmpty()) continue;
      try {
        deliver_(env, cb, s.item, s.droppedBefore);
      } catch (const Napi::Error& err) {
        // no C++ exception may leave a TSFN callback (std::terminate)
        Reschedule();
        try {
          err.ThrowAsJavaScriptException();
        } catch (...) {
          // the environment is shutting down (it can run no JavaScript, and
          // throwing into it fails too): the item is dropped with it
        }
        return;
      }
    }
    Reschedule();
  }

  void Reschedule() {
    bool wake = false;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (!items_.empty() && !scheduled_) wake = scheduled_ = true;
    }
    if (wake) Wake();
  }

  const size_t capacity_;
  const Deliver deliver_;
  Napi::ThreadSafeFunction tsfn_;
  mutable std::mutex mutex_;
  std::deque<Slot> items_;  // grows to capacity_ at most
  uint64_t droppedSince_ = 0;
  bool scheduled_ = false;
  bool closed_ = false;
  std::atomic<uint64_t> dropped_{0};
};

}  // namespace rms
