#include "forward/plane.h"

#include <pthread.h>
#include <sched.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace rms::fwd {

namespace {

constexpr auto kRelaxed = std::memory_order_relaxed;
void Add(std::atomic<uint64_t>& a, uint64_t n = 1) { a.store(a.load(kRelaxed) + n, kRelaxed); }

uint64_t NowNs() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000000000ull + static_cast<uint64_t>(ts.tv_nsec);
}

uint64_t ThreadCpuNs() {
  timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000000000ull + static_cast<uint64_t>(ts.tv_nsec);
}

int CpusAvailable() {
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof(set), &set) == 0) {
    int n = CPU_COUNT(&set);
    if (n > 0) return n;
  }
  long n = sysconf(_SC_NPROCESSORS_ONLN);
  return n > 0 ? static_cast<int>(n) : 1;
}

// A socket never gets more than this many batches in a row; one that still
// has data then waits for the other ready sockets (Worker::again_).
constexpr int kRoundsPerWake = 4;

}  // namespace

Worker::Worker(int index) : epfd_(epoll_create1(EPOLL_CLOEXEC)), evfd_(eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) {
  bufs_.reset(new uint8_t[kBatch * kMaxDatagram]);
  if (epfd_ < 0 || evfd_ < 0) return;
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.ptr = nullptr;  // the control eventfd
  if (epoll_ctl(epfd_, EPOLL_CTL_ADD, evfd_, &ev) != 0) return;
  thread_ = std::thread([this, index] { Run(index); });
}

Worker::~Worker() {
  Halt();
  if (evfd_ >= 0) close(evfd_);
  if (epfd_ >= 0) close(epfd_);
}

void Worker::Halt() {
  std::lock_guard<std::mutex> serial(callMu_);
  if (halted_ || !thread_.joinable()) return;
  {
    std::lock_guard<std::mutex> lock(mu_);
    quit_ = true;
  }
  uint64_t one = 1;
  ssize_t w = write(evfd_, &one, sizeof(one));
  (void)w;
  thread_.join();
  halted_ = true;
}

void Worker::Call(const std::function<void()>& fn) {
  std::lock_guard<std::mutex> serial(callMu_);
  if (halted_) {  // no worker thread any more: nothing runs concurrently
    fn();
    return;
  }
  std::unique_lock<std::mutex> lock(mu_);
  pending_ = &fn;
  done_ = false;
  uint64_t one = 1;
  ssize_t w = write(evfd_, &one, sizeof(one));
  (void)w;  // the counter cannot overflow with one caller at a time
  cv_.wait(lock, [this] { return done_; });
}

void Worker::Run(int index) {
  char name[16];
  std::snprintf(name, sizeof(name), "rms-fwd-%d", index);
  pthread_setname_np(pthread_self(), name);
  for (int i = 0; i < kBatch; ++i) {
    iov_[i].iov_base = bufs_.get() + i * kMaxDatagram;
    iov_[i].iov_len = kMaxDatagram;
    std::memset(&in_[i].msg_hdr, 0, sizeof(msghdr));
    in_[i].msg_hdr.msg_iov = &iov_[i];
    in_[i].msg_hdr.msg_iovlen = 1;
    in_[i].msg_hdr.msg_name = &from_[i];
  }
  epoll_event evs[128];
  std::vector<Socket*> again;
  uint64_t sampleNs = NowNs(), sampleCpu = ThreadCpuNs();
  for (;;) {
    // a thread with nothing to do waits at most a second, so that busy() decays
    int n = epoll_wait(epfd_, evs, 128, again_.empty() ? 1000 : 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      break;
    }
    Add(wakeups_);
    const uint64_t now = NowNs();
    if (now - sampleNs >= 1000000000ull) {
      const uint64_t cpu = ThreadCpuNs();
      busy_.store(static_cast<double>(cpu - sampleCpu) / static_cast<double>(now - sampleNs), kRelaxed);
      sampleNs = now;
      sampleCpu = cpu;
    }
    bool control = false;
    again.swap(again_);
    for (Socket* s : again) Service(s);
    again.clear();
    for (int i = 0; i < n; ++i) {
      if (evs[i].data.ptr == nullptr)
        control = true;
      else
        Service(static_cast<Socket*>(evs[i].data.ptr));
    }
    // only after the whole batch: a stop removes sockets whose events may
    // still be in it
    if (!control) continue;
    uint64_t v;
    ssize_t r = read(evfd_, &v, sizeof(v));
    (void)r;
    std::lock_guard<std::mutex> lock(mu_);
    if (pending_ != nullptr) {
      (*pending_)();
      pending_ = nullptr;
      done_ = true;
      cv_.notify_all();
    }
    if (quit_) return;
  }
}

