#include "tick_stats.h"

#include <time.h>

namespace rms {

TickStats::TickStats(MSTicker* ticker) : ticker_(ticker) {
  ms_ticker_set_tick_func(ticker, &TickStats::WaitNextTick, this);
}

int TickStats::WaitNextTick(void* data, uint64_t virtualTimeMs) {
  auto* self = static_cast<TickStats*>(data);
  MSTicker* t = self->ticker_;
  int64_t late = 0;
  for (;;) {
    uint64_t now = t->get_cur_time_ptr(t->get_cur_time_data) - t->orig;
    int64_t ahead = static_cast<int64_t>(virtualTimeMs) - static_cast<int64_t>(now);
    if (ahead <= 0) {
      late = -ahead;
      break;
    }
    struct timespec ts = {0, static_cast<long>(ahead) * 1000000L};
    nanosleep(&ts, nullptr);
  }
  self->ticks_.fetch_add(1, std::memory_order_relaxed);
  self->lastLateMs_.store(late, std::memory_order_relaxed);
  if (late >= t->interval) {
    self->lateTicks_.fetch_add(1, std::memory_order_relaxed);
    self->totalLateMs_.fetch_add(static_cast<uint64_t>(late), std::memory_order_relaxed);
  }
  int64_t prev = self->maxLateMs_.load(std::memory_order_relaxed);
  while (late > prev && !self->maxLateMs_.compare_exchange_weak(prev, late)) {
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
