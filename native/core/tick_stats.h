// Late-tick accounting for an MSTicker. ms2 keeps only the last "late" event
// (and only when a tick is more than 5 intervals late), which is not enough to
// tell a healthy ticker from one that slips a few ms every tick under load. We
// install our own wait function: it sleeps exactly as ms2's does and records
// every tick's lateness in counters that the main thread can read lock-free.
//
// ms_ticker_set_tick_func() stores the function and its data in two steps
// while the ticker thread already runs, so the thread may call either
// function with either data. We keep the data as it is (the ticker itself,
// which ms2's own wait function expects) and find our counters through a
// process-wide table keyed by ticker: any combination is then safe.
#pragma once
#include <atomic>
#include <cstdint>
#include <string>

#include "ms_includes.h"
#include "recv_gate.h"

namespace rms {

struct TickStatsSnapshot {
  uint64_t ticks;
  uint64_t lateTicks;  // ticks that started one interval or more behind time
  int64_t maxLateMs;
  int64_t lastLateMs;
  uint64_t totalLateMs;
};

class TickStats {
 public:
  // Installs the wait function on the ticker; the ticker must outlive us or be
  // destroyed first (ms_ticker_destroy joins its thread).
  // threadName: given to the ticker's thread (first 15 bytes) on its first
  // tick, so that top -H and /proc show which thread is which ticker.
  explicit TickStats(MSTicker* ticker, std::string threadName = "");
  ~TickStats();
  TickStats(const TickStats&) = delete;
  TickStats& operator=(const TickStats&) = delete;
  TickStatsSnapshot Snapshot() const;
  void Reset();
  // The ticker thread's socket poller (recv_gate.h), polled at every tick.
  const TickerPoller& poller() const { return poller_; }

 private:
  static int WaitNextTick(void* ticker, uint64_t virtualTimeMs);
  void Record(int64_t lateMs, int intervalMs);
  MSTicker* ticker_;
  const std::string threadName_;
  std::atomic<uint64_t> ticks_{0};
  std::atomic<uint64_t> lateTicks_{0};
  std::atomic<int64_t> maxLateMs_{0};
  std::atomic<int64_t> lastLateMs_{0};
  std::atomic<uint64_t> totalLateMs_{0};
  TickerPoller poller_;
};

}  // namespace rms