void Worker::Service(Socket* s) {
  Relay* relay = s->relay;
  for (int round = 0; round < kRoundsPerWake; ++round) {
    // what the kernel writes back: only the first `used_` (the last call's
    // datagrams and the slot where it stopped) need resetting
    for (int i = 0; i < used_; ++i) {
      in_[i].msg_hdr.msg_namelen = sizeof(sockaddr_storage);
      in_[i].msg_hdr.msg_flags = 0;
    }
    // edge-triggered: fewer than asked means the socket is empty (recvmmsg
    // stops at EAGAIN), and the next datagram raises a new edge
    int n = recvmmsg(s->fd, in_, kBatch, MSG_DONTWAIT, nullptr);
    used_ = n < kBatch ? (n > 0 ? n + 1 : 1) : kBatch;
    if (n <= 0) {
      // EAGAIN; or an error the socket reported (ICMP), with maybe more behind it
      if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) again_.push_back(s);
      return;
    }
    Add(received_, static_cast<uint64_t>(n));
    const uint64_t now = NowNs();
    Socket* out = nullptr;
    int k = 0;
    for (int i = 0; i < n; ++i) {
      auto* buf = static_cast<uint8_t*>(iov_[i].iov_base);
      if (in_[i].msg_hdr.msg_flags & MSG_TRUNC) {
        Add(relay->counters(s->side).malformed);
        continue;
      }
      Socket* o = relay->OnDatagram(*s, buf, in_[i].msg_len, reinterpret_cast<sockaddr*>(&from_[i]),
                                    in_[i].msg_hdr.msg_namelen, now);
      if (o == nullptr) continue;
      if (out != nullptr && o != out) {  // cannot happen today (one input socket feeds one output); stay safe
        Send(out, s->side, k);
        k = 0;
      }
      out = o;
      const Address* to = o->latch.Destination();
      std::memset(&out_[k].msg_hdr, 0, sizeof(msghdr));
      outIov_[k].iov_base = buf;
      outIov_[k].iov_len = in_[i].msg_len;
      out_[k].msg_hdr.msg_iov = &outIov_[k];
      out_[k].msg_hdr.msg_iovlen = 1;
      // a connected socket sends to its peer (the destination) by its cached route
      if (!o->connected.load(std::memory_order_relaxed)) {
        out_[k].msg_hdr.msg_name = const_cast<sockaddr*>(to->sa());
        out_[k].msg_hdr.msg_namelen = to->len;
      }
      out_[k].msg_len = s->rtcp ? 1 : 0;  // scratch: which counter (sendmmsg overwrites it)
      ++k;
    }
    if (k > 0) Send(out, s->side, k);
    if (n < kBatch) return;
  }
  again_.push_back(s);  // still full: after the others
}

void Worker::Forget(const Relay* r) {
  again_.erase(std::remove_if(again_.begin(), again_.end(), [r](Socket* s) { return s->relay == r; }), again_.end());
}

void Worker::Send(Socket* out, int dir, int n) {
  DirectionCounters& c = out->relay->counters(dir);
  const bool rtcp = out->rtcp;
  int done = 0;
  while (done < n) {
    int r = sendmmsg(out->fd, out_ + done, static_cast<unsigned>(n - done), MSG_DONTWAIT);
    if (r > 0) {
      Add(rtcp ? c.rtcpForwarded : c.forwarded, static_cast<uint64_t>(r));
      Add(sent_, static_cast<uint64_t>(r));
      done += r;
      continue;
    }
    if (r < 0 && errno == EINTR) continue;
    // the first datagram failed (EAGAIN: the socket buffer is full; or a
    // refused destination): drop it, go on with the rest
    Add(c.sendErrors);
    ++done;
  }
}

