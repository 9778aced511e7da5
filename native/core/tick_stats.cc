#include "tick_stats.h"

#include <pthread.h>
#include <utility>
#include <time.h>

#include <map>
#include <mutex>

namespace rms {

namespace {
// Looked up once per tick (100 Hz per ticker), never per packet.
std::mutex g_tableMutex;
// Never freed: ticker threads may still look it up while exit() runs
// static destructors (before our atexit handler stops them).
std::map<const MSTicker*, TickStats*>& Table() {
  static auto* table = new std::map<const MSTicker*, TickStats*>();
  return *table;
}
}  // namespace

TickStats::TickStats(MSTicker* ticker, std::string threadName) : ticker_(ticker), threadName_(std::move(threadName)) {
  {
    std::lock_guard<std::mutex> lock(g_tableMutex);
    Table()[ticker] = this;
  }
  ms_ticker_set_tick_func(ticker, &TickStats::WaitNextTick, ticker);
}

// Only destroyed after the ticker's thread was joined (ms_ticker_destroy).
TickStats::~TickStats() {
  std::lock_guard<std::mutex> lock(g_tableMutex);
  auto it = Table().find(ticker_);
  if (it != Table().end() && it->second == this) Table().erase(it);
}

void TickStats::Record(int64_t late, int intervalMs) {
  // runs on the ticker thread: name it once
  if (ticks_.fetch_add(1, std::memory_order_relaxed) == 0 && !threadName_.empty())
    pthread_setname_np(pthread_self(), threadName_.substr(0, 15).c_str());
  lastLateMs_.store(late, std::memory_order_relaxed);
  if (late >= intervalMs) {
    lateTicks_.fetch_add(1, std::memory_order_relaxed);
    totalLateMs_.fetch_add(static_cast<uint64_t>(late), std::memory_order_relaxed);
  }
  int64_t prev = maxLateMs_.load(std::memory_order_relaxed);
  while (late > prev && !maxLateMs_.compare_exchange_weak(prev, late)) {
  }
}

int TickStats::WaitNextTick(void* data, uint64_t virtualTimeMs) {
  auto* t = static_cast<MSTicker*>(data);
  int64_t late = 0;
  for (;;) {
    uint64_t now = t->get_cur_time_ptr(t->get_cur_time_data) - t->orig;
    int64_t ahead = static_cast<int64_t>(virtualTimeMs) - static_cast<int64_t>(now);
    if (ahead <= 0) {
      late = -ahead;
      break;
    }
    struct timespec ts = {static_cast<time_t>(ahead / 1000), static_cast<long>(ahead % 1000) * 1000000L};
    nanosleep(&ts, nullptr);
  }
  TickStats* self = nullptr;
  {
    std::lock_guard<std::mutex> lock(g_tableMutex);
    auto it = Table().find(t);
    if (it != Table().end()) self = it->second;
  }
  if (self) {
    self->Record(late, t->interval);
    self->poller_.Poll();  // before the graphs run: which sockets have data
  }
  return static_cast<int>(late);
}

TickStatsSnapshot TickStats::Snapshot() const {
  return TickStatsSnapshot{ticks_.load(), lateTicks_.load(), maxLateMs_.load(), lastLateMs_.load(),
                           totalLateMs_.load()};
}

void TickStats::Reset() {
  lateTicks_ = 0;
  maxLateMs_ = 0;
  totalLateMs_ = 0;
}

}  // namespace rms
