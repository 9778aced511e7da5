// Native library log lines (ms2, oRTP, bctoolbox) on their way to JS. The
// log handler runs on whatever thread logs (tickers, the oRTP scheduler, the
// main thread) and must never block on or call into JS: it pushes into this
// bounded queue and the consumer (the addon's log sink, on the main thread)
// drains it. A line already waiting is not queued again, its count grows:
// a flood of one message (25 "Connection refused" a second per stream) takes
// one slot. Past the capacity, lines are dropped and counted.
//
// The queue is the only part of the log path that knows about threads; the
// bounded ticker->JS channel planned in native/core (branch native) can take
// its place behind the same Push/Drain pair.
#pragma once
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

namespace rms {

struct LogRecord {
  int level;  // BctbxLogLevel bit (BCTBX_LOG_DEBUG .. BCTBX_LOG_FATAL)
  std::string domain;
  std::string message;
  uint32_t count;  // times this line was pushed since the last drain
};

class LogQueue {
 public:
  static constexpr size_t kMaxMessage = 1024;

  explicit LogQueue(size_t capacity) : capacity_(capacity) {}

  // Thread-safe, never blocks for long. Returns true when the queue was empty
  // (the consumer needs a wake-up), false when a wake-up is already owed.
  bool Push(int level, const char* domain, const char* message);

  // Takes everything queued and the count of lines dropped since the last drain.
  std::vector<LogRecord> Drain(uint64_t* dropped);

  size_t capacity() const { return capacity_; }

 private:
  const size_t capacity_;
  std::mutex mutex_;
  std::vector<LogRecord> records_;
  std::unordered_map<std::string, size_t> index_;  // key -> position in records_
  uint64_t dropped_ = 0;
  bool owed_ = false;  // a wake-up was signalled and not yet answered by Drain
};

}  // namespace rms