namespace {
std::mutex g_planesMutex;
std::set<Plane*>& Planes() {
  static auto* s = new std::set<Plane*>();  // never freed: used at exit
  return *s;
}
}  // namespace

Plane::Plane(int threads) {
  static std::once_flag atexitOnce;
  std::call_once(atexitOnce, [] { std::atexit(&Plane::HaltAllAtExit); });
  if (threads <= 0) threads = CpusAvailable();
  for (int i = 0; i < threads; ++i) workers_.push_back(std::make_unique<Worker>(i));
  std::lock_guard<std::mutex> lock(g_planesMutex);
  Planes().insert(this);
}

Plane::~Plane() {
  {
    std::lock_guard<std::mutex> lock(g_planesMutex);
    Planes().erase(this);
  }
  Close();
}

void Plane::HaltAllAtExit() {
  std::lock_guard<std::mutex> lock(g_planesMutex);
  for (Plane* p : Planes())
    for (auto& w : p->workers_) w->Halt();
}

Relay* Plane::Start(const RelaySetup& setup, std::string* err) {
  // Fill: the first worker neither busy nor full. One thread serving many
  // relays finds many sockets ready per wake-up, and wake-ups (the thread
  // switch, epoll's bookkeeping) are most of what a forwarded packet costs
  // beyond the kernel's UDP path; spreading relays over idle threads would
  // buy nothing but more of them. Past that, the least busy.
  Worker* w = nullptr;
  for (auto& x : workers_)
    if (x->ok() && x->busy() < kFillBusy && x->relays < kFillRelays) {
      w = x.get();
      break;
    }
  if (w == nullptr)
    for (auto& x : workers_)
      if (x->ok() && (w == nullptr || x->busy() < w->busy() || (x->busy() == w->busy() && x->relays < w->relays)))
        w = x.get();
  if (w == nullptr) {
    *err = "the forwarding plane has no running thread";
    return nullptr;
  }
  auto relay = std::make_unique<Relay>(setup);
  *err = relay->TakeOver();
  if (!err->empty()) return nullptr;
  relay->worker = w;
  bool added = true;
  Relay* r = relay.get();
  w->Call([&] {
    for (int i = 0; i < 4 && added; ++i) {
      Socket& s = r->sockets()[i];
      if (s.fd < 0) continue;
      epoll_event ev{};
      ev.events = EPOLLIN | EPOLLET;
      ev.data.ptr = &s;
      if (epoll_ctl(w->epfd(), EPOLL_CTL_ADD, s.fd, &ev) != 0) {
        *err = std::string("epoll_ctl: ") + std::strerror(errno);
        added = false;
      }
    }
    if (!added)
      for (int i = 0; i < 4; ++i)
        if (r->sockets()[i].fd >= 0) epoll_ctl(w->epfd(), EPOLL_CTL_DEL, r->sockets()[i].fd, nullptr);
  });
  if (!added) {
    r->GiveBack();
    return nullptr;
  }
  ++w->relays;
  relays_.insert(r);
  return relay.release();
}

void Plane::Stop(Relay* r) {
  if (r == nullptr || relays_.erase(r) == 0) return;
  Worker* w = r->worker;
  w->Call([&] {
    for (int i = 0; i < 4; ++i)
      if (r->sockets()[i].fd >= 0) epoll_ctl(w->epfd(), EPOLL_CTL_DEL, r->sockets()[i].fd, nullptr);
    w->Forget(r);
  });
  --w->relays;
  r->GiveBack();
  delete r;
}

void Plane::RunOn(Relay* r, const std::function<void()>& fn) {
  if (r == nullptr || relays_.count(r) == 0) return;
  r->worker->Call(fn);
}

void Plane::Close() {
  while (!relays_.empty()) Stop(*relays_.begin());
  workers_.clear();
}

}  // namespace rms::fwd
