// The forwarding plane: worker threads of its own, each with an epoll set
// over the sockets of the relays it serves, reading with recvmmsg() and
// writing with sendmmsg(). No JS and no allocation per packet on a worker;
// a relay lives on one worker.
//
// Starting and stopping a relay, and any change to its latches, run on its
// worker between two epoll batches (Worker::Call waits for it), so no worker
// ever holds a pointer into a relay that was stopped: after Stop() returns,
// the relay is freed and its sockets are the receive gates' again.
#pragma once
#include <sys/epoll.h>
#include <sys/socket.h>

#include <condition_variable>
#include <cstddef>
#include <functional>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "forward/relay.h"

namespace rms::fwd {

class Worker {
 public:
  explicit Worker(int index);
  ~Worker();  // joins the thread
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;

  bool ok() const { return epfd_ >= 0 && evfd_ >= 0 && thread_.joinable(); }
  // Worker thread (in a Call): drops what it still holds of a relay's sockets.
  void Forget(const Relay* r);
  // Runs fn on the worker thread between two batches and waits for it
  // (on the caller's thread once the worker was halted).
  void Call(const std::function<void()>& fn);
  // Stops the thread (idempotent); the epoll set and relays stay as they are.
  void Halt();
  size_t relays = 0;  // the plane's bookkeeping (its owner's thread)
  int epfd() const { return epfd_; }

  // Datagrams received / sent and system calls made, since the start.
  uint64_t received() const { return received_.load(std::memory_order_relaxed); }
  uint64_t sent() const { return sent_.load(std::memory_order_relaxed); }
  uint64_t wakeups() const { return wakeups_.load(std::memory_order_relaxed); }
  // Share of a core the thread used over its last second (0..1).
  double busy() const { return busy_.load(std::memory_order_relaxed); }

  static constexpr int kBatch = 32;
  static constexpr size_t kMaxDatagram = 2048;

 private:
  void Run(int index);
  void Service(Socket* s);
  void Send(Socket* out, int dir, int n);

  int epfd_ = -1;
  int evfd_ = -1;
  std::thread thread_;
  std::mutex callMu_;  // one caller at a time
  std::mutex mu_;
  std::condition_variable cv_;
  const std::function<void()>* pending_ = nullptr;
  bool done_ = false;
  bool quit_ = false;
  bool halted_ = false;  // the thread was joined (callMu_)

  // worker thread only
  std::vector<Socket*> again_;  // sockets left with data (edge-triggered: no new event for it)
  std::unique_ptr<uint8_t[]> bufs_;
  mmsghdr in_[kBatch];
  int used_ = kBatch;  // entries of in_ the last recvmmsg may have written
  iovec iov_[kBatch];
  sockaddr_storage from_[kBatch];
  mmsghdr out_[kBatch];
  iovec outIov_[kBatch];
  std::atomic<uint64_t> received_{0}, sent_{0}, wakeups_{0};
  std::atomic<double> busy_{0};
};

class Plane {
 public:
  // threads <= 0: one per CPU this process may run on.
  explicit Plane(int threads);
  ~Plane();
  Plane(const Plane&) = delete;
  Plane& operator=(const Plane&) = delete;

  // Takes both sessions' sockets over and starts forwarding. nullptr and
  // *err set if it cannot. Relays fill one worker before the next is used
  // (see plane.cc), not spread evenly.
  static constexpr size_t kFillRelays = 1000;
  static constexpr double kFillBusy = 0.5;
  Relay* Start(const RelaySetup& setup, std::string* err);
  // Synchronous: when it returns the relay is freed and the sockets handed
  // back. Owner's thread.
  void Stop(Relay* r);
  // Runs fn on the relay's worker (for what only that thread may touch).
  void RunOn(Relay* r, const std::function<void()>& fn);
  // Stops every relay and the threads.
  void Close();

  int threads() const { return static_cast<int>(workers_.size()); }
  const std::vector<std::unique_ptr<Worker>>& workers() const { return workers_; }
  size_t relays() const { return relays_.size(); }
  // At process exit (atexit): halts every plane's threads before exit()
  // tears down what they might touch. Node may exit without running the
  // environment's cleanup hooks (see native/addon.cc).
  static void HaltAllAtExit();

 private:
  std::vector<std::unique_ptr<Worker>> workers_;
  std::set<Relay*> relays_;
};

}  // namespace rms::fwd
